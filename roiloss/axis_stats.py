"""Per-box, one-axis statistics of the two axis shapes (docs/semantics.md §3.1), vectorised over boxes.

Support and mass have a per-box closed form where it is exact: the bins of a window axis are
contiguous, and so are the cells the samples of most sample axes read, less the cells skipped
between samples far apart (:func:`ordered_gaps`). Per-sample (per-bin) work remains for the inside
mass, as four sums of ramps over the positions (:func:`inside_mass`), and for the support of the
boxes whose samples fall off the map or are out of order (:func:`sample_support`).

Per-sample arrays are ``(boxes, samples)``; the axes lay them out sample-major in memory
(:func:`roiloss.kernels.place_samples`), so every reduction over a box's samples runs over
contiguous rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import sample_rows, sample_steps


@dataclass
class AxisStats:
    """Per-box, one-axis facts from which every 2-D metric is a product.

    ``support_len``: number of cells with a non-zero coefficient in some bin; ``support_overlap``:
    length of the RoI interval covered by those cells; ``mass``: sum of all coefficients (all bins);
    ``inside_mass``: the same, each coefficient times the fraction of its cell inside the RoI;
    ``empty_bins``: bins whose coefficients are all zero.
    """

    support_len: np.ndarray
    support_overlap: np.ndarray
    mass: np.ndarray
    inside_mass: np.ndarray
    empty_bins: np.ndarray

    def split(self, n: int) -> tuple[AxisStats, AxisStats]:
        """The first ``n`` boxes and the rest (views)."""
        values = [getattr(self, name) for name in STAT_FIELDS]
        return AxisStats(*(v[:n] for v in values)), AxisStats(*(v[n:] for v in values))


STAT_FIELDS = ("support_len", "support_overlap", "mass", "inside_mass", "empty_bins")


def interval_overlap(a0, a1, b0, b1) -> np.ndarray:
    """Length of the intersection of ``[a0, a1)`` and ``[b0, b1)``."""
    return np.maximum(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0)


def window_stats(start: np.ndarray, end: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> AxisStats:
    """Windows ``[start, end)`` ``(boxes, bins)`` of whole cells, each cell weighing ``1 / (end - start)``.

    The bins are contiguous, so the support is ``[first start, last end)``; a non-empty bin's
    coefficients sum to 1, and its inside mass is the share of its window inside the RoI."""
    start, end = start.astype(np.float64, copy=False), end.astype(np.float64, copy=False)
    n, bins = start.shape
    e0 = start[:, 0]
    e1 = np.maximum(end[:, -1], e0)
    length = end - start
    inside = np.minimum(end, r1[:, None])
    inside -= np.maximum(start, r0[:, None])
    np.clip(inside, 0.0, None, out=inside)
    filled = np.full(n, bins)
    short = np.flatnonzero(~(length.min(axis=1, initial=1.0) >= 1))  # boxes with empty windows (or NaN)
    if len(short):
        filled[short] = np.count_nonzero(length[short] > 0, axis=1)
        length[short] = np.maximum(length[short], 1.0)  # an empty window overlaps nothing
    inside /= length
    return AxisStats(support_len=e1 - e0, support_overlap=interval_overlap(e0, e1, r0, r1),
                     mass=filled.astype(np.float64), inside_mass=inside.sum(axis=1), empty_bins=bins - filled)


def sample_stats(t, reading, g: int, n_bins: int, r0: np.ndarray, r1: np.ndarray, steps=None) -> AxisStats:
    """Bins of ``g`` bilinear samples each: a valid sample at ``t`` puts ``1 - frac`` on cell ``lo``
    and ``frac`` on ``lo + 1``, an invalid one nothing, and each bin divides by ``g`` (``t``:
    ``(boxes, n_bins * g)``, ordered by bin and sample; ``valid``, ``lo``, ``frac`` from the
    kernel's :class:`~roiloss.kernels.Reading`, asked only for the boxes that need them).
    ``steps``: per-box step bounds as in :class:`~roiloss.axis.SampleAxis`, when known.

    Support: the samples of a box that are all valid and in order read the cells from the first
    sample's ``lo`` to the last one's top cell, less the cells skipped between consecutive samples
    (:func:`ordered_gaps`); the other boxes go through :func:`sample_support`. Mass: the valid
    samples over ``g``. Inside mass: :func:`inside_mass`.
    """
    n, count = t.shape
    partial = reading.partial  # boxes with samples off the map: those read nothing
    whole = np.ones(n, dtype=bool)
    whole[partial] = False
    first = reading.sample(0)[0].astype(np.float64)
    lo_last, frac_last = reading.sample(count - 1)
    last = lo_last + (frac_last > 0).astype(np.float64)
    support_len = last - first + 1.0
    support_overlap = interval_overlap(first, last + 1.0, r0, r1)
    # Samples in order read their cells in order (the kernel's clamping keeps the order and never
    # widens a step); steps of at most one cell skip no cell, so only longer steps need looking at.
    lowest, highest = sample_steps(t) if steps is None else steps
    ordered = whole & (lowest >= 0)
    ordered &= last < 2.0 ** (np.finfo(t.dtype).nmant + 1)  # top cell + 1 exact in t's precision
    far = np.flatnonzero(ordered & ~(highest <= 1))
    if len(far):
        _, far_lo, far_frac = reading.rows(far)
        skipped, skipped_overlap = ordered_gaps(far_lo, far_frac, r0[far], r1[far])
        support_len[far] -= skipped
        support_overlap[far] -= skipped_overlap
    rest = np.flatnonzero(~ordered)
    if len(rest):
        rest_valid, rest_lo, rest_frac = reading.rows(rest)
        f_lo, f_hi = cell_fractions(rest_lo, r0[rest], r1[rest])
        support_len[rest], support_overlap[rest] = sample_support(rest_lo, rest_frac * rest_valid, rest_valid, f_lo,
                                                                  f_hi)

    mass, empty = np.full(n, count / g), np.zeros(n, dtype=np.int64)
    if len(partial):
        sub_valid = reading.rows(partial)[0]
        mass[partial] = np.count_nonzero(sub_valid, axis=1) / g
        empty[partial] = n_bins - np.count_nonzero(sub_valid.reshape(-1, n_bins, g).any(axis=2), axis=1)
    return AxisStats(support_len, support_overlap, mass, inside_mass(t, reading, r0, r1) / g, empty)


def ordered_gaps(lo, frac, r0, r1) -> tuple[np.ndarray, np.ndarray]:
    """For valid samples in order, the cells skipped between consecutive samples: their number per
    box and their overlap with the RoI ``[r0, r1)``.

    Sample ``s`` reads cells ``lo_s`` to ``top_s = lo_s + [frac_s > 0]``; in order, the cells
    ``top_(s-1) + 1`` to ``lo_s - 1`` between two samples are read by none (``top + 1`` must be
    exact in ``lo``'s precision).
    """
    top = lo + (frac > 0)
    after = top[:, :-1] + 1  # first cell past each sample's top cell
    gap = lo[:, 1:] - after
    np.maximum(gap, 0, out=gap)
    skipped = gap.sum(axis=1, dtype=np.float64)
    overlap = np.zeros(len(lo))
    gapped = np.flatnonzero(skipped > 0)
    if len(gapped):  # [after, lo) per pair, in float64 against the RoI
        begin, stop = sample_rows(after, gapped).astype(np.float64), sample_rows(lo[:, 1:], gapped).astype(np.float64)
        np.maximum(begin, r0[gapped, None], out=begin)
        np.minimum(stop, r1[gapped, None], out=stop)
        stop -= begin
        np.maximum(stop, 0.0, out=stop)
        overlap[gapped] = stop.sum(axis=1)
    return skipped, overlap


def inside_mass(t, reading, r0, r1) -> np.ndarray:
    """Per box, the sum over its valid samples of ``(1 - frac) f(lo) + frac f(lo + 1)``, where ``f(c)``
    is the fraction of cell ``c`` (``[c, c + 1)``) inside the RoI ``[r0, r1)`` and ``valid``, ``lo``,
    ``frac`` are the kernel's :class:`~roiloss.kernels.Reading` of the samples ``t``.

    With ``a = floor(r0)`` and ``b = floor(r1)``, ``f`` is a sum of four steps,
    ``f(c) = f_a [c >= a] + (1 - f_a) [c >= a + 1] - (1 - f_b) [c >= b] - f_b [c >= b + 1]`` with
    ``f_a = a + 1 - r0``, ``f_b = r1 - b`` (this also gives ``r1 - r0`` when both edges cut one
    cell), and the bilinear reading of the step ``[c >= k + 1]`` at position ``p = lo + frac`` is
    the ramp ``clip(p - k, 0, 1)``. So the inside mass is four per-box sums of ramps over the
    samples, each ramp exact in the samples' precision (``p - k`` is exact there for whole ``k``
    below ``2 ** 23`` in float32, ``2 ** 52`` in float64, and ``p >= 0``); the sums are exact in
    float64 for float32 samples. The ramps read ``t`` itself, which is where the kernel reads in
    every box but those it ``moved`` and those with invalid samples; those boxes go again from
    what the kernel read. Boxes past the ramps' range go cell by cell (:func:`cell_fractions`).
    """
    steps, ramps = _edge_steps(r0, r1, t.dtype)
    total = _ramp_sums(t, steps)
    redo = reading.moved
    if len(reading.partial):
        marked = np.zeros(len(t), dtype=bool)
        marked[redo] = marked[reading.partial] = True
        redo = np.flatnonzero(marked)
    if len(redo):
        valid, lo, frac = reading.rows(redo)
        position = np.where(valid, lo + frac, t.dtype.type(-np.inf))  # invalid samples read nothing
        total[redo] = _ramp_sums(position, [(k[redo], weight[redo]) for k, weight in steps])
    total[r0 >= r1] = 0.0  # an empty or inverted RoI holds nothing
    other = np.flatnonzero(~ramps & (r0 < r1))
    if len(other):
        valid, lo, frac = reading.rows(other)
        total[other] = _inside_by_cells(lo, frac, valid, r0[other], r1[other])
    return total


def _edge_steps(r0, r1, dtype) -> tuple[list, np.ndarray]:
    """The four steps of :func:`inside_mass` as (ramp origin ``k``, weight) per box, and the boxes
    whose ``k`` are exact in ``dtype`` (the others have ``k = 0`` here and go cell by cell)."""
    a, b = np.floor(r0), np.floor(r1)
    f_a, f_b = a + 1.0 - r0, r1 - b
    limit = 2.0 ** np.finfo(dtype).nmant  # whole numbers below it are exact in the samples' precision
    ramps = (np.abs(a) < limit) & (np.abs(b) < limit)
    if not ramps.all():
        a, b = np.where(ramps, a, 0.0), np.where(ramps, b, 0.0)
    return [(a - 1.0, f_a), (a, 1.0 - f_a), (b - 1.0, f_b - 1.0), (b, -f_b)], ramps


def _ramp_sums(position, steps) -> np.ndarray:
    """``sum_k weight_k * sum_s clip(position_s - k, 0, 1)`` per box (ramps in the positions'
    precision, sums in float64).

    float32 positions sum ``clip(position_s, k, k + 1)`` instead, less ``k`` per sample (a max and a
    min against per-box bounds run faster here than a subtraction and a clip), with the same value:
    a position ``p >= 0`` clipped to ``[k, k + 1]`` is ``k + 1`` when ``k < 0`` and its ramp when
    ``k = 0``; for ``k >= 1`` the clipped positions are multiples of float32's spacing at ``k`` and
    at most ``2 k``, so their float64 sum is exact, as is the ramps'; an invalid sample (``-inf``)
    gives ``k``, no ramp. (Boxes with a sample below 0 are summed again from what the kernel read:
    :func:`inside_mass`.)
    """
    dtype = position.dtype.type
    ramp = np.empty_like(position)
    total = np.zeros(len(position))
    samples = position.shape[1]
    for k, weight in steps:
        low = k.astype(dtype)[:, None]
        if dtype is np.float32:
            np.maximum(position, low, out=ramp)
            np.minimum(ramp, low + dtype(1), out=ramp)
            total += weight * (np.add.reduce(ramp, axis=1, dtype=np.float64) - samples * k)
        else:
            np.subtract(position, low, out=ramp)
            np.clip(ramp, dtype(0), dtype(1), out=ramp)
            total += weight * np.add.reduce(ramp, axis=1, dtype=np.float64)
    return total


def _inside_by_cells(lo, frac, valid, r0, r1) -> np.ndarray:
    """:func:`inside_mass` sample by sample, from the fractions of its two cells in float64."""
    f_lo, f_hi = cell_fractions(lo, r0, r1)
    f_lo *= valid
    f_hi *= valid
    f_hi -= f_lo  # per sample (1 - frac) f_lo + frac f_hi, frac exact in float64
    f_hi *= frac
    f_lo += f_hi
    return f_lo.sum(axis=1)


def cell_fractions(lo, r0, r1) -> tuple[np.ndarray, np.ndarray]:
    """The fraction inside the RoI ``[r0, r1)`` of cells ``lo`` and ``lo + 1`` per sample, in float64:
    ``f(c) = G(c + 1) - G(c)`` with ``G(x) = min(max(x, r0), r1)``."""
    r0, r1 = r0[:, None], r1[:, None]
    edge = lo.astype(np.float64)
    below = np.maximum(edge, r0)
    np.minimum(below, r1, out=below)  # G(lo)
    edge += 1.0
    middle = np.maximum(edge, r0)
    np.minimum(middle, r1, out=middle)  # G(lo + 1)
    edge += 1.0
    np.maximum(edge, r0, out=edge)
    np.minimum(edge, r1, out=edge)  # G(lo + 2)
    np.subtract(middle, below, out=below)
    np.subtract(edge, middle, out=edge)
    return below, edge


def sample_support(lo, w_hi, valid, f_lo, f_hi) -> tuple[np.ndarray, np.ndarray]:
    """Support length and RoI overlap of sample axes cell by cell, for boxes whose samples leave gaps
    between the cells they read or fall off the map (``w_hi``: the weight on ``lo + 1``, zero for
    invalid samples; ``f_lo``, ``f_hi``: the fraction of cells ``lo`` and ``lo + 1`` in the RoI)."""
    if lo.shape[1] > 1 and (lo[:, 1:] < lo[:, :-1]).any():
        # an inverted box (e.g. a 1-px box that crop-and-resize-mrcnn's x2 - 1 turns around)
        # places its samples high to low: the run logic below needs them by position
        order = np.argsort(lo + w_hi, axis=1, kind="stable")
        lo, valid, w_hi, f_lo, f_hi = (np.take_along_axis(a, order, axis=1) for a in (lo, valid, w_hi, f_lo, f_hi))
    lo = lo.astype(np.float64)  # lo + 1 must stay exact beyond float32's whole numbers
    reads_hi = w_hi > 0
    # Samples are sorted by position and the valid ones form one run (validity is an interval of
    # t), so the cells already read are exactly those up to the previous valid sample's top cell:
    # a cell counts only when it is above that.
    top = lo + reads_hi
    prev_top = np.full(top.shape, -1.0)
    prev_top[:, 1:] = np.where(valid[:, :-1], top[:, :-1], -1.0)
    new_lo = (lo > prev_top) & valid
    new_hi = reads_hi & (top > prev_top)
    cells = new_lo.view(np.int8) + new_hi.view(np.int8)
    return cells.sum(axis=1, dtype=np.float64), (new_lo * f_lo + new_hi * f_hi).sum(axis=1)
