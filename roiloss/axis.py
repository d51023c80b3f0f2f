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

from .axis_stats import AxisStats, sample_stats, window_stats
from .kernels import Reading, place_samples, sample_steps


def bin_edges(edges: tuple[np.ndarray, np.ndarray], n_bins: int) -> np.ndarray:
    """``(boxes, bins + 1)`` bin edges in feature-area units from per-box (index-coordinate start,
    bin size); computed only when a grid asks."""
    start, step = (np.asarray(v, dtype=np.float64) for v in edges)
    return start[:, None] + 0.5 + np.arange(n_bins + 1)[None, :] * step[:, None]


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

    ``start``/``end`` have shape ``(boxes, bins)`` and hold whole numbers (int64, or float64 where
    the method computes in floats); a window with ``end <= start`` is empty
    (:func:`~roiloss.axis_stats.window_stats`).
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
        return window_stats(self.start, self.end, r0, r1)

    def entries(self) -> AxisEntries:
        n_boxes, n_bins = self.start.shape
        length = np.maximum(self.end - self.start, 0).astype(np.int64).ravel()
        box = np.repeat(np.repeat(np.arange(n_boxes), n_bins), length)
        bin_ = np.repeat(np.tile(np.arange(n_bins), n_boxes), length)
        first = np.repeat(self.start.astype(np.int64).ravel(), length)
        offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
        weight = np.repeat(1.0 / np.where(length > 0, length, 1), length)
        return AxisEntries(box=box, bin=bin_, cell=first + offset, weight=weight)

    def bin_rows(self) -> dict[str, np.ndarray]:
        """Per (box, bin): the window ``[lo, hi)`` and the cells it reads (its "samples")."""
        n_boxes, n_bins = self.start.shape
        count = np.maximum(self.end - self.start, 0).astype(np.int64).ravel()
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
    """Bins that average ``g`` bilinear samples each; ``g`` is the same for every box here.

    Arrays have shape ``(boxes, bins * g)``, samples ordered by (bin, k) and so by position:
    ``t`` (index coordinate as placed, before clamping), and from the kernel's
    :class:`~roiloss.kernels.Reading`: ``valid``, ``lo`` (the lower cell read, after clamping) and
    ``frac`` (the weight on cell ``lo + 1``; 0 at the map's last cell), both in ``t``'s precision,
    where they are exact. A valid sample puts ``1 - frac`` on ``lo`` and ``frac`` on ``lo + 1``; an
    invalid one puts nothing (:func:`~roiloss.axis_stats.sample_stats`).
    ``sampled`` ``(e0, e1)`` is the interval the method really samples and ``bin_edges``
    ``(boxes, bins + 1)`` the bins, both in feature-area units. ``steps``, when known: per box,
    ``(lowest, highest)`` with ``lowest >= 0`` only if the samples are in order and ``highest <= 1``
    only if no step between them exceeds one cell (:func:`~roiloss.kernels.sample_steps` gives the
    exact extremes).
    """

    t: np.ndarray
    reading: Reading
    g: int
    n_bins: int
    sampled: tuple[np.ndarray, np.ndarray]
    edges: tuple[np.ndarray, np.ndarray]  # (index-coordinate start, bin size) per box
    steps: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def valid(self) -> np.ndarray:
        return self.reading.full()[0]

    @property
    def lo(self) -> np.ndarray:
        return self.reading.full()[1]

    @property
    def frac(self) -> np.ndarray:
        return self.reading.full()[2]

    @property
    def moved(self) -> np.ndarray:
        """Boxes whose read position ``lo + frac`` differs from ``t`` somewhere."""
        return self.reading.moved

    @property
    def bin_edges(self) -> np.ndarray:
        return bin_edges(self.edges, self.n_bins)

    @property
    def bins(self) -> int:
        return self.n_bins

    @property
    def per_bin(self) -> np.ndarray:
        return np.full(len(self.t), self.g, dtype=np.int64)

    def stats(self, r0: np.ndarray, r1: np.ndarray) -> AxisStats:
        if self.g == 0:
            zeros = np.zeros(len(self.t))
            return AxisStats(zeros, zeros, zeros, zeros, np.full(len(self.t), self.n_bins))
        return sample_stats(self.t, self.reading, self.g, self.n_bins, r0, r1, self.steps)

    def _flat(self):
        """Flat per-sample arrays: box, bin, k, t, valid, lo, hi, w_lo, w_hi."""
        n, count = self.t.shape
        index = np.arange(count)
        valid = self.valid.ravel()
        frac = self.frac.ravel().astype(np.float64)
        lo = self.lo.ravel().astype(np.float64)
        w_hi = np.where(valid, frac, 0.0)
        return {"box": np.repeat(np.arange(n), count), "bin": np.tile(index // max(self.g, 1), n),
                "k": np.tile(index % max(self.g, 1), n), "t": self.t.ravel().astype(np.float64), "valid": valid,
                "lo": lo, "hi": lo + (frac > 0), "w_lo": valid - w_hi, "w_hi": w_hi}

    def bin_rows(self) -> dict[str, np.ndarray]:
        """Per (box, bin): its extent ``[lo, hi)``, its samples and how many of them are valid."""
        n = len(self.t)
        valid = self.valid.reshape(n, self.n_bins, max(self.g, 1)).sum(axis=2) if self.g else np.zeros((n, self.n_bins))
        return {"box": np.repeat(np.arange(n), self.n_bins), "bin": np.tile(np.arange(self.n_bins), n),
                "lo": self.bin_edges[:, :-1].ravel(), "hi": self.bin_edges[:, 1:].ravel(),
                "samples": np.full(n * self.n_bins, self.g), "valid": valid.ravel().astype(np.int64)}

    def sample_rows(self) -> dict[str, np.ndarray]:
        """One row per (sample, neighbouring cell with a non-zero weight); an invalid sample keeps one
        row with no cell (NaN) and weight 0."""
        f = self._flat()
        second = f["valid"] & (f["w_hi"] > 0)
        index = np.concatenate([np.arange(len(f["box"])), np.flatnonzero(second)])
        is_second = np.concatenate([np.zeros(len(f["box"]), dtype=bool), np.ones(second.sum(), dtype=bool)])
        order = np.lexsort((is_second, index))
        index, is_second = index[order], is_second[order]
        valid = f["valid"][index]
        cell = np.where(is_second, f["hi"][index], f["lo"][index])
        return {"box": f["box"][index], "bin": f["bin"][index], "k": f["k"][index], "pos": f["t"][index] + 0.5,
                "valid": valid, "cell": np.where(valid, cell, np.nan),
                "weight": np.where(is_second, f["w_hi"][index], f["w_lo"][index])}

    def entries(self) -> AxisEntries:
        """Coefficients per (box, bin, cell), duplicates summed, zeros dropped."""
        f = self._flat()
        box = np.concatenate([f["box"], f["box"]])
        bin_ = np.concatenate([f["bin"], f["bin"]])
        cell = np.concatenate([f["lo"], f["hi"]]).astype(np.int64)
        weight = np.concatenate([f["w_lo"], f["w_hi"]]) / max(self.g, 1)
        keep = weight > 0
        box, bin_, cell, weight = box[keep], bin_[keep], cell[keep], weight[keep]
        order = np.lexsort((cell, bin_, box))
        box, bin_, cell, weight = box[order], bin_[order], cell[order], weight[order]
        first = np.ones(len(box), dtype=bool)
        first[1:] = (box[1:] != box[:-1]) | (bin_[1:] != bin_[:-1]) | (cell[1:] != cell[:-1])
        starts = np.flatnonzero(first)
        summed = np.add.reduceat(weight, starts) if len(starts) else weight[:0]
        return AxisEntries(box=box[starts], bin=bin_[starts], cell=cell[starts], weight=summed)


@dataclass
class SampleGroups:
    """A sample axis whose boxes differ in samples per bin (adaptive sampling): one
    :class:`SampleAxis` per distinct ``g``, each with the indices of its boxes."""

    parts: list[tuple[np.ndarray, SampleAxis]]
    n_boxes: int
    n_bins: int

    @property
    def bins(self) -> int:
        return self.n_bins

    @property
    def per_bin(self) -> np.ndarray:
        out = np.zeros(self.n_boxes, dtype=np.int64)
        for index, part in self.parts:
            out[index] = part.g
        return out

    @property
    def sampled(self) -> tuple[np.ndarray, np.ndarray]:
        e0, e1 = np.zeros(self.n_boxes), np.zeros(self.n_boxes)
        for index, part in self.parts:
            e0[index], e1[index] = part.sampled
        return e0, e1

    def stats(self, r0, r1) -> AxisStats:
        out = AxisStats(*(np.zeros(self.n_boxes) for _ in range(5)))
        for index, part in self.parts:
            stats = part.stats(r0[index], r1[index])
            for name in ("support_len", "support_overlap", "mass", "inside_mass", "empty_bins"):
                getattr(out, name)[index] = getattr(stats, name)
        return out

    def _merge(self, pieces: list[dict]) -> dict[str, np.ndarray]:
        merged = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
        order = np.argsort(merged["box"], kind="stable")
        return {k: v[order] for k, v in merged.items()}

    def _remapped(self, method: str) -> dict[str, np.ndarray]:
        pieces = []
        for index, part in self.parts:
            rows = getattr(part, method)()
            rows = vars(rows).copy() if isinstance(rows, AxisEntries) else dict(rows)
            rows["box"] = index[rows["box"]]
            pieces.append(rows)
        return self._merge(pieces)

    def bin_rows(self):
        return self._remapped("bin_rows")

    def sample_rows(self):
        return self._remapped("sample_rows")

    def entries(self) -> AxisEntries:
        return AxisEntries(**self._remapped("entries"))


def sample_axis(start, bin_size, per_bin, n_bins: int, length, placement: str, limits, sampled, edges):
    """A :class:`SampleAxis`, or :class:`SampleGroups` when boxes differ in samples per bin.

    ``start``/``bin_size`` are index coordinates in the arithmetic's dtype; ``limits`` the kernel's
    validity bounds ``(low, high_offset)``; ``sampled`` and ``edges`` (start, bin size) as in
    :class:`SampleAxis`.
    """
    per_bin = np.asarray(per_bin, dtype=np.int64)

    def build(index, g):
        if g:
            t = place_samples(start[index], bin_size[index], g, n_bins, placement)
        else:
            t = np.zeros((len(start[index]), 0), dtype=start.dtype)
        steps = sample_steps(t)
        return SampleAxis(t, Reading(t, length[index], *limits, steps=steps), int(g), n_bins,
                          (sampled[0][index], sampled[1][index]), (edges[0][index], edges[1][index]), steps)

    if not len(per_bin) or per_bin.min() == per_bin.max():
        return build(slice(None), int(per_bin[0]) if len(per_bin) else 0)
    values = np.unique(per_bin)
    return SampleGroups([(np.flatnonzero(per_bin == g), build(np.flatnonzero(per_bin == g), int(g))) for g in values],
                        len(per_bin), n_bins)
