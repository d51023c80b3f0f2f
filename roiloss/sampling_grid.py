"""The sampling grid (docs/semantics.md §4): bins, sample points and cell coefficients, in long format.

All coordinates are feature-area units (cell ``j`` spans ``[j, j + 1)``, centre ``j + 0.5``).
Every 2-D row is the pairing of a row-axis row with a column-axis row of the same box and bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .analysis import model_boxes
from .geometry import map_length
from .methods import axes
from .semantics import Semantics

from .choices import DETAILS


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


def grid_table(table: pd.DataFrame, semantics: Semantics, detail: str) -> pd.DataFrame:
    """The grid of every valid box of a canonical table, for each method, at one level of detail.

    Each box is on its own pyramid level (and, with a multi-scale resize, at each input scale);
    coordinates are feature-area units of that level's map in the model's frame.
    """
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    ids = table["roi_id"].to_numpy()
    frames = []
    scales = semantics.resize.scales if semantics.resize.active else (None,)
    for k, short in enumerate(scales):
        boxes = model_boxes(table, semantics, short)
        for stride in np.unique(boxes.stride[np.isfinite(boxes.stride)]):
            rows = np.flatnonzero(boxes.stride == stride)
            geometry = semantics.geometry.at_stride(float(stride))
            coords = [c[rows] for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2)]
            maps = [map_length(side[rows], stride) for side in (boxes.padded_width, boxes.padded_height)]
            for j, method in enumerate(semantics.methods):
                columns = {"bins": _bins, "samples": _samples, "cells": _cells}[detail](
                    axes(method, *coords, *maps, geometry), len(rows))
                box = rows[columns.pop("box")]
                head = {"roi_id": ids[box]}
                if short is not None:
                    head["short_side"] = float(short)
                if boxes.level is not None:
                    head["level"] = boxes.level[box]
                head["stride"] = float(stride)
                frame = pd.DataFrame({**head, "method": method, **columns})
                frame["_order"] = (box * len(scales) + k) * len(semantics.methods) + j
                frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["roi_id", "method"])
    out = pd.concat(frames, ignore_index=True).sort_values("_order", kind="stable").drop(columns="_order")
    out = out.reset_index(drop=True)
    if detail == "samples":
        out.insert(out.columns.get_loc("weight"), "cell_center_y", out["cell_y"] + 0.5)
        out.insert(out.columns.get_loc("weight"), "cell_center_x", out["cell_x"] + 0.5)
        out["cell_y"] = out["cell_y"].astype("Int64")
        out["cell_x"] = out["cell_x"].astype("Int64")
    return out


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
