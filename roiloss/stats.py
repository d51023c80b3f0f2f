"""Per-method summary statistics of analysed boxes, accumulated chunk by chunk.

Statistics: ``mean``, ``median``, ``p95`` (numpy's linear-interpolation percentile) and ``max`` of
``lost_frac``, ``gained_frac``, ``outside_weight`` and ``shift_px`` over the measured boxes; the
share of boxes that lose anything; the counts of ``sub-cell`` and invalid boxes. Values are kept as
float32 between chunks (7 significant digits), a chunk mostly of zeros as its non-zero values and a
bitmap, so 16 M boxes x 3 methods take about 600 MB; the statistics are those of all kept values.
"""

from __future__ import annotations

import numpy as np

from .workers import run_all

STAT_METRICS = ["lost_frac", "gained_frac", "outside_weight", "shift_px"]
STATISTICS = ["mean", "median", "p95", "max"]
COUNTS = ["boxes", "measured", "losing", "invalid", "sub_cell"]  # what an Accumulator counts per group
# metrics are summarised on several threads while each one's float64 copy stays below 64 MB, and
# are worth it (a small input spares starting threads)
PARALLEL_VALUES = 8_000_000
SERIAL_VALUES = 1 << 16


def describe(values: np.ndarray) -> dict[str, float]:
    """The statistics of ``values``, NaN left out."""
    values = np.asarray(values, dtype=np.float64)
    return _describe(values[~np.isnan(values)])


def _describe(values: np.ndarray) -> dict[str, float]:
    """The statistics of float64 values without NaN; partitions ``values`` in place (no copy)."""
    if not len(values):
        return {s: np.nan for s in STATISTICS}
    with np.errstate(invalid="ignore", over="ignore"):  # a degenerate box can gain an infinite share
        mean, maximum = float(values.mean()), float(values.max())
        median, p95 = linear_percentiles(values, (50, 95))
    return {"mean": mean, "median": median, "p95": p95, "max": maximum}


def linear_percentiles(values: np.ndarray, percents) -> list[float]:
    """``np.percentile(values, percents, overwrite_input=True)`` (the ``linear`` method) of 1-D
    float64 ``values`` without NaN, computed as numpy does operation by operation, so the results
    are identical; partitions ``values`` in place. numpy's own goes through ``np.unique``, which
    imports ``numpy.ma`` (a tenth of a small run's start-up).

    Position ``v = (n - 1) q`` with ``q = p / 100``; below it ``i = floor(v)``, above ``i + 1``, both
    the last value when ``v >= n - 1``, where ``i`` counts as ``-1`` in ``g = v - i``; the result is
    ``a + (b - a) g``, or ``b - (b - a)(1 - g)`` when ``g >= 0.5``."""
    n = len(values)
    q = np.true_divide(np.asarray(percents), 100)
    virtual = (n - 1) * q
    below = np.floor(virtual)
    above = below + 1
    last = virtual >= n - 1
    below[last] = above[last] = -1
    gamma = virtual - below
    below, above = below.astype(np.intp), above.astype(np.intp)
    # only the order statistics at ``below`` and ``above`` matter (numpy also places 0 and n - 1)
    ranks = sorted({*(below % n), *(above % n)})
    found = dict(zip(ranks, order_statistics(values, ranks)))
    a, b = np.array([found[r % n] for r in below]), np.array([found[r % n] for r in above])
    with np.errstate(invalid="ignore", over="ignore"):
        diff = b - a
        result = a + diff * gamma
        np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return [float(v) for v in result]


SELECT_SAMPLE = 4096  # values sampled to bracket an order statistic of a large array
SELECT_MARGIN = 4  # the bracket's half-width, in standard deviations of a sample quantile's position
SELECT_BLOCK = 1 << 20  # values compared at a time: their masks are all the memory the bracket takes


def order_statistics(values: np.ndarray, ranks: list[int]) -> np.ndarray:
    """The ``k``-th smallest of 1-D float64 ``values`` without NaN for each ``k`` of ``ranks``
    (sorted, distinct): the values ``np.partition`` puts there (equal values may differ in the
    sign of a zero). May reorder ``values`` in place.

    A large array is not partitioned whole: a sorted sample of :data:`SELECT_SAMPLE` values gives
    bounds ``lo <= hi`` around a group of nearby ranks, counting the values below ``lo`` proves
    the ranks lie among those in ``[lo, hi]`` (a few per cent of them, or a run of values equal
    to ``lo`` or ``hi``, which are counted), and only those strictly between are copied and
    partitioned; where the proof fails, or too many values lie between, the whole array is.
    """
    n = len(values)
    if n <= 16 * SELECT_SAMPLE:
        values.partition(ranks)
        return values[ranks]
    sample = np.sort(values[::n // SELECT_SAMPLE])
    m = len(sample)
    margin = int(SELECT_MARGIN * np.sqrt(m) / 2) + 1  # a sample quantile's position varies by at most sqrt(m) / 2
    at = [int(rank * (m - 1) / (n - 1)) for rank in ranks]
    groups = [[0]]
    for i in range(1, len(ranks)):
        if at[i] - at[i - 1] > 2 * margin:
            groups.append([])
        groups[-1].append(i)
    out = np.empty(len(ranks))
    for group in groups:
        low, high = at[group[0]] - margin, at[group[-1]] + 1 + margin
        lo, hi = sample[low] if low > 0 else -np.inf, sample[high] if high < m - 1 else np.inf
        found = _in_bracket(values, lo, hi, [ranks[i] for i in group])
        if found is None:
            values.partition(ranks)
            return values[ranks]
        out[group] = found
    return out


def _in_bracket(values: np.ndarray, lo: float, hi: float, ranks: list[int]) -> np.ndarray | None:
    """The values at ``ranks`` (sorted) when they all lie in ``[lo, hi]``, else None (also when
    the values strictly between ``lo`` and ``hi`` are a quarter of all or more). The values equal
    to ``lo`` or ``hi`` are counted, not copied (a metric is mostly zeros); the others in the
    bracket are copied and partitioned. Compares :data:`SELECT_BLOCK` values at a time, so the
    masks take little memory."""
    n = len(values)
    below, at_lo, at_hi, parts, between = 0, 0, 0, [], 0
    for start in range(0, n, SELECT_BLOCK):
        block = values[start:start + SELECT_BLOCK]
        below += int(np.count_nonzero(block < lo))
        at_lo += int(np.count_nonzero(block == lo))
        if hi == lo:
            continue
        at_hi += int(np.count_nonzero(block == hi))
        parts.append(block[(block > lo) & (block < hi)])
        between += len(parts[-1])
        if between > n // 4:
            return None
    if ranks[0] < below or below + at_lo + between + at_hi <= ranks[-1]:
        return None
    out = np.empty(len(ranks))
    inner = [i for i, rank in enumerate(ranks) if below + at_lo <= rank < below + at_lo + between]
    for i, rank in enumerate(ranks):
        out[i] = lo if rank < below + at_lo else hi
    if inner:
        kept = np.concatenate(parts)
        kth = [ranks[i] - below - at_lo for i in inner]
        kept.partition(kth)
        out[inner] = kept[kth]
    return out


def flag_masks(flags) -> tuple[np.ndarray, np.ndarray]:
    """(invalid, sub-cell) per row of a ``flags`` Series, looked up once per distinct value."""
    import pandas as pd

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

    ``by`` names an extra grouping column (e.g. ``level``); each (method, group) gets a row. Per
    chunk and group it keeps counts and, unless ``values=False`` (counts only, statistics NaN), the
    measured (not NaN) values of each metric as float32.
    """

    def __init__(self, by: str | None = None, values: bool = True):
        self.by, self.values = by, values
        self.parts: dict[tuple, dict[str, list]] = {}
        self._store = _Blocks()

    def add(self, frame) -> None:
        """Add a chunk: the rows of :func:`roiloss.analyze` (a DataFrame) or their arrays
        (:class:`roiloss.analysis.Rows`, no per-row DataFrame built)."""
        if not hasattr(frame, "groupby"):
            self._add_rows(frame)
            return
        keys = ["method"] + ([self.by] if self.by else [])
        for key, group in frame.groupby(keys, sort=False, dropna=False):
            invalid, sub_cell = flag_masks(group["flags"])
            self._keep(key if isinstance(key, tuple) else (key,), {m: group[m].to_numpy(dtype=np.float32) for m in STAT_METRICS},
                       invalid, sub_cell)

    def _add_rows(self, rows) -> None:
        if self.by not in (None, "level"):
            raise ValueError(f"arrays can be grouped by level only, not {self.by!r}")
        for boxes, values, codes, names in zip(rows.scales, rows.values, rows.flag_codes, rows.flag_names):
            kinds = [str(n) for n in names]  # a few distinct flags (numpy.char would cost an import)
            invalid_of = np.array([k.startswith("invalid:") for k in kinds], dtype=bool)
            sub_cell_of = np.array(["sub-cell" in k for k in kinds], dtype=bool)
            invalid, sub_cell = invalid_of[codes], sub_cell_of[codes]
            if self.by == "level":
                groups = [((level,), np.flatnonzero(boxes.level == level)) for level in np.unique(boxes.level[boxes.level >= 0])]
            else:
                groups = [((), slice(None))]
            for j, method in enumerate(rows.methods):
                for key, index in groups:
                    self._keep((method, *key), {m: values[m][index, j] for m in STAT_METRICS}, invalid[index],
                               sub_cell[index])

    def _keep(self, key: tuple, values: dict[str, np.ndarray], invalid: np.ndarray, sub_cell: np.ndarray) -> None:
        part = self._part(key)
        if self.values:
            packed = {metric: _pack(values[metric], self._store) for metric in STAT_METRICS}
            measured, lost, _ = packed["lost_frac"]  # lost: the measured values, or the non-zero ones
        else:
            lost = np.asarray(values["lost_frac"], dtype=np.float32)
            measured = np.count_nonzero(~np.isnan(lost))
        for name, count in (("boxes", len(invalid)), ("measured", measured), ("losing", np.count_nonzero(lost > 0)),
                            ("invalid", np.count_nonzero(invalid)), ("sub_cell", np.count_nonzero(sub_cell))):
            part[name].append(int(count))
        if self.values:
            for metric in STAT_METRICS:
                part[metric].append(packed[metric])

    def merge(self, other: "Accumulator") -> None:
        """Add everything ``other`` collected (another chunk, process or machine)."""
        if other.by != self.by:
            raise ValueError(f"cannot merge summaries grouped by {other.by!r} into one grouped by {self.by!r}")
        if self.values and not other.values:
            raise ValueError("cannot merge counts only into a summary with statistics")
        for key, part in other.parts.items():
            for name, kept in self._part(key).items():
                kept.extend(part[name])

    def _part(self, key: tuple) -> dict[str, list]:
        return self.parts.setdefault(key, {name: [] for name in COUNTS + (STAT_METRICS if self.values else [])})

    def summary(self):
        """One row per method (and group) as a DataFrame: counts, the share losing anything, the
        statistics of each metric (:meth:`records`)."""
        import pandas as pd

        return pd.DataFrame(self.records())

    def records(self) -> list[dict]:
        """The rows of :meth:`summary` as dicts, without pandas. Needs a float64 copy of one
        metric's values per thread (:data:`~roiloss.workers.THREADS`; one at a time past
        :data:`PARALLEL_VALUES` values, in turn up to :data:`SERIAL_VALUES`)."""
        rows = []
        for key, part in self.parts.items():
            row = {"method": key[0]}
            if self.by:
                row[self.by] = key[1]
            boxes, measured, losing, invalid, sub_cell = (sum(part[name]) for name in COUNTS)
            row.update({"boxes": boxes, "measured": measured, "invalid": invalid, "sub_cell": sub_cell,
                        "lost_any_share": losing / measured if measured else np.nan})
            if not self.values:
                row.update({f"{metric}_{stat}": np.nan for metric in STAT_METRICS for stat in STATISTICS})
            rows.append(row)
        if self.values:
            tasks = [(row, metric, part[metric]) for row, part in zip(rows, self.parts.values())
                     for metric in STAT_METRICS]

            def describe_one(task):
                row, metric, chunks = task
                statistics = _describe(_unpack(chunks))
                row.update({f"{metric}_{stat}": statistics[stat] for stat in STATISTICS})

            largest = max((sum(count for count, _, _ in chunks) for _, _, chunks in tasks), default=0)
            if SERIAL_VALUES < largest <= PARALLEL_VALUES:
                run_all(describe_one, tasks)
            else:
                for task in tasks:
                    describe_one(task)
            order = ["method", *([self.by] if self.by else []), "boxes", "measured", "invalid", "sub_cell",
                     "lost_any_share", *(f"{metric}_{stat}" for metric in STAT_METRICS for stat in STATISTICS)]
            rows = [{name: row[name] for name in order} for row in rows]
        return rows


def _pack(values: np.ndarray, store: "_Blocks") -> tuple[int, np.ndarray, np.ndarray | None]:
    """One chunk of a metric as kept: ``(count, values, None)`` with the measured (not NaN) values
    as float32, or, when that is smaller, ``(count, non-zero values, packed bitmap of their places)``
    (most boxes lose nothing to most methods; RoIAlign never shifts). ``-0.0`` counts as non-zero.
    The values are cast straight into the store and compacted there."""
    kept = store.reserve(len(values))
    np.copyto(kept, values, casting="unsafe")  # float64 to float32, as astype rounds
    missing = np.isnan(kept)
    count = len(kept)
    if missing.any():
        count -= int(np.count_nonzero(missing))
        kept[:count] = kept[~missing]
        kept = kept[:count]
    nonzero = kept.view(np.uint32) != 0  # the bits of +0.0
    zeros = count - int(np.count_nonzero(nonzero))
    if zeros * 32 > count:  # a bit per value costs less than the zeros' 32 bits each
        kept[:count - zeros] = kept[nonzero]
        store.release(len(values) - (count - zeros))
        return count, kept[:count - zeros], np.packbits(nonzero)
    store.release(len(values) - count)
    return count, kept, None


def _unpack(chunks: list[tuple]) -> np.ndarray:
    """The values of packed chunks, in order, as float64."""
    out = np.zeros(sum(count for count, _, _ in chunks))
    start = 0
    for count, values, nonzero in chunks:
        if nonzero is None:
            out[start:start + count] = values
        else:
            out[start:start + count][np.unpackbits(nonzero, count=count).view(bool)] = values
        start += count
    return out


class _Blocks:
    """Hands out views of float32 blocks that double up to ``BLOCK`` values.

    malloc maps a block that large outside its heap, so the kept values leave no holes among the
    engine's freed temporaries there (holes the process would keep: 200 MB on 16 M boxes). A copy
    (pickle) starts empty: pickled views carry their own values.
    """

    BLOCK = 1 << 24  # 64 MiB

    def __init__(self):
        self.block, self.used = np.empty(0, np.float32), 0

    def reserve(self, n: int) -> np.ndarray:
        """A view of the next ``n`` free values (a new block when this one is too full)."""
        if self.used + n > len(self.block):
            self.block, self.used = np.empty(max(min(2 * len(self.block), self.BLOCK), n), np.float32), 0
        view = self.block[self.used:self.used + n]
        self.used += n
        return view

    def release(self, n: int) -> None:
        """Give back the last ``n`` values of the latest :meth:`reserve`."""
        self.used -= n

    def __reduce__(self):
        return _Blocks, ()


def summarize(frame, by: str | None = None):
    """Summary of a whole result frame of :func:`roiloss.analyze`, one row per method (and group)."""
    accumulator = Accumulator(by=by)
    accumulator.add(frame)
    return accumulator.summary()
