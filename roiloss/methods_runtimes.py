"""RoI operators of deployment runtimes and other libraries, one per-axis function each
(docs/semantics.md §2.10-§2.16); :mod:`roiloss.methods` registers them in ``METHODS``.

Every function has the signature of :mod:`roiloss.methods`: box edges ``lo < hi`` on one axis in
image pixels, the bins on that axis, the map length (``inf`` when unknown) and the
:class:`~roiloss.geometry.Geometry`. In ``float32`` arithmetic each follows its source's float32
operations in their order; ``exact`` evaluates the same formulas in float64.
"""

from __future__ import annotations

import numpy as np

from .axis import SampleAxis, SampleGroups, WindowAxis
from .axis_entries import EntryAxis
from .geometry import Geometry
from .kernels import Reading, clip_windows, sample_steps, to_cells

UNBOUNDED = np.int64(2**52)  # as roiloss.methods: a map with no known high edge


def dtype_of(geometry: Geometry):
    return np.float32 if geometry.arithmetic == "float32" else np.float64


def grouped_axis(per_bin, n_bins, length, positions, limits, sampled, edges, clamp=None):
    """A :class:`SampleAxis` (or :class:`SampleGroups` when boxes differ in samples per bin) whose
    sample positions come from ``positions(index, g)`` (``(boxes, n_bins * g)``, ordered (bin, k)).

    ``clamp(t, index)``, when given, moves the positions before the bilinear kernel reads them
    (``t`` keeps the positions as placed); ``limits`` are the kernel's validity bounds.
    """
    per_bin = np.asarray(per_bin, dtype=np.int64)
    length = np.asarray(length, dtype=np.float64)

    def build(index, g):
        t = positions(index, g) if g else np.zeros((len(length[index]), 0))
        steps = sample_steps(t)
        if clamp is None:
            reading = Reading(t, length[index], *limits, steps=steps)
        else:
            reading = Reading(clamp(t, index), length[index], *limits, placed=t)
        return SampleAxis(t, reading, int(g), n_bins, (sampled[0][index], sampled[1][index]),
                          (edges[0][index], edges[1][index]), steps)

    if not len(per_bin) or per_bin.min() == per_bin.max():
        return build(slice(None), int(per_bin[0]) if len(per_bin) else 0)
    values = np.unique(per_bin)
    return SampleGroups([(np.flatnonzero(per_bin == g), build(np.flatnonzero(per_bin == g), int(g)))
                         for g in values], len(per_bin), n_bins)


def step_positions(start, step, n_bins, offset, order="factor"):
    """``positions`` for :func:`grouped_axis`: sample ``k`` of bin ``p`` at
    ``(start + p * step) + (k + offset) * (step / g)`` (``order="factor"``: OpenVINO, ROIAlign_TRT)
    or ``(start + p * step) + (step * (k + offset)) / g`` (``"product"``: PyramidROIAlign_TRT),
    in the dtype of ``start``, in exactly that order; sample-major in memory as
    :func:`roiloss.kernels.place_samples`."""
    dtype = start.dtype.type

    def positions(index, g):
        p = np.repeat(np.arange(n_bins), g).astype(dtype)[:, None]
        k = (np.tile(np.arange(g), n_bins).astype(dtype) + dtype(offset))[:, None]
        s, d = start[index][None, :], step[index][None, :]
        base = s + p * d
        if order == "factor":
            return (base + k * (d / dtype(g))).T
        return (base + (d * k) / dtype(g)).T
    return positions


def _crop_and_resize(lo, hi, bins, length, geometry: Geometry, matterport: bool):
    dtype = dtype_of(geometry)
    length = np.asarray(length, dtype=np.float64)
    known = np.isfinite(length)
    side = np.where(known, length * geometry.stride, 2.0)  # the model's image, a whole number of cells
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    if matterport:  # mrcnn/utils.py norm_boxes: float64 numpy, then float32 in the graph
        n1, n2 = (lo64 / (side - 1)).astype(dtype), ((hi64 - 1.0) / (side - 1)).astype(dtype)
        u1, u2 = lo64 / geometry.stride, (hi64 - 1.0) / geometry.stride  # the limit of a map without end
    else:  # TF Object Detection API: to_normalized_coordinates divides by the image size
        n1, n2 = lo64.astype(dtype) / side.astype(dtype), hi64.astype(dtype) / side.astype(dtype)
        u1, u2 = lo64 / geometry.stride, hi64 / geometry.stride
    last = np.where(known, length - 1, 0).astype(dtype)
    start = np.where(known, n1 * last, u1.astype(dtype))
    end = np.where(known, n2 * last, u2.astype(dtype))
    if bins > 1:
        scale = np.where(known, ((n2 - n1) * last) / dtype(bins - 1), (u2 - u1).astype(dtype) / dtype(bins - 1))
        t = (start[None, :] + np.arange(bins).astype(dtype)[:, None] * scale[None, :]).T
    else:  # 0.5 * (y1 + y2) * (H - 1): a double expression stored as float
        centre = np.where(known, 0.5 * (n1 + n2).astype(np.float64) * last, 0.5 * (u1 + u2))
        t = centre.astype(dtype)[:, None]
    reading = Reading(t, length, 0.0, -1.0)  # outside [0, M - 1]: the extrapolation value
    e0, e1 = start.astype(np.float64) + 0.5, end.astype(np.float64) + 0.5
    return SampleAxis(t, reading, 1, bins, (e0, e1), (e0 - 0.5, (e1 - e0) / bins))


def crop_and_resize(lo, hi, bins: int, length, geometry: Geometry) -> SampleAxis:
    """TensorFlow ``tf.image.crop_and_resize`` (bilinear) on boxes normalised as the TF Object
    Detection API normalises them (``x / W``, ``box_list_ops.to_normalized_coordinates``).

    Source: tensorflow/tensorflow ``tensorflow/core/kernels/image/crop_and_resize_op.cc`` @0983cbc9,
    ``CropAndResize<CPUDevice>``. With ``n = x / W`` (float32; ``W = M * s``, the model's image, a
    whole number of cells) and ``P > 1`` outputs: ``scale = ((n2 - n1) * (M - 1)) / (P - 1)``,
    output ``p`` samples ``t_p = n1 * (M - 1) + p * scale`` - both box edges are sampled, as
    align-corners; ``P = 1`` samples the centre ``0.5 * (n1 + n2) * (M - 1)`` (a double expression).
    One bilinear sample per output, no averaging; ``t < 0`` or ``t > M - 1`` gives the extrapolation
    value (0), never clamped. Unknown map size: ``t = x / s`` (the limit ``M -> inf``).
    """
    return _crop_and_resize(lo, hi, bins, length, geometry, matterport=False)


def crop_and_resize_matterport(lo, hi, bins: int, length, geometry: Geometry) -> SampleAxis:
    """:func:`crop_and_resize` on boxes normalised as Matterport Mask R-CNN's ``norm_boxes`` does
    (``mrcnn/utils.py``): ``n1 = x1 / (W - 1)``, ``n2 = (x2 - 1) / (W - 1)`` in float64, then
    float32 (``PyramidROIAlign`` in ``mrcnn/model.py`` calls ``tf.image.crop_and_resize`` on them).
    """
    return _crop_and_resize(lo, hi, bins, length, geometry, matterport=True)


def _hat_integral(u):
    """``F(u) = integral of max(0, 1 - |v|) dv from -inf to u``."""
    u = np.clip(u, -1.0, 1.0)
    return np.where(u < 0, 0.5 * (u + 1.0) ** 2, 1.0 - 0.5 * (1.0 - u) ** 2)


def prroipool(lo, hi, bins: int, length, geometry: Geometry) -> EntryAxis:
    """Precise RoI Pooling (Jiang et al., IoU-Net, ECCV 2018).

    Source: vacancy/PreciseRoIPooling ``src/prroi_pooling_gpu_impl.cu`` @83589281,
    ``PrRoIPoolingForward``. ``t0 = x1 * s``, ``t1 = x2 * s`` (no offset: cell ``j``'s value at
    ``t = j``), ``L = max(t1 - t0, 0)``, bin ``b = L / P``, bin ``p`` = ``[t0 + p*b, t0 + p*b + b)``.
    The output is the exact integral of the bilinear surface over the bin divided by its area, with
    zero padding outside the map (no clamping, no margin). Per axis the coefficient of cell ``j`` is
    ``(F(e - j) - F(a - j)) / b`` with ``F`` the integral of the hat ``max(0, 1 - |u|)``; cells off
    the map get nothing but the bin still divides by its whole area. ``b = 0`` outputs 0.
    """
    dtype = dtype_of(geometry)
    t0 = to_cells(lo, geometry.stride, geometry.arithmetic)
    t1 = to_cells(hi, geometry.stride, geometry.arithmetic)
    size = np.maximum(t1 - t0, dtype(0))
    b = size / dtype(bins)
    p = np.arange(bins).astype(dtype)
    a = t0[:, None] + b[:, None] * p[None, :]  # win_start = roi_start + bin_size * p (float)
    e = a + b[:, None]
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    n = len(t0)
    first = np.floor(a64).astype(np.int64)
    count = np.where(b[:, None] > 0, np.floor(e64).astype(np.int64) + 2 - first, 0)  # cells floor(a)..floor(e)+1
    count = np.minimum(count, np.int64(UNBOUNDED))
    flat = count.ravel()
    box = np.repeat(np.repeat(np.arange(n), bins), flat)
    bin_ = np.repeat(np.tile(np.arange(bins), n), flat)
    offset = np.arange(flat.sum()) - np.repeat(np.cumsum(flat) - flat, flat)
    cell = np.repeat(first.ravel(), flat) + offset
    lo_u, hi_u = np.repeat(a64.ravel(), flat) - cell, np.repeat(e64.ravel(), flat) - cell
    width = np.repeat(np.broadcast_to(b[:, None], a.shape).astype(np.float64).ravel(), flat)
    weight = (_hat_integral(hi_u) - _hat_integral(lo_u)) / np.where(width > 0, width, 1.0)
    on_map = (cell >= 0) & (cell < np.asarray(length, np.float64)[box])
    t064, size64 = t0.astype(np.float64), size.astype(np.float64)
    return EntryAxis(box[on_map], bin_[on_map], cell[on_map], weight[on_map], n, bins,
                     (t064 + 0.5, t064 + 0.5 + size64), (t064, b.astype(np.float64)))


def roipool_mmcv(lo, hi, bins: int, length, geometry: Geometry) -> WindowAxis:
    """mmcv ``RoIPool`` (mmdetection's ``SingleRoIExtractor(roi_layer=dict(type='RoIPool'))``).

    Source: open-mmlab/mmcv ``mmcv/ops/csrc/common/cuda/roi_pool_cuda_kernel.cuh`` @86d50f11 (CUDA
    only). It differs from Caffe/torchvision: no rounding of the box; ``t0 = x1 * s``,
    ``t1 = (x2 + 1) * s`` (one pixel added in image units), ``b = (t1 - t0) / P``; bin ``p`` reads
    cells ``[floor(p*b + t0), ceil((p+1)*b + t0))`` clipped to the map, max pooling; an empty
    window outputs 0. Windows overlap where the edges are not whole.
    """
    dtype = dtype_of(geometry)
    t0 = to_cells(lo, geometry.stride, geometry.arithmetic)
    one = dtype(1)
    t1 = (np.asarray(hi, dtype=dtype) + one) * dtype(1.0 / geometry.stride) if dtype is np.float32 \
        else (np.asarray(hi, np.float64) + 1.0) / geometry.stride
    size = t1 - t0
    b = size / dtype(bins)
    p = np.arange(bins).astype(dtype)
    start = np.floor(p[None, :] * b[:, None] + t0[:, None]).astype(np.int64)
    end = np.ceil((p[None, :] + one) * b[:, None] + t0[:, None]).astype(np.int64)
    end = np.where((size > 0)[:, None], end, start)  # roi_w <= 0: nothing written, output stays 0
    return WindowAxis(*clip_windows(start, end, np.minimum(np.asarray(length, np.float64), UNBOUNDED).astype(np.int64)))


def aligned_runtime(lo, hi, bins, length, geometry: Geometry, input_offset: float, offset: float):
    """RoI Align whose samples are ``(start + p*b) + (k + 0.5) * (b / g)`` (OpenVINO's reference
    and CPU kernels, ROIAlign_TRT), ``start = (x + input_offset) * s - offset``, no minimum size."""
    dtype = dtype_of(geometry)
    x1, x2 = np.asarray(lo, dtype=dtype), np.asarray(hi, dtype=dtype)
    scale = dtype(1.0 / geometry.stride) if dtype is np.float32 else 1.0 / geometry.stride
    start = (x1 + dtype(input_offset)) * scale - dtype(offset)
    end = (x2 + dtype(input_offset)) * scale - dtype(offset)
    size = end - start
    b = size / dtype(bins)
    per_bin = np.full(len(start), geometry.sampling_ratio) if geometry.sampling_ratio > 0 else np.ceil(b)
    s64 = start.astype(np.float64)
    return grouped_axis(per_bin, bins, length, step_positions(start, b, bins, 0.5, "factor"), (-1.0, 0.0),
                        (s64 + 0.5, s64 + 0.5 + size.astype(np.float64)), (s64, b.astype(np.float64)))


def roialign_openvino(lo, hi, bins: int, length, geometry: Geometry):
    """OpenVINO ``ROIAlign-9`` with ``aligned_mode = half_pixel``.

    Source: openvinotoolkit/openvino ``src/core/reference/include/openvino/reference/roi_align.hpp``
    @03ef9f12 (``ROIAlignOpDefPolicy``): ``t0 = (x1 + 0.5) * s - 0.5``, ``t1 = (x2 + 0.5) * s - 0.5``
    - the half pixel is added in *image* pixels before scaling, so the samples sit ``0.5 * s`` cells
    (half an input pixel) above ``roialign``'s; ``L = t1 - t0`` (no minimum), ``b = L / P``,
    ``g = sampling_ratio`` or ``ceil(b)``; sample ``k`` of bin ``p`` at
    ``(t0 + p*b) + (b / g) * (k + 0.5)``; kernel and averaging as ``roialign`` (valid on ``[-1, M]``,
    invalid samples counted). OpenVINO's other modes are other methods: ``asymmetric`` =
    ``roialign-legacy``, ``half_pixel_for_nn`` = ``roialign`` (tests/test_conformance_runtimes.py).
    """
    return aligned_runtime(lo, hi, bins, length, geometry, 0.5, 0.5)
