"""The frameworks' scalar arithmetic, vectorised: rounding, sample placement, the bilinear kernel.

Two arithmetics (``docs/semantics.md`` §9):

* ``float32`` reproduces the CPU kernels of torchvision (``csrc/ops/cpu/roi_align_kernel.cpp``,
  ``roi_pool_kernel.cpp``) and ONNX Runtime (``RoiAlign``, ``MaxRoiPool``) operation by
  operation: the box is a float32, ``x * float32(1 / stride)`` is a float32 product, bin sizes,
  the adaptive count ``ceil(width / pool)`` and every sample position
  ``start + p * bin + (k + 0.5) * bin / g`` are float32 expressions evaluated in that order. So
  every decision (which cell, how many samples, valid or not) equals theirs bit for bit.
* ``exact`` evaluates the same formulas in float64, the mathematics the papers state.

Positions ``t`` are index coordinates (cell ``j``'s value sits at ``t = j``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

F32 = np.float32


def cround(x: np.ndarray) -> np.ndarray:
    """C ``round()``: half away from zero (0.5 -> 1, 2.5 -> 3, -0.5 -> -1), as float64.

    For float32 ``x`` it is ``trunc(x + copysign(0.5, x))`` in float64, where that sum is exact (or,
    for ``|x| < 2 ** -30``, rounds to the same integer part); otherwise the fractional part decides.
    """
    x = np.asarray(x)
    if x.dtype == np.float32:
        wide = x.astype(np.float64)
        return np.trunc(wide + np.copysign(0.5, wide))
    whole = np.trunc(x)
    return (whole + np.copysign(np.abs(x - whole) >= 0.5, x)).astype(np.float64)


def to_cells(x: np.ndarray, stride: float, arithmetic: str) -> np.ndarray:
    """Image pixels -> feature units ``x / stride`` as the kernels compute it.

    ``float32``: ``float32(x) * float32(1 / stride)`` rounded to float32 (so ``23.5`` at stride 47
    is ``0.49999997``, not ``0.5``); ``exact``: ``x / stride`` in float64.
    """
    if arithmetic == "float32":
        return np.asarray(x, dtype=F32) * F32(1.0 / stride)
    return np.asarray(x, dtype=np.float64) / stride


def aligned_span(lo, hi, stride: float, bins: int, offset: float, min_size: float | None, arithmetic: str):
    """RoI Align's per-axis frame: ``start``, ``size``, ``bin_size`` and the adaptive sample count.

    ``start = x1 * scale - offset``, ``size = (x2 * scale - offset) - start`` (at least
    ``min_size`` when given), ``bin_size = size / bins``, adaptive ``g = ceil(size / bins)``.
    Arrays are float32 in ``float32`` arithmetic, float64 otherwise.
    """
    dtype = F32 if arithmetic == "float32" else np.float64
    off = dtype(offset)
    start = to_cells(lo, stride, arithmetic) - off
    size = (to_cells(hi, stride, arithmetic) - off) - start
    if min_size is not None:
        size = np.maximum(size, dtype(min_size))
    bin_size = size / dtype(bins)
    adaptive = np.ceil(size / dtype(bins))
    return start, size, bin_size, adaptive


def place_samples(start, bin_size, g: int, n_bins: int, placement: str) -> np.ndarray:
    """Sample positions ``t``, shape ``(boxes, bins * g)``, ordered (bin, k).

    ``centered`` (the frameworks): ``(start + p * bin) + ((k + 0.5) * bin) / g``, evaluated in the
    dtype of ``start`` in exactly that order; ``thirds`` (the article's figure):
    ``start + (p + (k + 1) / (g + 1)) * bin`` in float64. The array is sample-major in memory (a
    transposed view): each sample's positions over all boxes are contiguous, which makes the
    per-box reductions over samples of :mod:`roiloss.axis_stats` fast.
    """
    dtype = start.dtype
    if placement == "centered":
        corner = start[None, :] + np.arange(n_bins, dtype=dtype)[:, None] * bin_size[None, :]
        within = ((np.arange(g, dtype=dtype) + dtype.type(0.5))[:, None] * bin_size[None, :]) / dtype.type(g)
        return (corner[:, None, :] + within[None, :, :]).reshape(n_bins * g, -1).T
    if placement == "thirds":
        offsets = np.repeat(np.arange(n_bins), g) + (np.tile(np.arange(g), n_bins) + 1.0) / (g + 1.0)
        return (start.astype(np.float64)[None, :] + bin_size.astype(np.float64)[None, :] * offsets[:, None]).T
    raise ValueError(f"unknown sample placement {placement!r} (centered or thirds)")


def sample_steps(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per box, the smallest and the largest step between consecutive samples of ``t`` ``(boxes,
    samples)`` (0 and 0 for fewer than two samples; NaN where a position is NaN)."""
    step = t[:, 1:] - t[:, :-1]
    return step.min(axis=1, initial=0), step.max(axis=1, initial=0)


class Reading(NamedTuple):
    """What the bilinear kernel reads at each sample (:func:`read_bilinear`)."""

    valid: np.ndarray
    lo: np.ndarray
    frac: np.ndarray
    moved: np.ndarray  # boxes where some ``lo + frac`` differs from ``t`` (the kernel clamped a sample)


def read_bilinear(t, length, low_limit: float, high_offset: float, steps=None) -> Reading:
    """The frameworks' 1-D bilinear kernel on ``t`` ``(boxes, samples)``; ``length`` per box.

    A sample is valid only if ``low_limit <= t <= length + high_offset``; then ``t <= 0`` reads
    cell 0; ``lo = floor(t)``; at or past the last cell both neighbours are the last cell.
    Comparisons and ``frac = t - lo`` happen in ``t``'s precision. ``lo`` and ``frac`` are in
    ``t``'s precision and memory layout (``lo`` is whole and ``frac`` is exact there); ``frac`` is
    the weight on ``lo + 1``, and ``lo + frac`` is the position read, ``t`` itself except in the
    boxes ``moved``. ``steps``: :func:`sample_steps` of ``t`` when known (a box in order has its
    extremes at its ends).
    """
    # map lengths are whole numbers (or inf), so the limits are exact in t's precision too
    size = np.asarray(length, dtype=np.float64)
    high, last = (size + high_offset).astype(t.dtype), (size - 1).astype(t.dtype)
    # per-box extremes first: most boxes lie inside the map, and only the others need per-sample work
    # (the tests are negated so that a NaN position takes the per-sample path)
    if steps is None or t.shape[1] == 0:
        bottom, top = t.min(axis=1, initial=np.inf), t.max(axis=1, initial=-np.inf)
    else:
        bottom, top = t[:, 0].copy(), t[:, -1].copy()
        unordered = np.flatnonzero(~(steps[0] >= 0))
        if len(unordered):
            bottom[unordered], top[unordered] = t[unordered].min(axis=1), t[unordered].max(axis=1)
    valid = np.ones_like(t, dtype=bool)
    off = np.flatnonzero(~((bottom >= low_limit) & (top <= high)))
    if len(off):
        valid[off] = (t[off] >= low_limit) & (t[off] <= high[off, None])
    lo = np.floor(t)
    frac = t - lo
    low = np.flatnonzero(~(bottom >= 0))  # boxes with samples below 0: those read cell 0
    if len(low):
        tc = np.maximum(t[low], t.dtype.type(0))
        lo[low] = np.floor(tc)
        frac[low] = tc - lo[low]
    end = np.flatnonzero(~(np.maximum(top, 0) < last))  # boxes whose samples reach the last cell
    if len(end):
        at_end = lo[end] >= last[end, None]
        lo[end] = np.where(at_end, last[end, None], lo[end])
        frac[end] = np.where(at_end, 0, frac[end])
    moved = np.zeros(len(t), dtype=bool)
    moved[low] = moved[end] = True
    return Reading(valid, lo, frac, np.flatnonzero(moved))


def bilinear(t, length, low_limit: float, high_offset: float):
    """``valid, lo, frac`` of :func:`read_bilinear`."""
    return read_bilinear(t, length, low_limit, high_offset)[:3]


def clip_windows(start, end, length, ordered: bool = False):
    """Clip whole-cell windows ``(boxes, bins)`` to the map ``[0, length)``, in place (integer or float64
    arrays; a float ``length`` may be ``inf``). ``ordered``: each box's windows are in order (its
    lowest value is ``start[:, 0]``, its highest ``end[:, -1]``), so only the boxes past the map
    at either end are touched."""
    top = np.asarray(length)[:, None]
    if ordered:
        rows = np.flatnonzero((start[:, 0] < 0) | (end[:, -1] > top[:, 0]))
        if len(rows):
            start[rows], end[rows] = clip_windows(start[rows], end[rows], top[rows, 0])
        return start, end
    if min(start.min(initial=0), end.min(initial=0)) < 0:
        np.clip(start, 0, None, out=start)
        np.clip(end, 0, None, out=end)
    np.minimum(start, top, out=start)
    np.minimum(end, top, out=end)
    return start, end
