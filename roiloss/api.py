"""The Python API: everything the command line does is one of these calls first."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from . import boxes as _boxes
from .engine import METRICS, Geometry, axes, cross_entries, flag_names, measure
from .grid import grid_table
from .methods import resolve_methods

CHUNK = 16384  # boxes per engine pass: bounds memory, keeps arrays cache-friendly
THREADS = min(os.cpu_count() or 1, 4)


def analyze(boxes, stride: float = 16, pool=7, methods=None, sampling_ratio: int = 2,
            sample_placement: str = "centered", image_size=None, pyramid=None) -> pd.DataFrame:
    """Lost and gained area, outside weight, IoU and shift of every box under every method.

    ``boxes``: a DataFrame (columns found by name, SPEC §6), an ``(N, 4)`` array or a list of
    ``(x1, y1, x2, y2)`` in image pixels. ``pool``: ``N``, ``"HxW"`` or ``(rows, cols)``.
    ``methods``: names, a comma-separated string or ``"all"`` (default roipool, roiwarp, roialign).
    ``sampling_ratio``: samples per bin and axis, 0 = adaptive. ``image_size``: ``(W, H)`` for boxes
    whose input has none; unknown sizes leave the map unbounded on its high side. ``pyramid``: a
    :class:`roiloss.pyramid.Pyramid` to pool each box from its FPN level (``stride`` is then unused
    and a ``level`` column is added).

    Returns one row per box x method (box-major), SPEC §6 columns. Invalid boxes keep their rows
    with empty metrics and ``flags = invalid:<reason>``.
    """
    geometry = Geometry(stride=stride, pool=pool, sampling_ratio=sampling_ratio, placement=sample_placement)
    names = resolve_methods(methods)
    table = _boxes.normalise(boxes, image_size=image_size)
    if pyramid is not None:
        return analyze_pyramid(table, geometry, names, pyramid)
    return analyze_table(table, geometry, names)


def metric_arrays(table: pd.DataFrame, geometry: Geometry, methods: list[str]) -> dict[str, np.ndarray]:
    """The engine alone: every metric as a ``(boxes, methods)`` array (NaN for invalid boxes)."""
    n, m = len(table), len(methods)
    values = {name: np.full((n, m), np.nan) for name in METRICS}
    ok = np.flatnonzero(table["invalid"].to_numpy(dtype=object) == "")
    coords = [table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    every = len(ok) == n  # no invalid box: plain slices instead of gathers

    def run(start):
        rows = slice(start, start + CHUNK) if every else ok[start:start + CHUNK]
        chunk = [c[rows] for c in coords]
        for j, method in enumerate(methods):
            for name, column in measure(axes(method, *chunk, geometry)).items():
                values[name][rows, j] = column

    # numpy releases the GIL in its array loops: chunks on separate threads use every core
    starts = range(0, len(ok), CHUNK)
    if len(starts) > 1 and THREADS > 1:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    return values


def analyze_table(table: pd.DataFrame, geometry: Geometry, methods: list[str]) -> pd.DataFrame:
    """:func:`analyze` on an already normalised box table."""
    n, m = len(table), len(methods)
    values = metric_arrays(table, geometry, methods)
    out = {c: np.repeat(table[c].to_numpy(), m) for c in _boxes.IDENTITY}
    out["stride"] = np.full(n * m, geometry.stride)
    # repeated labels as categoricals: codes, not millions of Python strings
    out["method"] = pd.Categorical.from_codes(np.tile(np.arange(m), n), categories=methods)
    out["pool"] = pd.Categorical.from_codes(np.zeros(n * m, dtype=np.int8), categories=["{}x{}".format(*geometry.pool)])
    samples = np.array([geometry.sampling_ratio if name.startswith("roialign") else -1 for name in methods])
    out["sampling_ratio"] = pd.array(np.tile(samples, n), dtype="Int64")
    out["sampling_ratio"][np.tile(samples < 0, n)] = pd.NA
    for name in METRICS:
        out[name] = values[name].ravel()
    out["empty_bins"] = pd.array(out["empty_bins"], dtype="Int64")
    flags = pd.Categorical(flag_names(table, geometry.stride))
    out["flags"] = pd.Categorical.from_codes(np.repeat(flags.codes, m), categories=flags.categories)
    frame = pd.DataFrame(out)
    if "iscrowd" in table.columns:
        frame.insert(frame.columns.get_loc("flags"), "iscrowd", np.repeat(table["iscrowd"].to_numpy(), m))
    return frame


def analyze_pyramid(table: pd.DataFrame, geometry: Geometry, methods: list[str], pyramid) -> pd.DataFrame:
    """:func:`analyze_table` with each box at the stride of its pyramid level (``level`` column added;
    invalid boxes get no level and no stride)."""
    x1, y1, x2, y2 = (table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2"))
    with np.errstate(invalid="ignore"):
        side = np.sqrt((x2 - x1) * (y2 - y1))
    invalid = table["invalid"].to_numpy(dtype=object) != ""
    level = np.where(invalid, -1, pyramid.assign(side))
    m = len(methods)
    frames = []
    for k in np.unique(level):
        rows = np.flatnonzero(level == k)
        g = Geometry(2.0 ** k, geometry.pool, geometry.sampling_ratio, geometry.placement) if k >= 0 else geometry
        frame = analyze_table(table.iloc[rows].reset_index(drop=True), g, methods)
        frame.insert(frame.columns.get_loc("stride"), "level", pd.array(np.full(len(frame), k if k >= 0 else None), dtype="Int64"))
        if k < 0:
            frame["stride"] = np.nan
        frame["_position"] = np.repeat(rows, m) * m + np.tile(np.arange(m), len(rows))
        frames.append(frame)
    if not frames:
        empty = analyze_table(table, geometry, methods)
        empty.insert(empty.columns.get_loc("stride"), "level", pd.array([], dtype="Int64"))
        return empty
    out = pd.concat(frames, ignore_index=True).sort_values("_position", kind="stable")
    return out.drop(columns="_position").reset_index(drop=True)


def coefficients(boxes, method: str = "roialign", stride: float = 16, pool=7, sampling_ratio: int = 2,
                 sample_placement: str = "centered", image_size=None) -> pd.DataFrame:
    """The per-bin cell coefficients of every valid box (SPEC §4 ``cells``), long format.

    Columns ``roi_id, method, bin_y, bin_x, cell_y, cell_x, weight``; only non-zero weights. For
    ``roialign*`` the weight equals the average-mode output of the frameworks on a one-hot feature
    map; for the pool methods it is ``1 / (cells in the window)``.
    """
    geometry = Geometry(stride=stride, pool=pool, sampling_ratio=sampling_ratio, placement=sample_placement)
    (method,) = resolve_methods([method])
    table = _boxes.normalise(boxes, image_size=image_size)
    return coefficients_table(table, geometry, method)


def coefficients_table(table: pd.DataFrame, geometry: Geometry, method: str) -> pd.DataFrame:
    ok = np.flatnonzero(table["invalid"].to_numpy(dtype=object) == "")
    coords = [table[c].to_numpy(dtype=float)[ok] for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    ax = axes(method, *coords, geometry)
    cells = cross_entries(ax.y.entries(), ax.x.entries(), len(ok))
    frame = pd.DataFrame({"roi_id": table["roi_id"].to_numpy()[ok][cells.pop("box")], "method": method})
    for name, column in cells.items():
        frame[name] = column
    return frame


def grid(boxes, methods="roialign", level: str = "cells", stride: float = 16, pool=7, sampling_ratio: int = 2,
         sample_placement: str = "centered", image_size=None) -> pd.DataFrame:
    """The sampling grid of every valid box (SPEC §4), long format, feature-area units.

    ``level``: ``bins`` (each bin's rectangle ``[y0, y1) x [x0, x1)``, its samples and how many are
    valid), ``samples`` (each sample point ``(y, x)``, valid or not, with one row per neighbouring cell
    it reads and that cell's bilinear weight; RoI Pool reads every window cell at its centre) or
    ``cells`` (each cell's coefficient in each bin, as :func:`coefficients`).
    """
    geometry = Geometry(stride=stride, pool=pool, sampling_ratio=sampling_ratio, placement=sample_placement)
    table = _boxes.normalise(boxes, image_size=image_size)
    return grid_table(table, geometry, resolve_methods(methods), level)
