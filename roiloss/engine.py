"""Metrics and coefficients of boxes, built from the two axes of each method (SPEC §3).

A 2-D coefficient is the product of a row and a column coefficient, so every area below is a
product of two 1-D lengths and every mass a product of two 1-D masses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .axis import interval_overlap
from .methods import METHODS

PLACEMENTS = ("centered", "thirds")
METRICS = ["lost_frac", "gained_frac", "outside_weight", "iou", "shift_px", "empty_bins"]


def parse_pool(pool) -> tuple[int, int]:
    """``7``, ``"7"``, ``"7x5"`` (rows x columns) or ``(7, 5)`` -> ``(rows, columns)``."""
    if isinstance(pool, (tuple, list)):
        rows, cols = pool
    else:
        text = str(pool).lower().replace("×", "x")
        try:
            rows, cols = (int(p) for p in text.split("x")) if "x" in text else (int(text),) * 2
        except ValueError:
            raise ValueError(f"pool must be N or HxW (e.g. 7 or 14x7), got {pool!r}") from None
    if int(rows) < 1 or int(cols) < 1:
        raise ValueError(f"pool sizes must be at least 1, got {pool!r}")
    return int(rows), int(cols)


@dataclass(frozen=True)
class Geometry:
    """How boxes are pooled: stride (px per cell), pool (rows, columns), samples per bin and axis
    (0 = adaptive), and where samples sit in a bin."""

    stride: float = 16
    pool: tuple[int, int] = (7, 7)
    sampling_ratio: int = 2
    placement: str = "centered"

    def __post_init__(self):
        object.__setattr__(self, "pool", parse_pool(self.pool))
        if not (np.isfinite(self.stride) and self.stride > 0):
            raise ValueError(f"stride must be a positive number, got {self.stride!r}")
        if int(self.sampling_ratio) != self.sampling_ratio or self.sampling_ratio < 0:
            raise ValueError(f"sampling ratio must be a whole number >= 0, got {self.sampling_ratio!r}")
        object.__setattr__(self, "sampling_ratio", int(self.sampling_ratio))
        if self.placement not in PLACEMENTS:
            raise ValueError(f"sample placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")

    def describe(self, methods) -> str:
        rows, cols = self.pool
        return (f"methods {','.join(methods)} | stride {self.stride:g} | pool {rows}x{cols} | "
                f"sampling ratio {self.sampling_ratio or 'adaptive'} | placement {self.placement}")


def map_length(image_side: np.ndarray, stride: float) -> np.ndarray:
    """Feature-map cells along one side: ``ceil(side / stride)``; ``inf`` when the side is unknown."""
    side = np.asarray(image_side, dtype=float)
    return np.where(np.isnan(side), np.inf, np.ceil(side / stride))


@dataclass
class Axes:
    """The two axes of one method for a set of boxes, with the RoI in feature-area units."""

    y: object
    x: object
    roi_y: tuple[np.ndarray, np.ndarray]
    roi_x: tuple[np.ndarray, np.ndarray]
    stride: float


def axes(method: str, x1, y1, x2, y2, image_w, image_h, geometry: Geometry) -> Axes:
    """Run one method's per-axis function on both axes of every box."""
    fn = METHODS[method].axis
    s = geometry.stride
    rows, cols = geometry.pool
    common = dict(stride=s, sampling_ratio=geometry.sampling_ratio, placement=geometry.placement)
    ax_y = fn(np.asarray(y1, float), np.asarray(y2, float), bins=rows, length=map_length(image_h, s), **common)
    ax_x = fn(np.asarray(x1, float), np.asarray(x2, float), bins=cols, length=map_length(image_w, s), **common)
    return Axes(y=ax_y, x=ax_x, roi_y=(np.asarray(y1) / s, np.asarray(y2) / s),
                roi_x=(np.asarray(x1) / s, np.asarray(x2) / s), stride=s)


def measure(ax: Axes) -> dict[str, np.ndarray]:
    """SPEC §3 metrics of every box from its two axes."""
    sy, sx = ax.y.stats(*ax.roi_y), ax.x.stats(*ax.roi_x)
    (ry0, ry1), (rx0, rx1) = ax.roi_y, ax.roi_x
    area = (ry1 - ry0) * (rx1 - rx0)
    covered = sy.support_overlap * sx.support_overlap
    support = sy.support_len * sx.support_len
    mass = sy.mass * sx.mass
    with np.errstate(invalid="ignore", divide="ignore"):
        outside = np.where(mass > 0, 1.0 - (sy.inside_mass * sx.inside_mass) / np.where(mass > 0, mass, 1), np.nan)

    (ey0, ey1), (ex0, ex1) = ax.y.sampled, ax.x.sampled
    e_len_y, e_len_x = np.maximum(ey1 - ey0, 0), np.maximum(ex1 - ex0, 0)
    e_inter = interval_overlap(ey0, ey1, ry0, ry1) * interval_overlap(ex0, ex1, rx0, rx1)
    union = area + e_len_y * e_len_x - e_inter
    shift = np.max(np.abs([ey0 - ry0, ey1 - ry1, ex0 - rx0, ex1 - rx1]), axis=0) * ax.stride

    rows, cols = ax.y.bins, ax.x.bins
    return {
        "lost_frac": _zero_noise(np.clip(1.0 - covered / area, 0.0, 1.0)),
        "gained_frac": _zero_noise(np.maximum((support - covered) / area, 0.0)),
        "outside_weight": np.clip(outside, 0.0, 1.0),
        "iou": np.clip(e_inter / union, 0.0, 1.0),
        "shift_px": shift,
        "empty_bins": rows * cols - (rows - sy.empty_bins) * (cols - sx.empty_bins),
    }


def _zero_noise(values: np.ndarray) -> np.ndarray:
    """A difference of equal areas computed two ways is 0, not 1e-16: the "lost anything" share counts it."""
    return np.where(values < 1e-12, 0.0, values)


def pair_by_box(box_y: np.ndarray, box_x: np.ndarray, n_boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` with ``box_y[i] == box_x[j]``; both inputs sorted by box."""
    per_box_x = np.bincount(box_x, minlength=n_boxes)
    first_x = np.cumsum(per_box_x) - per_box_x
    repeat = per_box_x[box_y]
    yi = np.repeat(np.arange(len(box_y)), repeat)
    within = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    return yi, first_x[box_y[yi]] + within


def cross_entries(ey, ex, n_boxes: int) -> dict[str, np.ndarray]:
    """2-D coefficients: every row entry times every column entry of the same box."""
    yi, xi = pair_by_box(ey.box, ex.box, n_boxes)
    out = {
        "box": ey.box[yi],
        "bin_y": ey.bin[yi], "bin_x": ex.bin[xi],
        "cell_y": ey.cell[yi], "cell_x": ex.cell[xi],
        "weight": ey.weight[yi] * ex.weight[xi],
    }
    order = np.lexsort((out["cell_x"], out["cell_y"], out["bin_x"], out["bin_y"], out["box"]))
    return {k: v[order] for k, v in out.items()}


def flag_names(table: pd.DataFrame, stride: float) -> np.ndarray:
    """The ``flags`` column for every box (SPEC §3)."""
    x1, y1, x2, y2 = (table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2"))
    w, h = table["image_width"].to_numpy(dtype=float), table["image_height"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        sub_cell = ((x2 - x1) < stride) | ((y2 - y1) < stride)
        known = ~np.isnan(w) & ~np.isnan(h)
        outside = known & ((x1 < 0) | (y1 < 0) | (x2 > w) | (y2 > h))
    code = sub_cell * 1 + outside * 2 + (~known) * 4
    names = np.array([";".join(n for bit, n in ((1, "sub-cell"), (2, "outside-image"), (4, "no-image-size")) if c & bit)
                      for c in range(8)], dtype=object)
    flags = names[code]
    invalid = table["invalid"].to_numpy(dtype=object)
    return np.where(invalid != "", "invalid:" + invalid.astype(str), flags)
