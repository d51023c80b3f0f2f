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

import numpy as np

F32 = np.float32


def cround(x: np.ndarray) -> np.ndarray:
    """C ``round()``: half away from zero (0.5 -> 1, 2.5 -> 3, -0.5 -> -1), in ``x``'s precision."""
    x = np.asarray(x)
    whole = np.trunc(x)
    return (whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0)).astype(np.float64)


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
    ``start + (p + (k + 1) / (g + 1)) * bin`` in float64.
    """
    dtype = start.dtype
    p = np.repeat(np.arange(n_bins), g).astype(dtype)
    k = np.tile(np.arange(g), n_bins).astype(dtype)
    if placement == "centered":
        half = (k + dtype.type(0.5))[None, :]
        return (start[:, None] + p[None, :] * bin_size[:, None]) + (half * bin_size[:, None]) / dtype.type(g)
    if placement == "thirds":
        offsets = p.astype(np.float64) + (k.astype(np.float64) + 1.0) / (g + 1.0)
        return start.astype(np.float64)[:, None] + bin_size.astype(np.float64)[:, None] * offsets[None, :]
    raise ValueError(f"unknown sample placement {placement!r} (centered or thirds)")


def bilinear(t, length, low_limit: float, high_offset: float):
    """The frameworks' 1-D bilinear kernel on ``t`` ``(boxes, samples)``; ``length`` per box.

    A sample is valid only if ``low_limit <= t <= length + high_offset``; then ``t <= 0`` reads
    cell 0; ``lo = floor(t)``; at or past the last cell both neighbours are the last cell.
    Comparisons and ``frac = t - lo`` happen in ``t``'s precision. Returns ``valid, lo, frac``
    (float64 arrays; ``frac`` is the weight on ``lo + 1``).
    """
    # map lengths are whole numbers (or inf), so the limits are exact in t's precision too:
    # comparing in that precision avoids converting every sample to float64 first
    size = np.asarray(length, dtype=np.float64)[:, None]
    high, last = (size + high_offset).astype(t.dtype), (size - 1).astype(t.dtype)
    valid = (t >= low_limit) & (t <= high)
    tc = np.maximum(t, t.dtype.type(0))
    lo = np.floor(tc)
    frac = (tc - lo).astype(np.float64)
    at_end = lo >= last
    if at_end.any():  # only boxes reaching the map's last cell: most chunks skip this
        lo = np.where(at_end, last, lo)
        frac[at_end] = 0.0
    return valid, lo.astype(np.float64), frac


def clip_windows(start, end, length):
    """Clip integer windows to the map ``[0, length)``."""
    top = length[:, None]
    start = np.minimum(np.maximum(start, 0), top)
    end = np.minimum(np.maximum(end, 0), top)
    return start, end
