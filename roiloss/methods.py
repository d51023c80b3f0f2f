"""The RoI operators, each as one per-axis function with its traits as data (docs/semantics.md §2).

Every function takes, for all boxes at once, the box edges ``lo < hi`` on one axis in image
pixels, the number of output bins on that axis, the feature-map length on that axis (``inf`` when
the image size is unknown) and the :class:`~roiloss.geometry.Geometry`, and returns a
:class:`~roiloss.axis.WindowAxis` or :class:`~roiloss.axis.SampleAxis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .axis import SampleAxis, WindowAxis, sample_axis
from .choices import METHOD_NAMES
from .geometry import Geometry
from .kernels import Reading, aligned_span, clip_windows, cround, to_cells
from .methods_registry import RUNTIME_METHODS

# A map with no known high edge is clipped at this many cells (integers cannot hold inf).
UNBOUNDED = np.int64(2**52)


def _map_cells(length: np.ndarray) -> np.ndarray:
    return np.minimum(length, UNBOUNDED).astype(np.int64)


def roipool(lo, hi, bins: int, length, geometry: Geometry) -> WindowAxis:
    """Fast R-CNN RoI Pooling: Caffe ``ROIPooling``, ``torchvision.ops.roi_pool``, ONNX ``MaxRoiPool``.

    ``a = cround(x1/s)``, ``b = cround(x2/s)``, ``n = max(b - a + 1, 1)`` cells (the end cell is
    included). Bin ``p`` reads cells ``[a + floor(p*n/P), a + ceil((p+1)*n/P))`` clipped to the map;
    bins overlap by one cell when ``n/P`` is not whole. The bin edges are float32 in both
    arithmetics, as in every implementation (``bin = float32(n) / float32(P)``, edge
    ``= float32(p) * bin``): for ``n = 57, P = 7`` the last edge lands a hair above ``n`` and its
    ``ceil`` reads one cell more than exact arithmetic would. In ``float32`` arithmetic ``x/s`` is
    the float32 product ``x * float32(1/s)`` (``docs/semantics.md`` §2.1, §9).
    """
    a = cround(to_cells(lo, geometry.stride, geometry.arithmetic))
    b = cround(to_cells(hi, geometry.stride, geometry.arithmetic))
    n = np.maximum(b - a + 1.0, 1.0)
    bin_size = n.astype(np.float32) / np.float32(bins)
    edge = np.arange(bins + 1, dtype=np.float32)[:, None] * bin_size  # edges x boxes: see place_samples
    # whole cells as float64 (exact: below 2 ** 53), laid out bin-major like the edges
    start = np.floor(edge[:-1]) + a
    end = np.ceil(edge[1:]) + a
    return WindowAxis(*clip_windows(start.T, end.T, np.asarray(length, np.float64), ordered=True))


def roipool_floor(lo, hi, bins: int, length, geometry: Geometry) -> WindowAxis:
    """Textbook RoI Pool (the seed article's first part; many hand-written Keras/TF layers).

    ``a = floor(x1/s)``, ``n = floor((x2 - x1)/s)`` cells (the width is truncated, not the end),
    ``k = floor(n/P)``; bin ``p`` reads ``[a + p*k, a + (p+1)*k)`` clipped to the map. The leftover
    ``n - P*k`` cells are dropped and ``k = 0`` leaves every bin empty (``docs/semantics.md`` §2.2).
    """
    a = np.floor(to_cells(lo, geometry.stride, geometry.arithmetic)).astype(np.int64)
    width = np.asarray(hi, np.float64) - np.asarray(lo, np.float64)
    n = np.floor(to_cells(width, geometry.stride, geometry.arithmetic)).astype(np.int64)
    k = n // bins
    p = np.arange(bins, dtype=np.int64)
    start = a[:, None] + p[None, :] * k[:, None]
    return WindowAxis(*clip_windows(start, start + k[:, None], _map_cells(length)))


def roiwarp(lo, hi, bins: int, length, geometry: Geometry) -> SampleAxis:
    """RoI Warping of MNC (Dai, He, Sun 2016; the Caffe ``ROIWarping`` layer of the MNC code).

    ``a = cround(x1/s)``, ``b = cround(x2/s)``, ``n = max(b - a, 0)`` (no +1). One sample per bin at
    the bin's start, ``t_p = a + p*n/P`` in index coordinates, read with the bilinear kernel of
    RoI Align; a sample is valid only when ``-0.5 <= t <= W - 0.5``. Samples ``[a, b)`` shifted by
    half a cell: the sampled interval is ``[a + 0.5, b + 0.5)`` (``docs/semantics.md`` §2.3).
    """
    a = cround(to_cells(lo, geometry.stride, geometry.arithmetic))
    b = cround(to_cells(hi, geometry.stride, geometry.arithmetic))
    n = np.maximum(b - a, 0.0)
    step = n / bins
    t = (a[None, :] + np.arange(bins)[:, None] * step[None, :]).T  # each bin's start
    # a + fl(p * step) rounds monotonically in p: in order when step >= 0, and no step exceeds one
    # cell when step <= 1 (step = 1 is exact; below it, step <= (bins - 1) / bins plus rounding)
    steps = (step, step)
    return SampleAxis(t, Reading(t, length, -0.5, -0.5, steps=steps), 1, bins, (a + 0.5, a + n + 0.5), (a, step),
                      steps)


def _roialign(lo, hi, bins, length, geometry: Geometry, aligned: bool):
    start, size, bin_size, adaptive = aligned_span(lo, hi, geometry.stride, bins, 0.5 if aligned else 0.0,
                                                   None if aligned else 1.0, geometry.arithmetic)
    if geometry.sampling_ratio > 0:
        per_bin = np.full(len(start), geometry.sampling_ratio, dtype=np.int64)
    else:
        per_bin = adaptive.astype(np.int64)
    start64, size64 = start.astype(np.float64), size.astype(np.float64)
    if aligned and geometry.arithmetic == "exact":
        sampled = (np.asarray(lo, np.float64) / geometry.stride, np.asarray(hi, np.float64) / geometry.stride)
    else:
        sampled = (start64 + 0.5, start64 + 0.5 + size64)
    return sample_axis(start, bin_size, per_bin, bins, length, geometry.placement, (-1.0, 0.0), sampled,
                       (start, bin_size))


def roialign(lo, hi, bins: int, length, geometry: Geometry):
    """RoI Align with half-pixel alignment: Detectron2 ``ROIAlignV2``,
    ``torchvision.ops.roi_align(aligned=True)``, mmcv's default, ONNX ``RoiAlign`` ``half_pixel``.

    ``t0 = x1/s - 0.5``, ``t1 = x2/s - 0.5``, ``L = t1 - t0`` (no minimum), bin ``L/P``; ``g`` samples
    per bin (``sampling_ratio``, or ``ceil(L/P)`` when it is 0); sample ``k`` of bin ``p`` at
    ``(t0 + p*L/P) + (k + 0.5)*(L/P)/g``. Bilinear kernel: valid only if ``-1 <= t <= W``, ``t <= 0``
    reads cell 0, at or past the last cell reads the last cell. Each bin divides by ``g`` (invalid
    samples stay in the count). Samples exactly the box: ``[x1/s, x2/s)`` (``docs/semantics.md`` §2.4).
    """
    return _roialign(lo, hi, bins, length, geometry, aligned=True)


def roialign_legacy(lo, hi, bins: int, length, geometry: Geometry):
    """RoI Align without the half-pixel offset: original Mask R-CNN / Detectron,
    ``torchvision.ops.roi_align(aligned=False)`` (torchvision's default, used by ``MultiScaleRoIAlign``),
    ONNX ``RoiAlign`` ``output_half_pixel``.

    As :func:`roialign` with ``t0 = x1/s``, ``t1 = x2/s`` and ``L = max(t1 - t0, 1)``: the samples sit
    half a cell down-right of the box, on ``[x1/s + 0.5, x1/s + 0.5 + L)`` (``docs/semantics.md`` §2.5).
    """
    return _roialign(lo, hi, bins, length, geometry, aligned=False)


@dataclass(frozen=True)
class Method:
    """An RoI operator: its per-axis function and its traits.

    ``kind`` is ``window`` (whole-cell windows, max pooling), ``sample`` (bilinear samples,
    averaged) or ``integral`` (the bilinear surface integrated over each bin); ``aligned`` says whether the samples are half-pixel aligned with the box (``None`` for
    the window methods); ``sampled`` whether ``sampling_ratio`` applies to it.
    """

    name: str
    axis: Callable[..., object]
    kind: str
    aligned: bool | None
    sampled: bool
    summary: str
    reproduces: str


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("roipool", roipool, "window", None, False,
               "round both edges to cells, end cell included; bins of floor/ceil windows; max",
               "Caffe ROIPooling, torchvision.ops.roi_pool, ONNX MaxRoiPool"),
        Method("roipool-floor", roipool_floor, "window", None, False,
               "floor the start, truncate the width to whole cells, equal bins; leftovers dropped",
               "textbook RoI Pool (the seed article's first part), hand-written Keras/TF layers"),
        Method("roiwarp", roiwarp, "sample", None, False,
               "round both edges to cells, then one bilinear sample at each bin's start",
               "MNC RoI Warping (Dai, He, Sun 2016), Caffe ROIWarping layer"),
        Method("roialign", roialign, "sample", True, True,
               "no rounding; g x g bilinear samples per bin, half-pixel aligned; average",
               "Detectron2 ROIAlignV2, torchvision roi_align(aligned=True), mmcv, ONNX RoiAlign half_pixel"),
        Method("roialign-legacy", roialign_legacy, "sample", False, True,
               "as roialign without the half-pixel offset, box at least 1 cell",
               "Mask R-CNN/Detectron, torchvision roi_align(aligned=False), ONNX RoiAlign output_half_pixel"),
    ] + [Method(*entry) for entry in RUNTIME_METHODS]
}

assert tuple(METHODS) == METHOD_NAMES, "roiloss.choices.METHOD_NAMES is out of date"
DEFAULT_METHODS = ("roipool", "roiwarp", "roialign")


def resolve_methods(methods) -> list[str]:
    """``None`` (the defaults), ``"all"``, a comma-separated string or a sequence of names ->
    validated list of names; ``ValueError`` naming the unknown ones."""
    if methods is None:
        return list(DEFAULT_METHODS)
    if isinstance(methods, str):
        methods = list(METHODS) if methods.strip() == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    elif not isinstance(methods, (list, tuple)) or not all(isinstance(m, str) for m in methods):
        raise TypeError(f"methods must be a name, a comma-separated string or a list of names, got {methods!r}")
    names = list(dict.fromkeys(methods))
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown method {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)} or 'all'")
    return names


@dataclass
class Axes:
    """The two axes of one method for a set of boxes, with the RoI in feature-area units."""

    y: object
    x: object
    roi_y: tuple[np.ndarray, np.ndarray]
    roi_x: tuple[np.ndarray, np.ndarray]
    stride: float


def axes(method: str, x1, y1, x2, y2, map_w, map_h, geometry: Geometry) -> Axes:
    """Run one method's per-axis function on both axes of every box (``map_w``/``map_h``: the
    feature map's cells per box, ``inf`` when unknown)."""
    fn = METHODS[method].axis
    rows, cols = geometry.pool
    s = geometry.stride
    x1, y1, x2, y2 = (np.asarray(v, dtype=float) for v in (x1, y1, x2, y2))
    ax_y = fn(y1, y2, rows, np.asarray(map_h, float), geometry)
    ax_x = fn(x1, x2, cols, np.asarray(map_w, float), geometry)
    return Axes(y=ax_y, x=ax_x, roi_y=(y1 / s, y2 / s), roi_x=(x1 / s, x2 / s), stride=s)


def methods_frame():
    """The methods as a table: name, kind, aligned, semantics and what each reproduces."""
    import pandas as pd

    return pd.DataFrame([{"method": m.name, "kind": m.kind, "aligned": m.aligned, "semantics": m.summary,
                          "reproduces": m.reproduces} for m in METHODS.values()])
