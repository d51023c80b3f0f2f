"""An axis given directly by its coefficients: for operators that are neither windows of whole
cells nor equally weighted bilinear samples (Precise RoI Pooling integrates the bilinear surface,
so each bin's coefficients are integrals of the hat functions, docs/semantics.md §2.12).

The axis holds the non-zero coefficients in long form (box, bin, cell, weight), sorted by box,
bin and cell, and computes every per-axis statistic of :class:`~roiloss.axis.AxisStats` from them,
vectorised over boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .axis import AxisEntries, bin_edges
from .axis_stats import AxisStats, interval_overlap


@dataclass
class EntryAxis:
    """Coefficients per (box, bin, cell); ``sampled`` ``(e0, e1)`` in feature-area units and
    ``edges`` (index-coordinate start, bin size) per box, as for :class:`~roiloss.axis.SampleAxis`."""

    box: np.ndarray
    bin: np.ndarray
    cell: np.ndarray
    weight: np.ndarray
    n_boxes: int
    n_bins: int
    sampled: tuple[np.ndarray, np.ndarray]
    edges: tuple[np.ndarray, np.ndarray]

    def __post_init__(self):
        keep = self.weight > 0
        order = np.lexsort((self.cell[keep], self.bin[keep], self.box[keep]))
        self.box = self.box[keep][order].astype(np.int64)
        self.bin = self.bin[keep][order].astype(np.int64)
        self.cell = self.cell[keep][order].astype(np.int64)
        self.weight = self.weight[keep][order].astype(np.float64)

    @property
    def bin_edges(self) -> np.ndarray:
        return bin_edges(self.edges, self.n_bins)

    @property
    def bins(self) -> int:
        return self.n_bins

    def stats(self, r0: np.ndarray, r1: np.ndarray) -> AxisStats:
        n = self.n_boxes
        box, cell, weight = self.box, self.cell.astype(float), self.weight
        inside = interval_overlap(cell, cell + 1.0, r0[box], r1[box])  # fraction of the cell in the RoI
        mass = np.bincount(box, weight, minlength=n)
        inside_mass = np.bincount(box, weight * inside, minlength=n)
        # distinct cells per box (a cell read by several bins counts once)
        order = np.lexsort((cell, box))
        b, c, part = box[order], cell[order], inside[order]
        first = np.ones(len(b), dtype=bool)
        first[1:] = (b[1:] != b[:-1]) | (c[1:] != c[:-1])
        support_len = np.bincount(b[first], minlength=n).astype(float)
        support_overlap = np.bincount(b[first], part[first], minlength=n)
        filled = np.zeros((n, self.n_bins), dtype=bool)
        filled[box, self.bin] = True
        return AxisStats(support_len, support_overlap, mass, inside_mass, (~filled).sum(axis=1))

    def entries(self) -> AxisEntries:
        return AxisEntries(box=self.box, bin=self.bin, cell=self.cell, weight=self.weight)

    def bin_rows(self) -> dict[str, np.ndarray]:
        """Per (box, bin): its extent ``[lo, hi)`` and the cells it reads (its "samples")."""
        n = self.n_boxes
        count = np.zeros((n, self.n_bins), dtype=np.int64)
        np.add.at(count, (self.box, self.bin), 1)
        return {"box": np.repeat(np.arange(n), self.n_bins), "bin": np.tile(np.arange(self.n_bins), n),
                "lo": self.bin_edges[:, :-1].ravel(), "hi": self.bin_edges[:, 1:].ravel(),
                "samples": count.ravel(), "valid": count.ravel()}

    def sample_rows(self) -> dict[str, np.ndarray]:
        """No sample points: each cell a bin integrates is listed at its centre with its coefficient."""
        first = np.ones(len(self.box), dtype=bool)
        first[1:] = (self.box[1:] != self.box[:-1]) | (self.bin[1:] != self.bin[:-1])
        starts = np.flatnonzero(first)
        k = np.arange(len(self.box)) - np.repeat(starts, np.diff(np.append(starts, len(self.box))))
        return {"box": self.box, "bin": self.bin, "k": k, "pos": self.cell + 0.5,
                "valid": np.ones(len(self.box), dtype=bool), "cell": self.cell.astype(float), "weight": self.weight}
