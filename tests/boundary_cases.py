"""Boundary geometry for the float32 conformance tests, and a numpy emulation of the kernels.

The frameworks' CPU kernels (ONNX Runtime ``RoiAlign``/``MaxRoiPool``, torchvision, Caffe2) work in
float32: ``x * float32(1/stride) - offset``, float32 bin sizes, ``g = ceil(float32 size / P)``, each
sample ``t = (start + p*bin) + ((k + .5f)*bin)/g`` rounded after every operation, the validity test
``t < -1 || t > W`` on that float32 ``t``, RoI Pool ``roundf(x * float32(1/stride))``. Exact (float64)
arithmetic makes a different decision whenever the mathematically exact value sits on a decision
boundary and float32 rounding moves it off (or onto) it. The generators below build such boxes:

* ``half_cell``: edges at ``(j + 0.5) * s`` or ``j * s`` for strides 41/47/55/61, whose float32 image
  in cells is a hair off (``23.5 * float32(1/47) = 0.49999997``): RoI Pool rounds the other way, and
  box lengths are chosen so every RoI Align sample lands on a whole cell in exact arithmetic; sub-cell
  lengths and boxes touching or crossing both map edges included.
* ``adaptive``: integer box sizes ``w = s*P*n`` px at non-power-of-two strides with ratio 0, where the
  float32 ``L/P`` lands just above ``n`` (``4.0000005`` -> ``g = 5``) or just below it.
* ``edge_samples``: boxes whose first or last sample, computed in float32, is exactly ``-1.0`` or
  exactly ``W`` (the inclusive ends of the validity test), plus their float32 neighbours one to a few
  ulps away (``-1 - ulp`` is invalid, ``W + ulp`` is invalid).

Every generator yields dicts as :func:`cases.configurations` does (stride, pool, ratio, map_h, map_w,
image, boxes) plus ``kind``. Boxes are float32-representable (float64 arrays holding float32 values).

The emulation (``align_axis``, ``pool_axis``) gives, per axis, the dense coefficients
``(boxes, bins, cells)`` in either arithmetic; a 2-D coefficient is the product of its two axes'.
``exact`` mirrors roiloss's float64 maths (``t = start + bin*(p + (k + .5)/g)``).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
ALIGN_MODES = {"roialign": True, "roialign-legacy": False}
ODD_STRIDES = (41, 47, 55, 61)


# --- emulation of the kernels, one axis -----------------------------------------------------


def scale32(stride) -> np.float32:
    """The kernels' ``spatial_scale``: ``1/stride`` stored as a float32 (an ONNX float attribute)."""
    return F32(1.0 / stride)


def align_samples(lo, hi, stride, bins, ratio, aligned, arithmetic="float32"):
    """Sample positions of RoI Align on one axis.

    Returns ``t`` ``(boxes, bins, G)`` (float32 or float64, NaN past each box's ``g``) and ``g``
    ``(boxes,)`` samples per bin; ``G = max(g)``.
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    n = len(lo)
    if arithmetic == "float32":
        sc, off = scale32(stride), F32(0.5 if aligned else 0.0)
        start = lo.astype(F32) * sc - off
        end = hi.astype(F32) * sc - off
        size = end - start
        if not aligned:
            size = np.maximum(size, F32(1.0))
        bin_ = size / F32(bins)
        g = np.full(n, ratio, np.int64) if ratio > 0 else np.ceil(size / F32(bins)).astype(np.int64)
        G = max(int(g.max(initial=0)), 1)
        p = np.arange(bins, dtype=F32)[None, :, None]
        k = np.arange(G, dtype=F32)[None, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (start[:, None, None] + p * bin_[:, None, None]) \
                + ((k + F32(0.5)) * bin_[:, None, None]) / g.astype(F32)[:, None, None]
        t = t.astype(F32)
    else:
        off = 0.5 if aligned else 0.0
        start, end = lo / stride - off, hi / stride - off
        size = end - start if aligned else np.maximum(end - start, 1.0)
        bin_ = size / bins
        g = np.full(n, ratio, np.int64) if ratio > 0 else np.ceil(size / bins).astype(np.int64)
        G = max(int(g.max(initial=0)), 1)
        p = np.arange(bins, dtype=float)[None, :, None]
        k = np.arange(G, dtype=float)[None, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = start[:, None, None] + bin_[:, None, None] * (p + (k + 0.5) / g[:, None, None])
    t = np.where(np.arange(G)[None, None, :] < g[:, None, None], t, np.nan)
    return t, g


def align_axis(lo, hi, stride, bins, length, ratio, aligned, arithmetic="float32"):
    """Dense RoI Align coefficients of one axis ``(boxes, bins, length)`` (float64) and ``g``.

    Coefficient of a cell in a bin: the sum of the bilinear weights of the bin's valid samples on it,
    divided by ``g``. Kernel: valid iff ``-1 <= t <= W``; ``t <= 0`` reads cell 0; at or past the last
    cell reads the last cell with weight 1; else ``1 - frac`` on ``floor(t)``, ``frac`` on the next.
    """
    t, g = align_samples(lo, hi, stride, bins, ratio, aligned, arithmetic)
    dtype = t.dtype.type
    n, _, G = t.shape
    W = int(length)
    present = ~np.isnan(t)
    tt = np.where(present, t, dtype(-2))
    valid = present & ~((tt < dtype(-1)) | (tt > dtype(W)))
    tc = np.where(tt <= 0, dtype(0), tt)
    cell = np.floor(tc).astype(np.int64)
    at_end = cell >= W - 1
    cell = np.where(at_end, W - 1, cell)
    tc = np.where(at_end, cell.astype(dtype), tc)
    frac = (tc - cell.astype(dtype)).astype(dtype)
    w_lo = (dtype(1) - frac).astype(np.float64) * valid
    w_hi = frac.astype(np.float64) * valid
    out = np.zeros((n, bins, W + 1))
    box = np.broadcast_to(np.arange(n)[:, None, None], t.shape)
    bin_ = np.broadcast_to(np.arange(bins)[None, :, None], t.shape)
    cell = np.clip(cell, 0, W - 1)
    np.add.at(out, (box, bin_, cell), w_lo)
    np.add.at(out, (box, bin_, cell + 1), w_hi)
    out = out[:, :, :W] / np.maximum(g, 1)[:, None, None]
    return out, g


def pool_axis(lo, hi, stride, bins, length, arithmetic="float32"):
    """RoI Pool (MaxRoiPool) windows of one axis as booleans ``(boxes, bins, length)``.

    ``a = round(x1 * scale)``, ``b = round(x2 * scale)`` (half away from zero; float32 product or exact
    ``x / stride``), ``n = max(b - a + 1, 1)``, ``bin = float32(n)/float32(P)``, window
    ``[a + floor(p*bin), a + ceil((p+1)*bin))`` clipped to the map.
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    if arithmetic == "float32":
        x1, x2 = (lo.astype(F32) * scale32(stride)).astype(np.float64), (hi.astype(F32) * scale32(stride)).astype(np.float64)
    else:
        x1, x2 = lo / stride, hi / stride

    def cround(x):
        whole = np.trunc(x)
        return (whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0)).astype(np.int64)

    a, b = cround(x1), cround(x2)
    n = np.maximum(b - a + 1, 1)
    bin_ = n.astype(F32) / F32(bins)
    p = np.arange(bins, dtype=F32)
    start = np.floor(p[None, :] * bin_[:, None]).astype(np.int64) + a[:, None]
    end = np.ceil((p[None, :] + F32(1)) * bin_[:, None]).astype(np.int64) + a[:, None]
    W = int(length)
    start, end = np.clip(start, 0, W), np.clip(end, 0, W)
    cells = np.arange(W)[None, None, :]
    return (cells >= start[:, :, None]) & (cells < end[:, :, None])


def dense_2d(config, method, arithmetic="float32"):
    """Emulated 2-D coefficients ``(boxes, rows, cols, map_h, map_w)`` of a configuration."""
    b = np.asarray(config["boxes"], np.float64)
    rows, cols = config["pool"]
    s = config["stride"]
    if method == "roipool":
        wy = pool_axis(b[:, 1], b[:, 3], s, rows, config["map_h"], arithmetic)
        wx = pool_axis(b[:, 0], b[:, 2], s, cols, config["map_w"], arithmetic)
        win = wy[:, :, None, :, None] & wx[:, None, :, None, :]
        size = win.sum(axis=(3, 4), keepdims=True)
        return np.where(win, 1.0 / np.maximum(size, 1), 0.0)
    aligned = ALIGN_MODES[method]
    ay, _ = align_axis(b[:, 1], b[:, 3], s, rows, config["map_h"], config["ratio"], aligned, arithmetic)
    ax, _ = align_axis(b[:, 0], b[:, 2], s, cols, config["map_w"], config["ratio"], aligned, arithmetic)
    return ay[:, :, None, :, None] * ax[:, None, :, None, :]


def edge_hits(config, aligned):
    """Per box: does some float32 sample (on either axis) equal exactly ``-1.0``, exactly ``W``?"""
    b = np.asarray(config["boxes"], np.float64)
    rows, cols = config["pool"]
    minus_one = np.zeros(len(b), bool)
    at_w = np.zeros(len(b), bool)
    for (i0, i1), bins, W in (((1, 3), rows, config["map_h"]), ((0, 2), cols, config["map_w"])):
        t, _ = align_samples(b[:, i0], b[:, i1], config["stride"], bins, config["ratio"], aligned, "float32")
        minus_one |= (t == F32(-1)).any(axis=(1, 2))
        at_w |= (t == F32(W)).any(axis=(1, 2))
    return minus_one, at_w


# --- generators -------------------------------------------------------------------------------


def _f32(x):
    return np.asarray(x, np.float64).astype(F32).astype(np.float64)


def _config(kind, stride, pool, ratio, map_h, map_w, x, y):
    """``x``, ``y``: (lo, hi) arrays of equal length. The image is exactly ``map * stride`` px."""
    boxes = np.stack([_f32(x[0]), _f32(y[0]), _f32(x[1]), _f32(y[1])], axis=1)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return dict(kind=kind, stride=stride, pool=tuple(pool), ratio=ratio, map_h=map_h, map_w=map_w,
                image=(float(map_w * stride), float(map_h * stride)), boxes=boxes[keep])


def _half_cell_edges(stride, bins, ratio, cells):
    """(lo, hi) pairs on one axis: origins on whole and half cells from 2 cells before the map to its
    end, lengths ``P*g``, ``2*P*g`` cells (all exact samples on whole or half cells), one cell, a few
    sub-cell lengths and the span to the map's end."""
    g = max(ratio, 1)
    lengths = sorted({bins * g, 2 * bins * g, bins, 1, 0.25, 0.5, 0.75})
    lo, hi = [], []
    for j in range(-2, cells + 1):
        for origin in (j, j + 0.5):
            for length in lengths:
                lo.append(origin * stride)
                hi.append((origin + length) * stride)
            lo.append(origin * stride)
            hi.append(cells * stride)  # touching the map's far edge
            lo.append(0.0)
            hi.append(origin * stride + stride)  # touching the near edge
    lo, hi = np.array(lo), np.array(hi)
    keep = hi > lo
    return lo[keep], hi[keep]


def half_cell(strides=ODD_STRIDES, seed=0):
    """Edges on half and whole cells at strides whose float32 ``x * (1/s)`` misses the exact value."""
    rng = np.random.default_rng(seed)
    for stride in strides:
        for pool in ((1, 1), (2, 2), (1, 3), (3, 2), (4, 1)):
            for ratio in (0, 1, 2):
                map_h, map_w = (12, 12) if ratio != 2 else (7, 9)
                x = _half_cell_edges(stride, pool[1], ratio, map_w)
                y = _half_cell_edges(stride, pool[0], ratio, map_h)
                # pair every x edge with a y edge (and vice versa): both axes hit boundaries
                n = max(len(x[0]), len(y[0]))
                ix = np.resize(rng.permutation(len(x[0])), n)
                iy = np.resize(rng.permutation(len(y[0])), n)
                yield _config("half_cell", stride, pool, ratio, map_h, map_w,
                              (x[0][ix], x[1][ix]), (y[0][iy], y[1][iy]))


def adaptive(seed=1):
    """Ratio 0, integer pixel box sizes ``s*P*n`` at non-power-of-two strides: exact ``L/P = n``, the
    float32 one a hair above (``g = n + 1``) or below it."""
    rng = np.random.default_rng(seed)
    strides = (12, 20, 24, 36, 40, 41, 47, 48, 55, 56, 60, 61)
    for stride in strides:
        for pool in ((1, 1), (2, 2), (3, 3), (5, 2), (7, 7), (2, 6)):
            map_h = map_w = 12
            lo, hi = [], []
            for bins in (pool[1], pool[0]):
                n_max = max(1, 14 // bins)
                widths = stride * bins * np.arange(1, n_max + 1)
                # integer origins across the map, including negative and near the far edge
                origins = rng.integers(-stride, map_w * stride, size=(len(widths), 12))
                lo.append(origins.ravel().astype(float))
                hi.append((origins + widths[:, None]).ravel().astype(float))
            n = max(len(lo[0]), len(lo[1]))
            ix = np.resize(np.arange(len(lo[0])), n)
            iy = np.resize(rng.permutation(len(lo[1])), n)
            yield _config("adaptive", stride, pool, 0, map_h, map_w, (lo[0][ix], hi[0][ix]), (lo[1][iy], hi[1][iy]))


def _nudge(x, steps):
    """``x`` moved by ``steps`` float32 ulps (vectorised over ``steps``)."""
    x = F32(x)
    out = []
    for s in steps:
        v = x
        for _ in range(abs(int(s))):
            v = np.nextafter(v, F32(np.inf) if s > 0 else F32(-np.inf), dtype=F32)
        out.append(float(v))
    return np.array(out)


def _edge_axis(stride, bins, ratio, aligned, target):
    """(lo, hi) pairs whose first (``target = -1``) or last (``target = W``) float32 sample lands on
    or within a few ulps of the target: the exact box is solved for, then its low edge is nudged by
    -4..4 float32 ulps (and the high edge moved with it when the target is the last sample)."""
    off = 0.5 if aligned else 0.0
    lo, hi = [], []
    lengths = [0.3, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, bins * 1.0, bins * 2.5]
    for length in lengths:
        L = length if aligned else max(length, 1.0)
        g = ratio if ratio > 0 else int(np.ceil(L / bins))
        half = 0.5 * (L / bins) / g  # first sample's offset from the start; last one's from the end
        a = -1.0 - half if target == -1 else target - L + half  # the box's start in cells
        x1 = (a + off) * stride  # exact pixel edges
        x2 = x1 + length * stride
        steps = np.arange(-4, 5)
        lows = _nudge(x1, steps)
        highs = _nudge(x2, steps) if target != -1 else np.full(len(steps), float(F32(x2)))
        lo.extend(lows)
        hi.extend(highs)
        if target != -1:  # also: only the low edge moves
            lo.extend(lows)
            hi.extend(np.full(len(steps), float(F32(x2))))
    return np.array(lo), np.array(hi)


def edge_samples(strides=(8, 12, 41, 47, 55, 61), seed=2):
    """Boxes with a float32 sample exactly on (or a few ulps beside) ``t = -1`` or ``t = W``."""
    rng = np.random.default_rng(seed)
    for aligned in (True, False):
        for stride in strides:
            for pool, ratio, map_w in (((1, 1), 1, 5), ((2, 2), 2, 12), ((1, 3), 0, 7), ((2, 1), 1, 1),
                                       ((1, 2), 3, 12), ((3, 3), 0, 12)):
                map_h = 6
                parts = [_edge_axis(stride, pool[1], ratio, aligned, target) for target in (-1, map_w)]
                x = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
                # y: an ordinary box inside the map (a third of them also on edges of y)
                n = len(x[0])
                y_lo = rng.uniform(0, (map_h - 1) * stride, n).round(2)
                y_hi = y_lo + rng.uniform(0.5, 3, n).round(2) * stride
                ys = [_edge_axis(stride, pool[0], ratio, aligned, target) for target in (-1, map_h)]
                y_edge = (np.concatenate([p[0] for p in ys]), np.concatenate([p[1] for p in ys]))
                m = min(len(y_edge[0]), n // 3)
                pick = rng.permutation(len(y_edge[0]))[:m]
                y_lo[:m], y_hi[:m] = y_edge[0][pick], y_edge[1][pick]
                yield _config("edge_samples", stride, pool, ratio, map_h, map_w, x, (y_lo, y_hi))


def boundary_configurations():
    """Every boundary configuration, deterministic."""
    return [*half_cell(), *adaptive(), *edge_samples()]
