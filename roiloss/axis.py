"""One axis of an RoI operator: box edges -> feature cells and coefficients per output bin.

Every operator roiloss knows is separable: what it does along x does not depend on y. So each
method is written once, for one axis, vectorised over all boxes, and every 2-D result (metrics,
grid, figures) is built from an x axis and a y axis.

Two shapes of result cover the methods:

* :class:`WindowAxis` - each bin reads a window of whole cells ``[start, end)``; each cell of the
  window carries ``1 / (end - start)`` (the RoI Pool family).
* :class:`SampleAxis` - each bin averages ``g`` bilinear samples; the coefficient of a cell is the
  sum of its bilinear weights over the bin's samples divided by ``g`` (the RoI Align/Warp family).

Units: positions ``t`` are in the frameworks' *index* coordinates (cell ``j``'s value sits at
``t = j``); cell ``j`` covers ``[j, j + 1)`` in feature-area units ``u = t + 0.5``.
A map length of ``inf`` means the image size is unknown: no high-edge rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cround(x: np.ndarray) -> np.ndarray:
    """C ``round()``: half away from zero (0.5 -> 1, 2.5 -> 3, -0.5 -> -1)."""
    x = np.asarray(x, dtype=np.float64)
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0.0)


def cell_overlap(cell: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> np.ndarray:
    """Length of ``[cell, cell + 1)`` inside ``[r0, r1)`` (feature-area units)."""
    return interval_overlap(cell, cell + 1.0, r0, r1)


def interval_overlap(a0, a1, b0, b1) -> np.ndarray:
    """Length of the intersection of ``[a0, a1)`` and ``[b0, b1)``."""
    return np.maximum(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0)


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


@dataclass
class AxisEntries:
    """The non-zero coefficients of one axis in long form: box index, bin, cell, weight."""

    box: np.ndarray
    bin: np.ndarray
    cell: np.ndarray
    weight: np.ndarray


@dataclass
class WindowAxis:
    """Bins that read whole-cell windows ``[start, end)`` (already clipped to the map).

    ``start``/``end`` have shape ``(boxes, bins)``; a window with ``end <= start`` is empty.
    ``sampled`` is the pair ``(e0, e1)``: the interval the method really reads.
    """

    start: np.ndarray
    end: np.ndarray

    @property
    def bins(self) -> int:
        return self.start.shape[1]

    @property
    def sampled(self) -> tuple[np.ndarray, np.ndarray]:
        """Union of the windows; bins are contiguous, so it is ``[first start, last end)``."""
        return self.start[:, 0].astype(float), np.maximum(self.end[:, -1], self.start[:, 0]).astype(float)

    def stats(self, r0: np.ndarray, r1: np.ndarray) -> AxisStats:
        length = self.end - self.start
        filled = length > 0
        e0, e1 = self.sampled
        support_len = e1 - e0
        overlap = interval_overlap(self.start, self.end, r0[:, None], r1[:, None])
        inside = np.where(filled, overlap / np.where(filled, length, 1), 0.0)
        return AxisStats(
            support_len=support_len,
            support_overlap=interval_overlap(e0, e1, r0, r1),
            mass=filled.sum(axis=1).astype(float),
            inside_mass=inside.sum(axis=1),
            empty_bins=(~filled).sum(axis=1),
        )

    def entries(self) -> AxisEntries:
        n_boxes, n_bins = self.start.shape
        length = np.maximum(self.end - self.start, 0).ravel()
        box = np.repeat(np.repeat(np.arange(n_boxes), n_bins), length)
        bin_ = np.repeat(np.tile(np.arange(n_bins), n_boxes), length)
        first = np.repeat(self.start.ravel(), length)
        offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
        weight = np.repeat(1.0 / np.where(length > 0, length, 1), length)
        return AxisEntries(box=box, bin=bin_, cell=first + offset, weight=weight)

    def bin_rows(self) -> dict[str, np.ndarray]:
        """Per (box, bin): the window ``[lo, hi)`` and the cells it reads (its "samples")."""
        n_boxes, n_bins = self.start.shape
        count = np.maximum(self.end - self.start, 0).ravel()
        return {"box": np.repeat(np.arange(n_boxes), n_bins), "bin": np.tile(np.arange(n_bins), n_boxes),
                "lo": self.start.ravel().astype(float), "hi": np.maximum(self.end, self.start).ravel().astype(float),
                "samples": count, "valid": count}

    def sample_rows(self) -> dict[str, np.ndarray]:
        """Max pooling reads every cell of its window at the cell's centre: one "sample" per cell."""
        e = self.entries()
        first = np.ones(len(e.box), dtype=bool)
        first[1:] = (e.box[1:] != e.box[:-1]) | (e.bin[1:] != e.bin[:-1])
        starts = np.flatnonzero(first)
        run = np.diff(np.append(starts, len(e.box)))
        k = np.arange(len(e.box)) - np.repeat(starts, run)
        return {"box": e.box, "bin": e.bin, "k": k, "pos": e.cell + 0.5, "valid": np.ones(len(e.box), dtype=bool),
                "cell": e.cell.astype(float), "weight": np.ones(len(e.box))}


@dataclass
class SampleAxis:
    """Bins that average bilinear samples, stored flat, ordered by (box, bin, sample).

    Per sample: ``box``, ``bin``, ``k`` (index in the bin), ``t`` (index coordinate as placed,
    before any clamping), ``valid``, the two cells ``lo``/``hi`` it reads and their bilinear weights
    ``w_lo``/``w_hi`` (both 0 for an invalid sample). Per box: ``per_bin`` samples in every bin (the
    divisor of the average, at least 1), ``n_bins`` bins, ``sampled`` ``(e0, e1)``, the interval
    the method really samples, and ``bin_edges`` ``(boxes, bins + 1)``, both in feature-area units.
    """

    box: np.ndarray
    bin: np.ndarray
    k: np.ndarray
    t: np.ndarray
    valid: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    w_lo: np.ndarray
    w_hi: np.ndarray
    per_bin: np.ndarray
    n_bins: int
    sampled: tuple[np.ndarray, np.ndarray]
    bin_edges: np.ndarray

    @property
    def bins(self) -> int:
        return self.n_bins

    def stats(self, r0: np.ndarray, r1: np.ndarray) -> AxisStats:
        n_boxes = len(self.per_bin)
        divisor = np.maximum(self.per_bin, 1)[self.box]
        box_r0, box_r1 = r0[self.box], r1[self.box]
        f_lo = cell_overlap(self.lo.astype(float), box_r0, box_r1)
        f_hi = cell_overlap(self.hi.astype(float), box_r0, box_r1)

        # Samples are sorted by position within a box and valid ones form one run (validity is an
        # interval of t), so the cells already read are exactly those up to the previous valid
        # sample's top cell: count a cell only when it is above that.
        top = np.where(self.w_hi > 0, self.hi, self.lo)
        prev_top = np.full_like(top, -1)
        same = np.zeros(len(top), dtype=bool)
        same[1:] = (self.box[1:] == self.box[:-1]) & self.valid[:-1]
        prev_top[1:] = np.where(same[1:], top[:-1], -1)
        new_lo = self.valid & (self.lo > prev_top)
        new_hi = self.valid & (top > self.lo) & (top > prev_top)

        def per_box(values):
            return np.bincount(self.box, weights=values, minlength=n_boxes)

        bin_id = self.box * self.n_bins + self.bin
        valid_in_bin = np.bincount(bin_id, weights=self.valid, minlength=n_boxes * self.n_bins)
        return AxisStats(
            support_len=per_box(new_lo.astype(float) + new_hi),
            support_overlap=per_box(new_lo * f_lo + new_hi * f_hi),
            mass=per_box((self.w_lo + self.w_hi) / divisor),
            inside_mass=per_box((self.w_lo * f_lo + self.w_hi * f_hi) / divisor),
            empty_bins=(valid_in_bin.reshape(n_boxes, self.n_bins) == 0).sum(axis=1),
        )

    def bin_rows(self) -> dict[str, np.ndarray]:
        """Per (box, bin): its extent ``[lo, hi)``, its samples and how many of them are valid."""
        n_boxes = len(self.per_bin)
        valid = np.bincount(self.box * self.n_bins + self.bin, weights=self.valid, minlength=n_boxes * self.n_bins)
        return {"box": np.repeat(np.arange(n_boxes), self.n_bins), "bin": np.tile(np.arange(self.n_bins), n_boxes),
                "lo": self.bin_edges[:, :-1].ravel(), "hi": self.bin_edges[:, 1:].ravel(),
                "samples": np.repeat(self.per_bin, self.n_bins), "valid": valid.astype(np.int64)}

    def sample_rows(self) -> dict[str, np.ndarray]:
        """One row per (sample, neighbouring cell with a non-zero weight); an invalid sample keeps one
        row with no cell (NaN) and weight 0."""
        second = self.valid & (self.w_hi > 0) & (self.hi != self.lo)
        index = np.concatenate([np.arange(len(self.box)), np.flatnonzero(second)])
        is_second = np.concatenate([np.zeros(len(self.box), dtype=bool), np.ones(second.sum(), dtype=bool)])
        order = np.lexsort((is_second, index))
        index, is_second = index[order], is_second[order]
        cell = np.where(is_second, self.hi[index], self.lo[index]).astype(float)
        valid = self.valid[index]
        return {"box": self.box[index], "bin": self.bin[index], "k": self.k[index], "pos": self.t[index] + 0.5,
                "valid": valid, "cell": np.where(valid, cell, np.nan),
                "weight": np.where(is_second, self.w_hi[index], self.w_lo[index])}

    def entries(self) -> AxisEntries:
        """Coefficients per (box, bin, cell), duplicates summed, zeros dropped."""
        divisor = np.maximum(self.per_bin, 1)[self.box]
        box = np.concatenate([self.box, self.box])
        bin_ = np.concatenate([self.bin, self.bin])
        cell = np.concatenate([self.lo, self.hi])
        weight = np.concatenate([self.w_lo, self.w_hi]) / np.concatenate([divisor, divisor])
        keep = weight > 0
        box, bin_, cell, weight = box[keep], bin_[keep], cell[keep], weight[keep]
        order = np.lexsort((cell, bin_, box))
        box, bin_, cell, weight = box[order], bin_[order], cell[order], weight[order]
        first = np.ones(len(box), dtype=bool)
        first[1:] = (box[1:] != box[:-1]) | (bin_[1:] != bin_[:-1]) | (cell[1:] != cell[:-1])
        starts = np.flatnonzero(first)
        summed = np.add.reduceat(weight, starts) if len(starts) else weight[:0]
        return AxisEntries(box=box[starts], bin=bin_[starts], cell=cell[starts], weight=summed)


# --- building blocks shared by the sample methods -------------------------------------------


def bin_edges(start, bin_size, n_bins: int) -> np.ndarray:
    """``(boxes, bins + 1)`` bin edges in feature-area units from an index-coordinate start."""
    return start[:, None] + 0.5 + np.arange(n_bins + 1)[None, :] * bin_size[:, None]


def place_samples(start, bin_size, per_bin, n_bins: int, placement: str):
    """Sample positions ``t`` for every box, bin and sample, flat and ordered (box, bin, k).

    ``centered`` (the frameworks): ``start + p*b + (k + 0.5) * b / g``, in torchvision's and ONNX
    Runtime's order of operations. ``thirds`` (the article's figure): ``start + p*b + (k + 1) * b / (g + 1)``.
    """
    per_bin = np.asarray(per_bin, dtype=np.int64)
    counts = per_bin * n_bins
    box = np.repeat(np.arange(len(per_bin)), counts)
    index = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    g = per_bin[box]
    bin_ = index // np.maximum(g, 1)
    k = index - bin_ * g
    b = bin_size[box]
    if placement == "centered":
        t = start[box] + bin_ * b + (k + 0.5) * b / g
    elif placement == "thirds":
        t = start[box] + bin_ * b + (k + 1.0) * b / (g + 1.0)
    else:
        raise ValueError(f"unknown sample placement {placement!r} (centered or thirds)")
    return box, bin_, k, t


def bilinear(box, t, length, low_limit: float, high_offset: float):
    """The frameworks' 1-D bilinear kernel.

    A sample is valid only if ``low_limit <= t <= length + high_offset``; then ``t <= 0`` reads cell
    0; ``lo = floor(t)``; at or past the last cell both neighbours are the last cell.
    Returns ``valid, lo, hi, w_lo, w_hi`` (weights 0 where invalid).
    """
    size = length[box]
    valid = (t >= low_limit) & (t <= size + high_offset)
    tc = np.maximum(t, 0.0)
    lo = np.floor(tc)
    at_end = lo >= size - 1
    lo = np.where(at_end, size - 1, lo)
    lo = np.where(valid, lo, 0)  # keep invalid samples' cells finite; their weights are 0
    tc = np.where(at_end, lo, tc)
    hi = np.where(at_end, lo, lo + 1)
    frac = tc - lo
    w_lo = np.where(valid, 1.0 - frac, 0.0)
    w_hi = np.where(valid & ~at_end, frac, 0.0)
    return valid, lo.astype(np.int64), hi.astype(np.int64), w_lo, w_hi


def clip_windows(start, end, length):
    """Clip integer windows to the map ``[0, length)``."""
    top = length[:, None]
    start = np.minimum(np.maximum(start, 0), top)
    end = np.minimum(np.maximum(end, 0), top)
    return start, end
