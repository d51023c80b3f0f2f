"""The sampling grid (SPEC §4): bins, sample points and cell coefficients, in long format.

All coordinates are feature-area units (cell ``j`` spans ``[j, j + 1)``, centre ``j + 0.5``).
Every 2-D row is the pairing of a row-axis row with a column-axis row of the same box and bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import Geometry, axes, cross_entries, pair_by_box

LEVELS = ("bins", "samples", "cells")


def grid_table(table: pd.DataFrame, geometry: Geometry, methods: list[str], level: str) -> pd.DataFrame:
    """The grid of every valid box of a canonical table, for each method, at one level."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    ok = np.flatnonzero(table["invalid"].to_numpy(dtype=object) == "")
    coords = [table[c].to_numpy(dtype=float)[ok] for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    ids = table["roi_id"].to_numpy()[ok]
    frames = []
    for method in methods:
        ax = axes(method, *coords, geometry)
        columns = {"bins": _bins, "samples": _samples, "cells": _cells}[level](ax, len(ok))
        box = columns.pop("box")
        frame = pd.DataFrame({"roi_id": ids[box], "method": method, **columns})
        frame["_order"] = box
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["_method"] = out["method"].map({m: i for i, m in enumerate(methods)})
    out = out.sort_values(["_order", "_method"], kind="stable").drop(columns=["_order", "_method"])
    return out.reset_index(drop=True)


def _bins(ax, n_boxes):
    y, x = ax.y.bin_rows(), ax.x.bin_rows()
    yi, xi = pair_by_box(y["box"], x["box"], n_boxes)
    valid = y["valid"][yi] * x["valid"][xi]
    return {
        "box": y["box"][yi], "bin_y": y["bin"][yi], "bin_x": x["bin"][xi],
        "y0": y["lo"][yi], "x0": x["lo"][xi], "y1": y["hi"][yi], "x1": x["hi"][xi],
        "height": y["hi"][yi] - y["lo"][yi], "width": x["hi"][xi] - x["lo"][xi],
        "samples": y["samples"][yi] * x["samples"][xi], "valid_samples": valid, "empty": valid == 0,
    }


def _samples(ax, n_boxes):
    y, x = ax.y.sample_rows(), ax.x.sample_rows()
    yi, xi = pair_by_box(y["box"], x["box"], n_boxes)
    out = {
        "box": y["box"][yi], "bin_y": y["bin"][yi], "bin_x": x["bin"][xi],
        "sample_y": y["k"][yi], "sample_x": x["k"][xi], "y": y["pos"][yi], "x": x["pos"][xi],
        "valid": y["valid"][yi] & x["valid"][xi],
        "cell_y": y["cell"][yi], "cell_x": x["cell"][xi], "weight": y["weight"][yi] * x["weight"][xi],
    }
    invalid = ~out["valid"]
    out["cell_y"] = np.where(invalid, np.nan, out["cell_y"])
    out["cell_x"] = np.where(invalid, np.nan, out["cell_x"])
    out["weight"] = np.where(invalid, 0.0, out["weight"])
    # an invalid 2-D sample reads nothing: keep one row for it, not one per neighbour
    key = np.stack([out["box"], out["bin_y"], out["bin_x"], out["sample_y"], out["sample_x"]])
    keep = np.ones(len(yi), dtype=bool)
    if len(yi):
        order = np.lexsort((out["cell_x"], out["cell_y"], *key[::-1]))
        out = {k: v[order] for k, v in out.items()}
        key = key[:, order]
        same = np.all(key[:, 1:] == key[:, :-1], axis=0)
        keep[1:] = ~(same & ~out["valid"][1:])
    return {k: v[keep] for k, v in out.items()}


def _cells(ax, n_boxes):
    return cross_entries(ax.y.entries(), ax.x.entries(), n_boxes)
