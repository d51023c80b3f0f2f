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


def sample_rows(values: np.ndarray, rows) -> np.ndarray:
    """``values[rows]`` for per-sample arrays, kept sample-major in memory (a transposed view)."""
    return np.take(values.T, rows, axis=1).T


class Reading:
    """What the frameworks' 1-D bilinear kernel reads at the samples ``t`` ``(boxes, samples)``,
    computed only where asked: at every sample (:meth:`full`), for some boxes (:meth:`rows`) or at
    one sample of every box (:meth:`sample`, cells only), each the same values bit for bit.

    A sample is valid only if ``low_limit <= t <= length + high_offset``; then ``t <= 0`` reads
    cell 0; ``lo = floor(t)``; at or past the last cell both neighbours are the last cell.
    Comparisons and ``frac = t - lo`` happen in ``t``'s precision. ``lo`` and ``frac`` are in
    ``t``'s precision and memory layout (``lo`` is whole and ``frac`` is exact there); ``frac`` is
    the weight on ``lo + 1``. ``length`` is per box (``inf``: no high edge).

    ``partial``: the boxes with an invalid sample (a NaN position is invalid); ``moved``: the boxes
    where the position read, ``lo + frac``, differs from the positions as placed somewhere: ``t``,
    or ``placed`` when the method moved them before the kernel read them (the kernel clamped a
    sample, or the method did). ``steps``, when known: per-box step bounds as in
    :class:`~roiloss.axis.SampleAxis` (a box in order has its extremes at its ends).
    """

    def __init__(self, t, length, low_limit: float, high_offset: float, steps=None, placed=None):
        self.t, self.low_limit = t, low_limit
        # map lengths are whole numbers (or inf), so the limits are exact in t's precision too
        size = np.asarray(length, dtype=np.float64)
        self.high, self.last = (size + high_offset).astype(t.dtype), (size - 1).astype(t.dtype)
        # per-box extremes first: most boxes lie inside the map, and only the others need
        # per-sample work (the tests are negated so that a NaN position takes that path)
        if steps is None or t.shape[1] == 0:
            bottom, top = t.min(axis=1, initial=np.inf), t.max(axis=1, initial=-np.inf)
        else:
            bottom, top = t[:, 0].copy(), t[:, -1].copy()
            unordered = np.flatnonzero(~(steps[0] >= 0))
            if len(unordered):
                bottom[unordered], top[unordered] = t[unordered].min(axis=1), t[unordered].max(axis=1)
        self.partial = np.flatnonzero(~((bottom >= low_limit) & (top <= self.high)))
        self._low = np.flatnonzero(~(bottom >= 0))  # boxes with samples below 0: those read cell 0
        self._end = np.flatnonzero(~(np.maximum(top, 0) < self.last))  # samples reaching the last cell
        clamped = np.zeros(len(t), dtype=bool)
        clamped[self._low] = clamped[self._end] = True
        self._clamped = np.flatnonzero(clamped)
        if placed is not None:
            clamped |= (t != placed).any(axis=1)
        self.moved = np.flatnonzero(clamped)
        self._full = None

    def full(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``valid, lo, frac`` at every sample."""
        if self._full is None:
            t = self.t
            valid = np.ones_like(t, dtype=bool)
            if len(self.partial):
                valid[self.partial] = self._kernel(t[self.partial], self.partial)[0]
            lo = np.floor(t)
            frac = t - lo
            if len(self._clamped):
                _, lo[self._clamped], frac[self._clamped] = self._kernel(t[self._clamped], self._clamped)
            self._full = valid, lo, frac
        return self._full

    def rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``valid, lo, frac`` of the boxes ``index``, sample-major like ``t``."""
        if self._full is not None:
            return tuple(sample_rows(v, index) for v in self._full)
        return self._kernel(sample_rows(self.t, index), index)

    def sample(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """``lo, frac`` of sample ``j`` of every box."""
        if self._full is not None:
            return self._full[1][:, j], self._full[2][:, j]
        t = self.t[:, j]
        lo = np.floor(t)
        frac = t - lo
        clamped = self._clamped
        if len(clamped):
            _, lo[clamped], frac[clamped] = (v[:, 0] for v in self._kernel(t[clamped, None], clamped))
        return lo, frac

    def _kernel(self, t, index):
        """The kernel sample by sample on the rows ``t`` of the boxes ``index``."""
        high, last = self.high[index, None], self.last[index, None]
        valid = (t >= self.low_limit) & (t <= high)
        position = np.maximum(t, t.dtype.type(0))
        lo = np.floor(position)
        frac = position - lo
        at_end = lo >= last
        return valid, np.where(at_end, last, lo), np.where(at_end, 0, frac)


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
