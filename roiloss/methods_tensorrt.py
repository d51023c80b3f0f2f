"""TensorRT's RoI plugins as per-axis functions (docs/semantics.md §2.15, §2.16, §7.4).

Sources (NVIDIA/TensorRT): ``plugin/roiAlignPlugin/roiAlignKernel.cu`` @6d178ce8 (``ROIAlign_TRT``)
and ``plugin/common/kernels/maskRCNNKernels.cu`` @d3107c88, ``roiAlign_kernel`` with
``plugin/pyramidROIAlignPlugin/pyramidROIAlignPlugin.cpp`` @771d8efd (``PyramidROIAlign_TRT``).
TensorRT runs on GPUs only; these are transcriptions, checked by hand-computed cases
(tests/test_tensorrt.py), not against the runtime.
"""

from __future__ import annotations

import numpy as np

from .geometry import Geometry
from .methods_runtimes import aligned_runtime, dtype_of, grouped_axis, step_positions

# roi_coords_transform -> (input offset, sampling offset); -1 is the legacy align-corners mode
TRANSFORMS = {0: (0.0, 0.0), 1: (0.0, 0.5), 2: (0.5, 0.5), -1: (0.0, 0.0)}


def roialign_tensorrt(lo, hi, bins: int, length, geometry: Geometry):
    """TensorRT ``ROIAlign_TRT`` with its defaults (``coordinate_transformation_mode = 1``, half pixel;
    ``mode = 1``, average).

    ``t0 = x1 * s - 0.5``, ``t1 = x2 * s - 0.5``, ``L = t1 - t0`` (no minimum), ``b = L / P``,
    ``g = sampling_ratio`` or ``ceilf(L / P)``; sample ``k`` of bin ``p`` at
    ``(t0 + p*b) + (k + 0.5) * (b / g)`` (torchvision and ONNX Runtime compute ``((k + 0.5) * b) / g``:
    the same point up to float32 rounding); bilinear kernel valid on ``[-1, M]``, average over the
    ``g_y * g_x`` samples. **Zero-size boxes**: where ``L`` is 0 in float32 and ``g`` is adaptive,
    ``g = 0`` and the plugin divides by ``count = 0`` without torchvision's ``max(count, 1)``: every
    bin outputs NaN (0/0) where the ONNX kernels output 0. roiloss gives such a bin no
    coefficients (it reads nothing).
    """
    return aligned_runtime(lo, hi, bins, length, geometry, 0.0, 0.5)


def normalised(x, length, stride, dtype):
    """The plugin's normalised, clamped coordinate ``clamp(x / W, 0, 1)`` (``W = M * s``), float32."""
    side = np.asarray(length, np.float64) * stride
    return np.clip(np.asarray(x, dtype=dtype) / side.astype(dtype), dtype(0), dtype(1))


def pyramid_axis(lo, hi, bins, length, geometry: Geometry, transform: int):
    """``roiAlign_kernel`` of ``PyramidROIAlign_TRT`` on one axis, for one ``roi_coords_transform``.

    The box arrives normalised (``roi_coords_absolute = 0`` in NVIDIA's Detectron2 sample) and is
    clamped to ``[0, 1]`` (the image, ``W = M * s``). Transforms 0, 1, 2: ``start = n1 * M - i``,
    ``end = n2 * M - i``, ``d = (end - start) / P``; transform -1 (legacy): ``start = n1 * (M - 1)``,
    ``end = n2 * (M - 1)``, ``d = (end - start) / (P - 1)``. ``g = sampling_ratio`` or
    ``max(1, ceilf((end - start) / P))``; sample ``k`` of bin ``p`` at
    ``(start + d*p) + (d * (k + o)) / g``, then **clamped into the map** ``[0, M - 1]`` - every sample
    reads the map, none is ever invalid - and read bilinearly; average over ``g_y * g_x``.
    ``(i, o)`` = (0, 0) transform 0 (samples at bin corners), (0, 0.5) transform 1, (0.5, 0.5)
    transform 2. Unknown map size: ``n * M`` is taken as ``x * s`` and only the low clamp applies.
    """
    dtype = dtype_of(geometry)
    length = np.asarray(length, np.float64)
    known = np.isfinite(length)
    inner, offset = TRANSFORMS[transform]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        n1 = normalised(lo, np.where(known, length, 1.0), geometry.stride, dtype)
        n2 = normalised(hi, np.where(known, length, 1.0), geometry.stride, dtype)
        scale = dtype(1.0 / geometry.stride)
        raw1, raw2 = np.asarray(lo, dtype) * scale, np.asarray(hi, dtype) * scale
        m = length.astype(dtype)
        if transform == -1:
            start = np.where(known, n1 * (m - dtype(1)), raw1)
            end = np.where(known, n2 * (m - dtype(1)), raw2)
            step = (end - start) / dtype(bins - 1) if bins > 1 else (end - start) / dtype(0)
        else:
            start = np.where(known, n1 * m, raw1) - dtype(inner)
            end = np.where(known, n2 * m, raw2) - dtype(inner)
            step = (end - start) / dtype(bins)
        if geometry.sampling_ratio > 0:
            per_bin = np.full(len(start), geometry.sampling_ratio)
        else:
            per_bin = np.maximum(1, np.ceil((end - start) / dtype(bins)))
    top = np.where(known, length - 1, np.inf)

    def clamp(t, index):  # min(max(t, 0), M - 1); CUDA's fmaxf/fminf drop a NaN operand
        return np.fmin(np.fmax(t, t.dtype.type(0)), top[index][:, None].astype(t.dtype))

    positions = step_positions(start, step, bins, offset, "product")

    def placed(index, g):
        with np.errstate(invalid="ignore", over="ignore"):
            return positions(index, g)

    s64, e64 = start.astype(np.float64), end.astype(np.float64)
    return grouped_axis(per_bin, bins, length, placed, (-np.inf, np.inf), (s64 + 0.5, e64 + 0.5),
                        (s64, (e64 - s64) / bins), clamp=clamp)


def trt_pyramid_half_pixel(lo, hi, bins: int, length, geometry: Geometry):
    """``PyramidROIAlign_TRT`` with ``roi_coords_transform = 2`` (half pixel; the plugin's default and
    what NVIDIA's Detectron2 sample, ``samples/python/detectron2/create_onnx.py`` @771d8efd, maps
    Detectron2's ``ROIAlignV2`` to): ``start = n1 * M - 0.5``, samples at ``(k + 0.5) / g`` of each
    bin, clamped into the map. See :func:`pyramid_axis`."""
    return pyramid_axis(lo, hi, bins, length, geometry, 2)


def trt_pyramid_output_half_pixel(lo, hi, bins: int, length, geometry: Geometry):
    """``PyramidROIAlign_TRT`` with ``roi_coords_transform = 1`` (output half pixel):
    ``start = n1 * M``, samples at ``(k + 0.5) / g`` of each bin (no minimum size), clamped into the
    map. See :func:`pyramid_axis`."""
    return pyramid_axis(lo, hi, bins, length, geometry, 1)


def trt_pyramid_no_offset(lo, hi, bins: int, length, geometry: Geometry):
    """``PyramidROIAlign_TRT`` with ``roi_coords_transform = 0`` (no half pixel; what NVIDIA's
    Detectron2 sample maps Detectron2's ``ROIAlign`` to): ``start = n1 * M``, samples at ``k / g`` of
    each bin - the first sample on the bin's corner -, clamped into the map. See :func:`pyramid_axis`."""
    return pyramid_axis(lo, hi, bins, length, geometry, 0)


def trt_pyramid_align_corners(lo, hi, bins: int, length, geometry: Geometry):
    """``PyramidROIAlign_TRT`` with ``roi_coords_transform = -1`` (the legacy UFF Mask R-CNN mode):
    ``start = n1 * (M - 1)``, ``d = (end - start) / (P - 1)``, samples at ``start + d*p + d*k/g``
    (corner aligned, like ``crop_and_resize``), clamped into the map. ``P = 1`` divides by zero;
    the NaN positions clamp to cell 0, as CUDA's ``fmaxf`` does. See :func:`pyramid_axis`."""
    return pyramid_axis(lo, hi, bins, length, geometry, -1)


def tensorrt_levels(x1, y1, x2, y2, image_w, image_h, levels, canonical_scale, canonical_level, dtype):
    """``PyramidROIAlign_TRT``'s level: boxes normalised by the image and clamped to ``[0, 1]``,
    ``hw = (n_y2 - n_y1) * (n_x2 - n_x1)``; ``firstThreshold = normScale^2 / 4`` with
    ``normScale = sqrtf(s0^2 / (H * W))``; the level rises by one for each of ``hw > T``,
    ``hw > 4T``, ``hw > 16T`` (strictly greater: a 112 x 112 box stays on P2, 224 x 224 on P3,
    448 x 448 on P4). With other levels than 2-5 the first threshold is ``T * 4^(k_min + 1 - 3)``
    relative to the canonical level ``k0`` (``s0`` px at ``k0``), as FPN's equation puts it."""
    if image_w is None or image_h is None:
        raise ValueError("the tensorrt mapper needs the model's image size (image_w, image_h)")
    big_w, big_h = np.asarray(image_w, np.float64), np.asarray(image_h, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        nx1, nx2 = (np.clip(v / big_w.astype(dtype), dtype(0), dtype(1)) for v in (x1, x2))
        ny1, ny2 = (np.clip(v / big_h.astype(dtype), dtype(0), dtype(1)) for v in (y1, y2))
        hw = (ny2 - ny1) * (nx2 - nx1)
        s0 = dtype(canonical_scale)
        norm = np.sqrt(s0 * s0 / (big_h * big_w).astype(dtype))
        first = norm * norm * dtype(4.0 ** (levels[0] + 1 - canonical_level))
        k = np.full(hw.shape, float(levels[0]))
        for step in range(len(levels) - 1):
            k += hw > first * dtype(4.0 ** step)
    return np.where(np.isfinite(hw), k, np.nan)
