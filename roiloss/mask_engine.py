"""The mask ceiling's arithmetic (docs/semantics.md §12): area average, operators, paste, IoU.

For an instance with ground-truth mask ``M`` and box ``B``, a method at its level's stride ``s``
and pool ``P``: ``F`` = ``M`` area-averaged onto the feature grid (in the model's frame), ``Q`` =
the method's ``P x P`` output on ``F`` for ``B`` (roiloss's own per-bin cell coefficients, or the
max over each window for RoI Pool), ``R`` = ``Q`` pasted back into the image as torchvision's
``paste_masks_in_image`` does, and ``mask_ceiling = IoU(M, R >= 0.5)``. ``target_ceiling`` is the
same round trip through the mask head's target alone (``roi_align`` at stride 1 to ``mask_size``,
as torchvision's ``project_masks_on_boxes``).

Every instance is cut out of its RLE only where its cells, its target samples and its pasted box
reach; the area averages are differences of running sums (exact for 0/1 masks), the operators small
matrix products per instance; the paste is :mod:`roiloss.mask_paste`, the API :mod:`roiloss.masks`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .analysis import model_boxes
from .axis import WindowAxis
from .geometry import Geometry, map_length
from .mask_paste import Paste, expanded_boxes  # noqa: F401  (expanded_boxes: used by tests and figures)
from .methods import METHODS, axes
from .segmentation import area, crop, decode_raw, to_counts


# --- the area average and the operators -----------------------------------------------------------

class Window:
    """A window of one instance's mask (0/1, rows from ``py0``, columns from ``px0``) with its running
    sums along x, shared by every area average of the instance (its level's grid, the target's)."""

    def __init__(self, m: np.ndarray, py0: int, px0: int):
        self.m, self.py0, self.px0 = m, py0, px0
        h, w = m.shape
        self.run_x = np.zeros((h, w + 2), dtype=np.int32)  # run_x[:, k] = pixels before column k
        np.cumsum(m, axis=1, dtype=np.int32, out=self.run_x[:, 1:w + 1])
        self.run_x[:, w + 1] = self.run_x[:, w]
        self.column_sums = np.zeros((h + 1, w), dtype=np.int32)  # pixels above each row, per column
        np.cumsum(m, axis=0, dtype=np.int32, out=self.column_sums[1:])

    def average(self, cy0: int, cy1: int, cx0: int, cx1: int, cell_h: float, cell_w: float) -> np.ndarray:
        """``F``: cells ``[cy0, cy1) x [cx0, cx1)`` of ``cell_h x cell_w`` input pixels, each the
        fraction of its area the mask covers (pixels beyond the window, i.e. beyond the image, are 0):
        running sums read at the cell edges, the fraction of a pixel cut by an edge counted exactly."""
        h, w = self.m.shape
        if cell_h == 1.0 and cell_w == 1.0:  # the image's own pixels: the window itself
            out = np.zeros((max(cy1 - cy0, 0), max(cx1 - cx0, 0)))
            y0, y1 = max(cy0, self.py0), min(cy1, self.py0 + h)
            x0, x1 = max(cx0, self.px0), min(cx1, self.px0 + w)
            if y1 > y0 and x1 > x0:
                out[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = self.m[y0 - self.py0:y1 - self.py0, x0 - self.px0:x1 - self.px0]
            return out
        whole, frac = _edges(cx0, cx1, cell_w, self.px0, w)
        left = self.run_x[:, whole]
        across = np.diff(left + (self.run_x[:, whole + 1] - left) * frac, axis=1) / cell_w
        run_y = np.zeros((h + 2, across.shape[1]))
        np.cumsum(across, axis=0, out=run_y[1:h + 1])
        run_y[h + 1] = run_y[h]
        whole, frac = _edges(cy0, cy1, cell_h, self.py0, h)
        top = run_y[whole]
        return np.diff(top + (run_y[whole + 1] - top) * frac[:, None], axis=0) / cell_h


def _edges(c0: int, c1: int, cell: float, p0: int, n: int):
    """Cell edges ``c * cell`` as pixel offsets in a window of ``n`` pixels from ``p0``, clipped:
    the whole pixel each falls in and the fraction of it before the edge."""
    e = np.clip(np.arange(c0, c1 + 1) * cell - p0, 0, n)
    whole = np.minimum(np.floor(e).astype(np.int64), n)
    return whole, e - whole


class AxisView:
    """One axis of one method for a group of boxes, per box: the cells it reads ``[lo, hi)`` and
    its dense ``(bins, cells)`` coefficients (sample methods) or windows (window methods)."""

    def __init__(self, ax, n_boxes: int, bins: int):
        self.bins = bins
        big = np.int64(2 ** 62)
        if isinstance(ax, WindowAxis):
            self.window = True
            self.start, self.end = ax.start.astype(np.int64), ax.end.astype(np.int64)
            filled = self.end > self.start
            self.lo = np.where(filled, self.start, big).min(axis=1)
            self.hi = np.where(filled, self.end, -big).max(axis=1)
            return
        self.window = False
        if not hasattr(ax, "entries"):
            raise ValueError(f"the mask ceiling needs per-cell coefficients; {type(ax).__name__} has none")
        e = ax.entries()
        self.bin, self.cell, self.weight = e.bin.astype(np.int64), e.cell.astype(np.int64), e.weight
        self.bounds = np.searchsorted(e.box, np.arange(n_boxes + 1))
        self.lo, self.hi = np.full(n_boxes, big), np.full(n_boxes, -big)
        has = np.flatnonzero(np.diff(self.bounds) > 0)
        if len(has):
            self.lo[has] = np.minimum.reduceat(self.cell, self.bounds[has])
            self.hi[has] = np.maximum.reduceat(self.cell, self.bounds[has]) + 1

    def dense(self, b: int, c0: int, cells: int) -> np.ndarray:
        out = np.zeros((self.bins, cells))
        a, z = self.bounds[b], self.bounds[b + 1]
        out[self.bin[a:z], self.cell[a:z] - c0] = self.weight[a:z]
        return out

    def windows(self, b: int, c0: int):
        return self.start[b] - c0, self.end[b] - c0


def band(view: AxisView, b: int, scale: float, p0: int, n: int):
    """The target's coefficients along one axis composed with the area average of the model's pixels
    over the input's: per (bin, input pixel) the weight, as ``(bins, starts, pixels, weights)`` with
    each present bin's entries contiguous (``starts``), pixels relative to a window of ``n`` from
    ``p0``. A model pixel ``j`` covers input pixels ``[j / scale, (j + 1) / scale)``."""
    a, z = view.bounds[b], view.bounds[b + 1]
    bins, cells, weights = view.bin[a:z], view.cell[a:z], view.weight[a:z]
    if scale == 1.0:
        pixels, values, owner = cells - p0, weights, bins
    else:
        k = int(np.ceil(1.0 / scale)) + 1
        lo = cells / scale
        first = np.floor(lo).astype(np.int64)
        pixel = first[:, None] + np.arange(k)[None, :]
        cover = np.minimum((cells + 1)[:, None] / scale, pixel + 1) - np.maximum(lo[:, None], pixel)
        values = (weights[:, None] * np.clip(cover, 0.0, None) * scale).ravel()
        pixels, owner = pixel.ravel() - p0, np.repeat(bins, k)
    keep = (pixels >= 0) & (pixels < n) & (values > 0)
    pixels, values, owner = pixels[keep], values[keep], owner[keep]
    starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]])) if len(owner) else owner
    return owner[starts], starts, pixels, values


def _summed(values: np.ndarray, band_, bins: int, axis: int) -> np.ndarray:
    present, starts, _, _ = band_
    shape = list(values.shape)
    shape[axis] = bins
    out = np.zeros(shape)
    if len(starts):
        sums = np.add.reduceat(values, starts, axis=axis)
        if axis == 0:
            out[present] = sums
        else:
            out[:, present] = sums
    return out


def target_output(window: "Window", view_y: AxisView, view_x: AxisView, b: int, scale_y: float,
                  scale_x: float) -> np.ndarray:
    """The target: ``roi_align`` at stride 1 on the mask resampled (area average) to the model's
    pixels, as two sparse products with the window, ``O(window pixels)``: no model-frame raster."""
    h, w = window.m.shape
    by = band(view_y, b, scale_y, window.py0, h)
    bx = band(view_x, b, scale_x, window.px0, w)
    across = _summed(window.m[:, bx[2]] * bx[3], bx, view_x.bins, axis=1)
    return _summed(across[by[2]] * by[3][:, None], by, view_y.bins, axis=0)


def window_max(f: np.ndarray, wy, wx) -> np.ndarray:
    """RoI Pool's output: the max of ``f`` over each window pair; an empty window gives 0."""
    def along(values, start, end, axis):
        empty = end <= start
        index = np.stack([np.where(empty, 0, start), np.where(empty, 1, end)], axis=1).ravel()
        padded = np.concatenate([values, np.zeros_like(values.take([0], axis=axis))], axis=axis)
        out = np.maximum.reduceat(padded, index, axis=axis).take(np.arange(0, len(index), 2), axis=axis)
        shape = [1, 1]
        shape[axis] = len(start)
        return np.where(empty.reshape(shape), 0.0, out)

    if not f.size:
        return np.zeros((len(wy[0]), len(wx[0])))
    return along(along(f, *wy, axis=0), *wx, axis=1)


def operator_output(f, view_y: AxisView, view_x: AxisView, b: int, cy0: int, cx0: int) -> np.ndarray:
    """``Q``: the method's output on ``f`` (cells from ``(cy0, cx0)``) for box ``b``."""
    if view_y.window:
        return window_max(f, view_y.windows(b, cy0), view_x.windows(b, cx0))
    # einsum, not BLAS: these products are small, and a threaded BLAS on a busy machine is slower
    across = np.einsum("cd,qd->cq", f, view_x.dense(b, cx0, f.shape[1]))
    return np.einsum("pc,cq->pq", view_y.dense(b, cy0, f.shape[0]), across)


def iou(paste: Paste, q: np.ndarray, window: "Window", mask_area: int) -> np.ndarray:
    """IoU of the mask (``mask_area`` pixels) and each pasted mask of the stack ``q``."""
    pasted_area, inter = paste.areas(q, window.column_sums, window.py0, window.px0)
    return inter / (mask_area + pasted_area - inter)


# --- per chunk --------------------------------------------------------------------------------------

def decode_chunk(table: pd.DataFrame, segments) -> tuple[list, np.ndarray]:
    """Counts of every instance (``None`` where it cannot be measured) and the invalid reasons,
    box problems first (docs/semantics.md D8), then segmentation problems."""
    invalid = table["invalid"].to_numpy(dtype=object).copy()
    heights, widths = table["image_height"].to_numpy(float), table["image_width"].to_numpy(float)
    counts: list = [None] * len(table)
    for i, segment in enumerate(segments):
        if invalid[i] == "":
            counts[i], why = to_counts(decode_raw(segment), heights[i], widths[i])
            invalid[i] = why
    return counts, invalid


def target_geometry(semantics, mask_size: int) -> Geometry:
    """``roi_align(masks, rois, (M, M), 1.)``: stride 1, adaptive sampling, aligned=False."""
    return Geometry(stride=1, pool=(mask_size, mask_size), sampling_ratio=0, placement="centered",
                    arithmetic=semantics.geometry.arithmetic)


def _views(method, rows, mb, geometry, map_w, map_h):
    """The method's two axes for boxes ``rows``: window methods (RoI Pool) take the max over their
    windows, every other method is linear in the features (its per-bin cell coefficients)."""
    coords = [c[rows] for c in (mb.x1, mb.y1, mb.x2, mb.y2)]
    ax = axes(method, *coords, map_w, map_h, geometry)
    if (METHODS[method].kind == "window") != isinstance(ax.y, WindowAxis):
        raise ValueError(f"method {method}: kind {METHODS[method].kind!r} with a {type(ax.y).__name__}")
    prow, pcol = geometry.pool
    return AxisView(ax.y, len(rows), prow), AxisView(ax.x, len(rows), pcol)


def measure_scale(table, counts, invalid, semantics, mask_size: int, short=None, detail: int | None = None):
    """Ceilings ``(n, methods)`` and target ceilings ``(n,)`` at one input scale, and the boxes in the
    model's frame. With ``detail`` (a row index) also the arrays of that instance, for a figure."""
    scaled = table.assign(invalid=invalid)
    mb = model_boxes(scaled, semantics, short)
    methods = list(semantics.methods)
    n = len(table)
    ceilings, targets = np.full((n, len(methods)), np.nan), np.full(n, np.nan)
    ok = np.flatnonzero(mb.invalid == "")
    if detail is not None:
        ok = ok[ok == detail]
    if not len(ok):
        return ceilings, targets, mb, None
    im_h = table["image_height"].to_numpy(float)
    im_w = table["image_width"].to_numpy(float)
    box = [table[c].to_numpy(float) for c in ("x1", "y1", "x2", "y2")]
    prow, pcol = semantics.geometry.pool
    pastes = expanded_boxes(*(c[ok] for c in box), pcol)
    target_pastes = expanded_boxes(*(c[ok] for c in box), mask_size)
    tgeo = target_geometry(semantics, mask_size)
    target_y, target_x = _views("roialign-legacy", ok, mb, tgeo, map_length(mb.width[ok], 1.0),
                                map_length(mb.height[ok], 1.0))
    at = {int(b): k for k, b in enumerate(ok)}
    im_h, im_w = im_h.astype(int).tolist(), im_w.astype(int).tolist()
    scale_y, scale_x = mb.scale_y.astype(float).tolist(), mb.scale_x.astype(float).tolist()
    t_span = [_cells(v.lo, v.hi) for v in (target_y, target_x)]
    found = None
    for stride in np.unique(mb.stride[ok]):
        rows = ok[mb.stride[ok] == stride]
        stride = float(stride)
        geometry = semantics.geometry.at_stride(stride)
        maps = [map_length(side[rows], stride) for side in (mb.padded_width, mb.padded_height)]
        views = [_views(m, rows, mb, geometry, *maps) for m in methods]
        c_y = _cells(np.minimum.reduce([v[0].lo for v in views]), np.maximum.reduce([v[0].hi for v in views]))
        c_x = _cells(np.minimum.reduce([v[1].lo for v in views]), np.maximum.reduce([v[1].hi for v in views]))
        for j, b in enumerate(rows.tolist()):
            k = at[b]
            H, W, sy, sx = im_h[b], im_w[b], scale_y[b], scale_x[b]
            cell_h, cell_w = stride / sy, stride / sx
            (cy0, cy1), (cx0, cx1) = c_y[j], c_x[j]
            (ty0, ty1), (tx0, tx1) = t_span[0][k], t_span[1][k]
            paste = Paste.of(pastes[k], prow, pcol, H, W)
            tpaste = Paste.of(target_pastes[k], mask_size, mask_size, H, W)
            # the window of the mask every step reads: its cells, the target's pixels, the pastes
            py0, py1 = _span([(math.floor(cy0 * cell_h), math.ceil(cy1 * cell_h)), (paste.y0, paste.y1),
                              (tpaste.y0, tpaste.y1), (math.floor(ty0 / sy), math.ceil(ty1 / sy))], H)
            px0, px1 = _span([(math.floor(cx0 * cell_w), math.ceil(cx1 * cell_w)), (paste.x0, paste.x1),
                              (tpaste.x0, tpaste.x1), (math.floor(tx0 / sx), math.ceil(tx1 / sx))], W)
            window = Window(crop(counts[b], H, px0, px1, py0, py1), py0, px0)
            mask_area = area(counts[b])
            f = window.average(cy0, cy1, cx0, cx1, cell_h, cell_w)
            outputs = np.stack([operator_output(f, vy, vx, j, cy0, cx0) for vy, vx in views])
            ceilings[b] = iou(paste, outputs, window, mask_area)
            qt = target_output(window, target_y, target_x, k, sy, sx)
            targets[b] = iou(tpaste, qt[None], window, mask_area)[0]
            if detail is not None:
                found = {"mask": window.m, "origin": (py0, px0), "features": f, "cells": (cy0, cy1, cx0, cx1),
                         "cell_size": (cell_h, cell_w), "stride": stride, "outputs": outputs,
                         "pasted": paste.mask(outputs), "paste": paste, "target": qt,
                         "target_pasted": tpaste.mask(qt[None])[0], "target_paste": tpaste,
                         "ceilings": ceilings[b].copy(), "target_ceiling": targets[b],
                         "box": tuple(float(c[b]) for c in box)}
    return ceilings, targets, mb, found


def _cells(lo: np.ndarray, hi: np.ndarray) -> list:
    """Per box ``(first, end)`` of the cells read, ``(0, 0)`` when none."""
    return [(int(a), int(z)) if z > a else (0, 0) for a, z in zip(lo.tolist(), hi.tolist())]


def _span(spans, limit: int) -> tuple[int, int]:
    spans = [(a, z) for a, z in spans if z > a]
    if not spans:
        return 0, 0
    lo = int(max(min(a for a, _ in spans), 0))
    hi = int(min(max(z for _, z in spans), limit))
    return lo, max(hi, lo)
