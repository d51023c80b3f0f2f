"""The RoI operators, each as one per-axis function (SPEC §2).

Every function takes, for all boxes at once, the box edges ``lo < hi`` on one axis in image
pixels, the stride, the number of output bins on that axis and the feature-map length on that
axis (``inf`` when the image size is unknown), and returns a :class:`~roiloss.axis.WindowAxis` or
:class:`~roiloss.axis.SampleAxis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .axis import (
    SampleAxis,
    WindowAxis,
    bilinear,
    bin_edges,
    clip_windows,
    cround,
    sample_axis,
)

# A map with no known high edge is clipped at this many cells (integers cannot hold inf).
UNBOUNDED = np.int64(2**52)


def _map_cells(length: np.ndarray) -> np.ndarray:
    return np.minimum(length, UNBOUNDED).astype(np.int64)


def roipool(lo, hi, *, stride, bins, length, **_):
    """Fast R-CNN RoI Pooling: Caffe ``ROIPooling``, ``torchvision.ops.roi_pool``, ONNX ``MaxRoiPool``.

    ``a = cround(x1/s)``, ``b = cround(x2/s)``, ``n = max(b - a + 1, 1)`` cells (the end cell is
    included). Bin ``p`` reads cells ``[a + floor(p*n/P), a + ceil((p+1)*n/P))`` clipped to the map;
    bins overlap by one cell when ``n/P`` is not whole. The bin edges are computed as the frameworks
    do, in float32 (``bin = float32(n) / float32(P)``, edge ``= float32(p) * bin``): for some ``n, P``
    (e.g. ``n = 57, P = 7``) float32 puts the last edge a hair above ``n`` and its ``ceil`` reads one
    cell more than exact arithmetic would. roiloss reports what the frameworks read.
    """
    a = cround(lo / stride).astype(np.int64)
    b = cround(hi / stride).astype(np.int64)
    n = np.maximum(b - a + 1, 1)
    bin_size = n.astype(np.float32) / np.float32(bins)
    p = np.arange(bins, dtype=np.float32)
    start = np.floor(p[None, :] * bin_size[:, None]).astype(np.int64) + a[:, None]
    end = np.ceil((p[None, :] + np.float32(1)) * bin_size[:, None]).astype(np.int64) + a[:, None]
    return WindowAxis(*clip_windows(start, end, _map_cells(length)))


def roipool_floor(lo, hi, *, stride, bins, length, **_):
    """Textbook RoI Pool (the seed article's first part; many hand-written Keras/TF layers).

    ``a = floor(x1/s)``, ``n = floor((x2 - x1)/s)`` cells (the width is truncated, not the end),
    ``k = floor(n/P)``; bin ``p`` reads ``[a + p*k, a + (p+1)*k)`` clipped to the map. The leftover
    ``n - P*k`` cells are dropped and ``k = 0`` leaves every bin empty.
    """
    a = np.floor(lo / stride).astype(np.int64)
    n = np.floor((hi - lo) / stride).astype(np.int64)
    k = n // bins
    p = np.arange(bins, dtype=np.int64)
    start = a[:, None] + p[None, :] * k[:, None]
    return WindowAxis(*clip_windows(start, start + k[:, None], _map_cells(length)))


def roiwarp(lo, hi, *, stride, bins, length, **_):
    """RoI Warping of MNC (Dai, He, Sun 2016; the Caffe ``ROIWarping`` layer of the MNC code).

    ``a = cround(x1/s)``, ``b = cround(x2/s)``, ``n = max(b - a, 0)`` (no +1). One sample per bin at
    the bin's start, ``t_p = a + p*n/P`` in index coordinates, read with the bilinear kernel of
    RoI Align; a sample is valid only when ``-0.5 <= t <= W - 0.5``. Samples ``[a, b)`` shifted by
    half a cell: the sampled interval is ``[a + 0.5, b + 0.5)``.
    """
    a = cround(lo / stride)
    b = cround(hi / stride)
    n = np.maximum(b - a, 0.0)
    t = a[:, None] + np.arange(bins)[None, :] * (n / bins)[:, None]  # each bin's start
    valid, cell, frac = bilinear(t, length, -0.5, -0.5)
    return SampleAxis(t, valid, cell, frac, 1, bins, (a + 0.5, a + n + 0.5), bin_edges(a, n / bins, bins))


def _roialign(lo, hi, *, stride, bins, length, sampling_ratio, placement, aligned):
    offset = 0.5 if aligned else 0.0
    start = lo / stride - offset
    end = hi / stride - offset
    size = end - start if aligned else np.maximum(end - start, 1.0)
    bin_size = size / bins
    if sampling_ratio > 0:
        per_bin = np.full(len(start), sampling_ratio, dtype=np.int64)
    else:
        per_bin = np.ceil(size / bins).astype(np.int64)
    sampled = (lo / stride, hi / stride) if aligned else (start + 0.5, start + 0.5 + size)
    return sample_axis(start, bin_size, per_bin, bins, length, placement, (-1.0, 0.0), sampled,
                       bin_edges(start, bin_size, bins))


def roialign(lo, hi, *, stride, bins, length, sampling_ratio=2, placement="centered", **_):
    """RoI Align with half-pixel alignment: Detectron2 ``ROIAlignV2``,
    ``torchvision.ops.roi_align(aligned=True)``, mmcv's default, ONNX ``RoiAlign`` ``half_pixel``.

    ``t0 = x1/s - 0.5``, ``t1 = x2/s - 0.5``, ``L = t1 - t0`` (no minimum), bin ``L/P``; ``g`` samples
    per bin (``sampling_ratio``, or ``ceil(L/P)`` when it is 0); sample ``k`` of bin ``p`` at
    ``t0 + p*L/P + (k + 0.5)*(L/P)/g``. Bilinear kernel: valid only if ``-1 <= t <= W``, ``t <= 0``
    reads cell 0, at or past the last cell reads the last cell. Each bin divides by ``g`` (invalid
    samples stay in the count). Samples exactly the box: ``[x1/s, x2/s)``.
    """
    return _roialign(lo, hi, stride=stride, bins=bins, length=length,
                     sampling_ratio=sampling_ratio, placement=placement, aligned=True)


def roialign_legacy(lo, hi, *, stride, bins, length, sampling_ratio=2, placement="centered", **_):
    """RoI Align without the half-pixel offset: original Mask R-CNN / Detectron,
    ``torchvision.ops.roi_align(aligned=False)`` (torchvision's default, used by ``MultiScaleRoIAlign``),
    ONNX ``RoiAlign`` ``output_half_pixel``.

    As :func:`roialign` with ``t0 = x1/s``, ``t1 = x2/s`` and ``L = max(t1 - t0, 1)``: the samples sit
    half a cell down-right of the box, on ``[x1/s + 0.5, x1/s + 0.5 + L)``.
    """
    return _roialign(lo, hi, stride=stride, bins=bins, length=length,
                     sampling_ratio=sampling_ratio, placement=placement, aligned=False)


@dataclass(frozen=True)
class Method:
    name: str
    axis: Callable
    summary: str
    reproduces: str


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("roipool", roipool,
               "round both edges to cells, end cell included; bins of floor/ceil windows; max",
               "Caffe ROIPooling, torchvision.ops.roi_pool, ONNX MaxRoiPool"),
        Method("roipool-floor", roipool_floor,
               "floor the start, truncate the width to whole cells, equal bins; leftovers dropped",
               "textbook RoI Pool (the seed article's first part), hand-written Keras/TF layers"),
        Method("roiwarp", roiwarp,
               "round both edges to cells, then one bilinear sample at each bin's start",
               "MNC RoI Warping (Dai, He, Sun 2016), Caffe ROIWarping layer"),
        Method("roialign", roialign,
               "no rounding; g x g bilinear samples per bin, half-pixel aligned; average",
               "Detectron2 ROIAlignV2, torchvision roi_align(aligned=True), mmcv, ONNX RoiAlign half_pixel"),
        Method("roialign-legacy", roialign_legacy,
               "as roialign without the half-pixel offset, box at least 1 cell",
               "Mask R-CNN/Detectron, torchvision roi_align(aligned=False), ONNX RoiAlign output_half_pixel"),
    ]
}

DEFAULT_METHODS = ("roipool", "roiwarp", "roialign")


def resolve_methods(methods) -> list[str]:
    """``"all"``, a comma-separated string or a sequence of names -> validated list of names."""
    if methods is None:
        return list(DEFAULT_METHODS)
    if isinstance(methods, str):
        methods = list(METHODS) if methods.strip() == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    names = list(dict.fromkeys(methods))
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown method {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)} or 'all'")
    return names
