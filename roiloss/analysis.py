"""The analysis of canonical box tables under resolved :class:`~roiloss.semantics.Semantics`.

For each box: into the model's frame (its input transform), onto its pyramid level, through each
method's two axes, into metrics. Everything is vectorised over boxes; chunks of boxes run on
threads (numpy releases the GIL in its loops).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .boxes import IDENTITY
from .geometry import Geometry, map_length
from .methods import METHODS, axes
from .metrics import METRICS, flags, measure
from .semantics import Semantics

CHUNK = 16384  # boxes per engine pass: bounds memory, keeps arrays cache-friendly
THREADS = min(os.cpu_count() or 1, 4)
NO_SIZE_FOR_RESIZE = "image size unknown (the model's resize needs it)"


@dataclass
class ModelBoxes:
    """Boxes of a canonical table in the model's frame at one input scale, with their level.

    ``stride`` is NaN and ``level`` -1 for boxes that cannot be measured (``invalid`` says why).
    """

    short_side: float | None
    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    width: np.ndarray
    height: np.ndarray
    padded_width: np.ndarray
    padded_height: np.ndarray
    scale_x: np.ndarray
    scale_y: np.ndarray
    level: np.ndarray | None
    stride: np.ndarray
    invalid: np.ndarray

    def valid(self) -> np.ndarray:
        return np.flatnonzero(self.invalid == "")


def model_boxes(table: pd.DataFrame, semantics: Semantics, short_side=None) -> ModelBoxes:
    """Place every box of ``table`` in the model's frame and on its pyramid level."""
    coords = [table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2")]
    image_w, image_h = table["image_width"].to_numpy(dtype=float), table["image_height"].to_numpy(dtype=float)
    invalid = table["invalid"].to_numpy(dtype=object).copy()
    arithmetic = semantics.geometry.arithmetic
    resize = semantics.resize
    if resize.active:
        frame = resize.frame(*coords, image_w, image_h, short=short_side, arithmetic=arithmetic)
        unknown = np.isnan(image_w) | np.isnan(image_h)
        invalid = np.where((invalid == "") & unknown, NO_SIZE_FOR_RESIZE, invalid)
        x1, y1, x2, y2 = frame.x1, frame.y1, frame.x2, frame.y2
        width, height, padded_w, padded_h = frame.width, frame.height, frame.padded_width, frame.padded_height
        scale_x, scale_y = frame.scale_x, frame.scale_y
    else:
        x1, y1, x2, y2 = coords
        width = padded_w = image_w
        height = padded_h = image_h
        scale_x = scale_y = np.ones(len(table))
    ok = invalid == ""
    level = None
    if semantics.pyramid is not None:
        with np.errstate(invalid="ignore"):
            level = semantics.pyramid.assign(x1, y1, x2, y2, arithmetic, padded_w, padded_h)
        level = np.where(ok, level, -1)
        stride = np.where(level >= 0, 2.0 ** level, np.nan)
    else:
        stride = np.where(ok, semantics.geometry.stride, np.nan)
    return ModelBoxes(short_side, x1, y1, x2, y2, width, height, padded_w, padded_h, scale_x, scale_y, level,
                      stride, invalid)


def metric_arrays(boxes: ModelBoxes, geometry: Geometry, methods: list[str]) -> dict[str, np.ndarray]:
    """Every metric as a ``(boxes, methods)`` array (NaN for boxes that cannot be measured)."""
    n, m = len(boxes.x1), len(methods)
    values = {name: np.full((n, m), np.nan) for name in METRICS}
    groups = [np.flatnonzero(boxes.stride == s) for s in np.unique(boxes.stride[np.isfinite(boxes.stride)])]

    def run(task):
        stride, rows = task
        g = geometry.at_stride(stride)
        map_w, map_h = map_length(boxes.padded_width[rows], stride), map_length(boxes.padded_height[rows], stride)
        coords = [c[rows] for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2)]
        px_x, px_y = stride / boxes.scale_x[rows], stride / boxes.scale_y[rows]
        for j, method in enumerate(methods):
            for name, column in measure(axes(method, *coords, map_w, map_h, g), px_x, px_y).items():
                values[name][rows, j] = column

    tasks = [(float(boxes.stride[rows[0]]), rows[start:start + CHUNK]) for rows in groups
             for start in range(0, len(rows), CHUNK)]
    if len(tasks) > 1 and THREADS > 1:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(run, tasks))
    else:
        for task in tasks:
            run(task)
    return values


def analyze_table(table: pd.DataFrame, semantics: Semantics) -> pd.DataFrame:
    """One row per box x input scale x method (box-major) for a canonical table."""
    methods = list(semantics.methods)
    scales = semantics.resize.scales if semantics.resize.active else (None,)
    parts = [_rows_at_scale(table, semantics, methods, short) for short in scales]
    if len(parts) == 1:
        return parts[0]
    n, k, m = len(table), len(parts), len(methods)
    # part k holds rows k*n*m + i*m + j; interleave them as box i, scale k, method j
    order = (np.arange(k)[None, :, None] * (n * m) + np.arange(n)[:, None, None] * m
             + np.arange(m)[None, None, :]).ravel()
    return pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)


def _rows_at_scale(table: pd.DataFrame, semantics: Semantics, methods: list[str], short) -> pd.DataFrame:
    boxes = model_boxes(table, semantics, short)
    values = metric_arrays(boxes, semantics.geometry, methods)
    n, m = len(table), len(methods)
    out = {c: np.repeat(table[c].to_numpy(), m) for c in IDENTITY}
    if semantics.resize.active:
        if short is not None:
            out["short_side"] = np.full(n * m, float(short))
        for name, column in (("model_width", boxes.width), ("model_height", boxes.height),
                             ("scale_x", boxes.scale_x), ("scale_y", boxes.scale_y)):
            out[name] = np.repeat(column, m)
    if boxes.level is not None:
        out["level"] = pd.array(np.repeat(np.where(boxes.level >= 0, boxes.level, 0), m), dtype="Int64")
        out["level"][np.repeat(boxes.level < 0, m)] = pd.NA
    out["stride"] = np.repeat(boxes.stride, m)
    if semantics.preset:
        out["preset"] = pd.Categorical.from_codes(np.zeros(n * m, dtype=np.int8), categories=[semantics.preset])
    # repeated labels as categoricals: codes, not millions of Python strings
    out["method"] = pd.Categorical.from_codes(np.tile(np.arange(m), n), categories=methods)
    rows, cols = semantics.geometry.pool
    out["pool"] = pd.Categorical.from_codes(np.zeros(n * m, dtype=np.int8), categories=[f"{rows}x{cols}"])
    samples = np.array([semantics.geometry.sampling_ratio if METHODS[name].sampled else -1 for name in methods])
    out["sampling_ratio"] = pd.array(np.tile(samples, n), dtype="Int64")
    out["sampling_ratio"][np.tile(samples < 0, n)] = pd.NA
    if semantics.pyramid is not None:
        out["mapper"] = pd.Categorical.from_codes(np.zeros(n * m, dtype=np.int8), categories=[semantics.pyramid.mapper])
    for name in METRICS:
        out[name] = values[name].ravel()
    out["empty_bins"] = pd.array(out["empty_bins"], dtype="Int64")
    if "iscrowd" in table.columns:
        out["iscrowd"] = np.repeat(table["iscrowd"].to_numpy(), m)
    out["flags"] = _flag_column(table, boxes, m)
    return pd.DataFrame(out)


def _flag_column(table: pd.DataFrame, boxes: ModelBoxes, m: int) -> pd.Categorical:
    with np.errstate(invalid="ignore"):
        sub_cell = ((boxes.x2 - boxes.x1) < boxes.stride) | ((boxes.y2 - boxes.y1) < boxes.stride)
    coords = [table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    names = pd.Categorical(flags(*coords, boxes.invalid, sub_cell))
    return pd.Categorical.from_codes(np.repeat(names.codes, m), categories=names.categories)
