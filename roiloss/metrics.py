"""Per-box metrics and flags from the two axes of a method (docs/semantics.md §3).

A 2-D coefficient is the product of a row and a column coefficient, so every area below is a
product of two 1-D lengths and every mass a product of two 1-D masses.
"""

from __future__ import annotations

import numpy as np

from .axis_stats import interval_overlap
from .methods import Axes

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
    sy, sx = ax.y.stats(*ax.roi_y), ax.x.stats(*ax.roi_x)
    (ry0, ry1), (rx0, rx1) = ax.roi_y, ax.roi_x
    area = (ry1 - ry0) * (rx1 - rx0)
    covered = sy.support_overlap * sx.support_overlap
    support = sy.support_len * sx.support_len
    mass = sy.mass * sx.mass
    with np.errstate(invalid="ignore", divide="ignore"):
        outside = 1.0 - (sy.inside_mass * sx.inside_mass) / mass
    outside[~(mass > 0)] = np.nan  # nothing read: no weight to split

    (ey0, ey1), (ex0, ex1) = ax.y.sampled, ax.x.sampled
    e_len_y, e_len_x = np.clip(ey1 - ey0, 0.0, None), np.clip(ex1 - ex0, 0.0, None)
    e_inter = interval_overlap(ey0, ey1, ry0, ry1) * interval_overlap(ex0, ex1, rx0, rx1)
    union = area + e_len_y * e_len_x - e_inter
    unit_x = ax.stride if px_per_unit_x is None else px_per_unit_x
    unit_y = ax.stride if px_per_unit_y is None else px_per_unit_y
    shift = np.maximum(np.maximum(np.abs(ey0 - ry0), np.abs(ey1 - ry1)) * unit_y,
                       np.maximum(np.abs(ex0 - rx0), np.abs(ex1 - rx1)) * unit_x)
    shift[shift < SHIFT_FLOOR_PX] = 0.0

    rows, cols = ax.y.bins, ax.x.bins
    return {
        "lost_frac": _zero_noise(np.clip(1.0 - covered / area, 0.0, 1.0)),
        "gained_frac": _zero_noise(np.clip((support - covered) / area, 0.0, None)),
        "outside_weight": np.clip(outside, 0.0, 1.0),
        "iou": np.clip(e_inter / union, 0.0, 1.0),
        "shift_px": shift,
        "empty_bins": rows * cols - (rows - sy.empty_bins) * (cols - sx.empty_bins),
    }


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
