"""Per-method summary statistics of analysed boxes, accumulated chunk by chunk.

Statistics: ``mean``, ``median``, ``p95`` (numpy's linear-interpolation percentile) and ``max`` of
``lost_frac``, ``gained_frac``, ``outside_weight`` and ``shift_px`` over the measured boxes; the
share of boxes that lose anything; the counts of ``sub-cell`` and invalid boxes. Values are kept as
float32 between chunks (7 significant digits), so a 16 M-box input fits in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAT_METRICS = ["lost_frac", "gained_frac", "outside_weight", "shift_px"]
STATISTICS = ["mean", "median", "p95", "max"]


def describe(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return {s: np.nan for s in STATISTICS}
    with np.errstate(invalid="ignore", over="ignore"):  # a degenerate box can gain an infinite share
        return {
            "mean": float(values.mean()),
            "median": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)),
            "max": float(values.max()),
        }


def flag_masks(flags: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(invalid, sub-cell) per row, looked up once per distinct flags value."""
    if isinstance(flags.dtype, pd.CategoricalDtype):
        codes, values = flags.cat.codes.to_numpy(), flags.cat.categories
    else:
        codes, values = pd.factorize(flags, sort=False)
    values = pd.Index(list(values) + [""]).astype(str)  # code -1 (missing) reads the "" at the end
    invalid = np.asarray(values.str.startswith("invalid:"), dtype=bool)
    sub_cell = np.asarray(values.str.contains("sub-cell", regex=False), dtype=bool)
    return invalid[codes], sub_cell[codes]


class Accumulator:
    """Collects the rows of :func:`roiloss.analyze` chunk by chunk; :meth:`summary` at the end.

    ``by`` names an extra grouping column (e.g. ``level``); each (method, group) gets a row.
    """

    def __init__(self, by: str | None = None):
        self.by = by
        self.parts: dict[tuple, dict[str, list]] = {}

    def add(self, frame) -> None:
        """Add a chunk: the rows of :func:`roiloss.analyze` (a DataFrame) or their arrays
        (:class:`roiloss.analysis.Rows`, no per-row DataFrame built)."""
        if not isinstance(frame, pd.DataFrame):
            self._add_rows(frame)
            return
        keys = ["method"] + ([self.by] if self.by else [])
        for key, group in frame.groupby(keys, sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            part = self.parts.setdefault(key, {m: [] for m in STAT_METRICS + ["invalid", "sub_cell"]})
            for metric in STAT_METRICS:
                part[metric].append(group[metric].to_numpy(dtype=np.float32))
            invalid, sub_cell = flag_masks(group["flags"])
            part["invalid"].append(invalid)
            part["sub_cell"].append(sub_cell)

    def _add_rows(self, rows) -> None:
        if self.by not in (None, "level"):
            raise ValueError(f"arrays can be grouped by level only, not {self.by!r}")
        for boxes, values, codes, names in zip(rows.scales, rows.values, rows.flag_codes, rows.flag_names):
            kinds = np.asarray([str(n) for n in names])
            invalid_of = np.char.startswith(kinds, "invalid:")
            sub_cell_of = np.char.find(kinds, "sub-cell") >= 0
            invalid, sub_cell = invalid_of[codes], sub_cell_of[codes]
            if self.by == "level":
                groups = [((level,), np.flatnonzero(boxes.level == level)) for level in np.unique(boxes.level[boxes.level >= 0])]
            else:
                groups = [((), slice(None))]
            for j, method in enumerate(rows.methods):
                for key, index in groups:
                    part = self.parts.setdefault((method, *key), {m: [] for m in STAT_METRICS + ["invalid", "sub_cell"]})
                    for metric in STAT_METRICS:
                        part[metric].append(values[metric][index, j].astype(np.float32))
                    part["invalid"].append(invalid[index])
                    part["sub_cell"].append(sub_cell[index])

    def merge(self, other: "Accumulator") -> None:
        """Add everything ``other`` collected (another chunk, process or machine)."""
        if other.by != self.by:
            raise ValueError(f"cannot merge summaries grouped by {other.by!r} into one grouped by {self.by!r}")
        for key, part in other.parts.items():
            mine = self.parts.setdefault(key, {m: [] for m in part})
            for name, arrays in part.items():
                mine[name].extend(arrays)

    def summary(self) -> pd.DataFrame:
        rows = []
        for key, part in self.parts.items():
            invalid = np.concatenate(part["invalid"])
            row = {"method": key[0]}
            if self.by:
                row[self.by] = key[1]
            lost = np.concatenate(part["lost_frac"])
            measured = ~np.isnan(lost)
            row.update({
                "boxes": int(len(invalid)),
                "measured": int(measured.sum()),
                "invalid": int(invalid.sum()),
                "sub_cell": int(np.concatenate(part["sub_cell"]).sum()),
                "lost_any_share": float((lost[measured] > 0).mean()) if measured.any() else np.nan,
            })
            for metric in STAT_METRICS:
                for stat, value in describe(np.concatenate(part[metric])).items():
                    row[f"{metric}_{stat}"] = value
            rows.append(row)
        return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Summary of a whole result frame of :func:`roiloss.analyze`, one row per method (and group)."""
    accumulator = Accumulator(by=by)
    accumulator.add(frame)
    return accumulator.summary()
