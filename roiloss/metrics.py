"""Per-box metrics and flags from the two axes of a method (docs/semantics.md §3).

A 2-D coefficient is the product of a row and a column coefficient, so every area below is a
product of two 1-D lengths and every mass a product of two 1-D masses.
"""

from __future__ import annotations

import numpy as np

from .axis_stats import AxisStats, interval_overlap
from .geometry import Geometry
from .methods import METHODS, Axes, axes

METRICS = ["lost_frac", "gained_frac", "outside_weight", "iou", "shift_px", "empty_bins"]
# float32 can place the first sample of an exactly aligned box 1e-5 px away from the exact RoI:
# representation noise of the box itself, not a misalignment (docs/semantics.md D29)
SHIFT_FLOOR_PX = 1e-4
FLAG_BITS = ((1, "sub-cell"), (2, "outside-image"), (4, "no-image-size"))


def measure(ax: Axes, px_per_unit_x=None, px_per_unit_y=None) -> dict[str, np.ndarray]:
    """The metrics of every box from its two axes.

    ``px_per_unit_x``/``px_per_unit_y``: input-image pixels per feature unit on each axis (the
    stride divided by the model's resize scale); ``shift_px`` is in those pixels. Default: the stride.
    """
    unit_x = ax.stride if px_per_unit_x is None else px_per_unit_x
    unit_y = ax.stride if px_per_unit_y is None else px_per_unit_y
    return _metrics(ax.y.stats(*ax.roi_y), ax.x.stats(*ax.roi_x), ax.y.sampled, ax.x.sampled, ax.roi_y, ax.roi_x,
                    ax.y.bins, ax.x.bins, unit_y, unit_x)


def measure_methods(methods: list[str], x1, y1, x2, y2, map_w, map_h, geometry: Geometry, px_per_unit_x,
                    px_per_unit_y) -> list[dict[str, np.ndarray]]:
    """Every metric of every box for each method: item ``j`` is
    ``measure(axes(methods[j], ...), px_per_unit_x, px_per_unit_y)``.

    The same values from fewer numpy calls (the engine runs on several threads, and each call is a
    turn at the GIL): with a square pool one call of a method's per-axis function takes the y
    edges and the x edges as one set of ``2 n`` rows.
    """
    rows, cols = geometry.pool
    n, s = len(x1), geometry.stride
    if rows != cols:
        return [measure(axes(method, x1, y1, x2, y2, map_w, map_h, geometry), px_per_unit_x, px_per_unit_y)
                for method in methods]
    x1, y1, x2, y2 = (np.asarray(v, dtype=float) for v in (x1, y1, x2, y2))
    roi_y, roi_x = (y1 / s, y2 / s), (x1 / s, x2 / s)
    lo, hi = np.concatenate([y1, x1]), np.concatenate([y2, x2])
    length = np.concatenate([np.broadcast_to(map_h, n), np.broadcast_to(map_w, n)]).astype(float, copy=False)
    r0, r1 = np.concatenate([roi_y[0], roi_x[0]]), np.concatenate([roi_y[1], roi_x[1]])
    measured = []
    for method in methods:
        both = METHODS[method].axis(lo, hi, rows, length, geometry)
        e0, e1 = both.sampled
        sy, sx = both.stats(r0, r1).split(n)
        measured.append(_metrics(sy, sx, (e0[:n], e1[:n]), (e0[n:], e1[n:]), roi_y, roi_x, rows, cols,
                                 px_per_unit_y, px_per_unit_x))
    return measured


def _metrics(sy: AxisStats, sx: AxisStats, sampled_y, sampled_x, roi_y, roi_x, rows: int, cols: int, unit_y,
             unit_x) -> dict[str, np.ndarray]:
    """The metrics from the statistics and sampled intervals of the two axes, per box. Each metric
    is built in place in one fresh array (fewer temporaries: fewer numpy calls, less memory traffic)."""
    (ry0, ry1), (rx0, rx1) = roi_y, roi_x
    area = (ry1 - ry0) * (rx1 - rx0)
    covered = sy.support_overlap * sx.support_overlap
    mass = sy.mass * sx.mass
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = np.divide(covered, area)
        np.subtract(1.0, lost, out=lost)  # 1 - covered / area
        gained = np.multiply(sy.support_len, sx.support_len, dtype=np.float64)  # (whole numbers may be int)
        gained -= covered
        gained /= area  # (support - covered) / area
        outside = np.multiply(sy.inside_mass, sx.inside_mass, dtype=np.float64)
        outside /= mass
        np.subtract(1.0, outside, out=outside)  # 1 - inside / mass
    outside[~(mass > 0)] = np.nan  # nothing read: no weight to split

    (ey0, ey1), (ex0, ex1) = sampled_y, sampled_x
    inter = interval_overlap(ey0, ey1, ry0, ry1)
    inter *= interval_overlap(ex0, ex1, rx0, rx1)
    union = np.subtract(ey1, ey0)
    np.clip(union, 0.0, None, out=union)
    union *= np.clip(ex1 - ex0, 0.0, None)
    np.add(area, union, out=union)
    union -= inter  # area + sampled area - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        inter /= union
    shift = _largest_gap(ey0, ey1, ry0, ry1)
    shift *= unit_y
    np.maximum(shift, _largest_gap(ex0, ex1, rx0, rx1) * unit_x, out=shift)
    shift[shift < SHIFT_FLOOR_PX] = 0.0

    return {
        "lost_frac": _zero_noise(np.clip(lost, 0.0, 1.0, out=lost)),
        "gained_frac": _zero_noise(np.clip(gained, 0.0, None, out=gained)),
        "outside_weight": np.clip(outside, 0.0, 1.0, out=outside),
        "iou": np.clip(inter, 0.0, 1.0, out=inter),
        "shift_px": shift,
        "empty_bins": rows * cols - (rows - sy.empty_bins) * (cols - sx.empty_bins),
    }


def _largest_gap(e0, e1, r0, r1) -> np.ndarray:
    """``max(|e0 - r0|, |e1 - r1|)`` in a fresh array."""
    gap = np.subtract(e0, r0)
    np.abs(gap, out=gap)
    other = np.subtract(e1, r1)
    np.abs(other, out=other)
    return np.maximum(gap, other, out=gap)


def _zero_noise(values: np.ndarray) -> np.ndarray:
    """A difference of equal areas computed two ways is 0, not 1e-16: the "lost anything" share
    counts it. Sets ``values`` in place (a fresh array) and returns it."""
    values[values < 1e-12] = 0.0
    return values


def flag_codes(x1, y1, x2, y2, image_w, image_h, invalid, sub_cell) -> tuple[np.ndarray, np.ndarray]:
    """The ``flags`` column as codes and names: ``names[codes]`` is ``sub-cell``, ``outside-image``,
    ``no-image-size`` joined by ``;`` (codes 0-7), or ``invalid:<reason>`` (codes 8 and up).

    Boxes and image sizes in input pixels; ``sub_cell`` per box, decided in the frame the model
    pools (box side below one stride)."""
    with np.errstate(invalid="ignore"):
        known = ~np.isnan(image_w) & ~np.isnan(image_h)
        outside = known & ((x1 < 0) | (y1 < 0) | (x2 > image_w) | (y2 > image_h))
    code = (sub_cell * 1 + outside * 2 + (~known) * 4).astype(np.int16)
    names = [";".join(n for bit, n in FLAG_BITS if c & bit) for c in range(8)]
    invalid = np.asarray(invalid, dtype=object)
    bad = invalid != ""
    if bad.any():
        reasons, index = np.unique(invalid[bad].astype(str), return_inverse=True)
        code[bad] = 8 + index
        names += ["invalid:" + r for r in reasons]
    return code, np.array(names, dtype=object)


def flags(x1, y1, x2, y2, image_w, image_h, invalid, sub_cell) -> np.ndarray:
    """The ``flags`` column as strings (see :func:`flag_codes`)."""
    code, names = flag_codes(x1, y1, x2, y2, image_w, image_h, invalid, sub_cell)
    return names[code]
