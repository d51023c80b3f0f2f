"""The analysis of canonical box tables under resolved :class:`~roiloss.semantics.Semantics`.

For each box: into the model's frame (its input transform), onto its pyramid level, through each
method's two axes, into metrics. Everything is vectorised over boxes; chunks of boxes run on
threads (numpy releases the GIL in its loops).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Iterable, Iterator

import numpy as np

from . import workers
from .box_table import BoxTable, as_numpy, numbers
from .boxes import IDENTITY
from .geometry import Geometry, map_length
from .methods import METHODS
from .metrics import METRICS, flag_codes, measure_methods
from .semantics import Semantics
from .workers import run_all

CHUNK = 32768  # boxes per engine pass: bounds memory, keeps Python overhead per pass small
NO_SIZE_FOR_RESIZE = "image size unknown (the model's resize needs it)"
NULLABLE_INTEGERS = ("level", "empty_bins", "sampling_ratio")  # whole numbers that may be missing (NaN in arrays)


@dataclass
class ModelBoxes:
    """Boxes of a canonical table in the model's frame at one input scale, with their level.

    ``stride`` is NaN and ``level`` -1 for boxes that cannot be measured (``invalid`` says why).
    """

    short_side: float | None
    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    width: np.ndarray
    height: np.ndarray
    padded_width: np.ndarray
    padded_height: np.ndarray
    scale_x: np.ndarray
    scale_y: np.ndarray
    level: np.ndarray | None
    stride: np.ndarray
    invalid: np.ndarray

    def valid(self) -> np.ndarray:
        return np.flatnonzero(self.invalid == "")


def model_boxes(table: BoxTable, semantics: Semantics, short_side=None) -> ModelBoxes:
    """Place every box of ``table`` in the model's frame and on its pyramid level."""
    coords = [numbers(table[c]) for c in ("x1", "y1", "x2", "y2")]
    image_w, image_h = numbers(table["image_width"]), numbers(table["image_height"])
    invalid = np.array(as_numpy(table["invalid"]), dtype=object)
    arithmetic = semantics.geometry.arithmetic
    resize = semantics.resize
    if resize.active:
        frame = resize.frame(*coords, image_w, image_h, short=short_side, arithmetic=arithmetic)
        unknown = np.isnan(image_w) | np.isnan(image_h)
        invalid = np.where((invalid == "") & unknown, NO_SIZE_FOR_RESIZE, invalid)
        x1, y1, x2, y2 = frame.x1, frame.y1, frame.x2, frame.y2
        width, height, padded_w, padded_h = frame.width, frame.height, frame.padded_width, frame.padded_height
        scale_x, scale_y = frame.scale_x, frame.scale_y
    else:
        x1, y1, x2, y2 = coords
        width = padded_w = image_w
        height = padded_h = image_h
        scale_x = scale_y = np.ones(len(table))
    ok = invalid == ""
    level = None
    if semantics.pyramid is not None:
        with np.errstate(invalid="ignore"):
            level = semantics.pyramid.assign(x1, y1, x2, y2, arithmetic, padded_w, padded_h)
        level = np.where(ok, level, -1)
        stride = np.where(level >= 0, 2.0 ** level, np.nan)
    else:
        stride = np.where(ok, semantics.geometry.stride, np.nan)
    return ModelBoxes(short_side, x1, y1, x2, y2, width, height, padded_w, padded_h, scale_x, scale_y, level,
                      stride, invalid)


def metric_arrays(boxes: ModelBoxes, geometry: Geometry, methods: list[str]) -> dict[str, np.ndarray]:
    """Every metric as a ``(boxes, methods)`` array (NaN for boxes that cannot be measured): the
    rows of :meth:`Rows.frame`, box-major, are its values in memory order."""
    values, tasks = _metric_tasks(boxes, geometry, methods)
    run_all(_call, tasks)
    return values


def _metric_tasks(boxes: ModelBoxes, geometry: Geometry, methods: list[str]) -> tuple[dict[str, np.ndarray], list]:
    """The arrays of :func:`metric_arrays`, unmeasured rows NaN, and the tasks (calls without
    arguments, each on up to :data:`CHUNK` boxes of one stride) that fill the other rows."""
    n, m = len(boxes.x1), len(methods)
    measured = np.isfinite(boxes.stride)
    values = {name: np.empty((n, m)) for name in METRICS}  # the tasks write (and first touch) the rows
    unmeasured = np.flatnonzero(~measured)
    for v in values.values():
        v[unmeasured] = np.nan

    def run(stride, rows):
        g = geometry.at_stride(stride)
        map_w, map_h = map_length(boxes.padded_width[rows], stride), map_length(boxes.padded_height[rows], stride)
        coords = [c[rows] for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2)]
        px_x, px_y = stride / boxes.scale_x[rows], stride / boxes.scale_y[rows]
        for j, metrics in enumerate(measure_methods(methods, *coords, map_w, map_h, g, px_x, px_y)):
            for name, column in metrics.items():
                values[name][rows, j] = column

    strides = boxes.stride[measured]
    # one stride (no pyramid) is the common case: spare sorting every box's stride to find it
    strides = strides[:1] if len(strides) and strides.min() == strides.max() else np.unique(strides)
    tasks = []
    for stride in strides:
        group = np.flatnonzero(boxes.stride == stride)
        for start in range(0, len(group), CHUNK):
            rows = group[start:start + CHUNK]
            if rows[-1] - rows[0] + 1 == len(rows):  # consecutive boxes: views instead of copies
                rows = slice(rows[0], rows[-1] + 1)
            tasks.append(partial(run, float(stride), rows))
    return values, tasks


def _call(task) -> None:
    task()


@dataclass
class Rows:
    """The analysis of a chunk of boxes as arrays: every output is made from it without a per-row
    DataFrame unless one is asked for (:meth:`frame`). Rows are box-major: box, input scale, method.

    ``scales`` holds the boxes in the model's frame at each input scale, ``values`` the metrics at
    each scale (``name -> (boxes, methods)``, :func:`metric_arrays`), ``flag_codes``/``flag_names``
    the flags of each box at each scale (``flag_names[code]``).
    """

    table: BoxTable
    semantics: Semantics
    shorts: list
    scales: list[ModelBoxes]
    values: list[dict[str, np.ndarray]]
    flag_codes: list[np.ndarray]
    flag_names: list[np.ndarray]

    @property
    def methods(self) -> list[str]:
        return list(self.semantics.methods)

    def __len__(self) -> int:
        return len(self.table) * len(self.scales) * len(self.methods)

    def columns(self, limit: int | None = None) -> dict:
        """The rows of :meth:`frame` as columns (the first ``limit`` only, if given): numpy arrays,
        missing integers (``level``, ``empty_bins``, ``sampling_ratio``) as NaN; the repeated labels
        (``preset``, ``method``, ``pool``, ``mapper``, ``flags``) as :class:`Coded`."""
        m, k = len(self.methods), len(self.scales)
        boxes = len(self.table) if limit is None else min(len(self.table), -(-limit // (m * k)))
        parts = [self._columns_at(i, boxes) for i in range(k)]
        if k == 1:
            out = parts[0]
        else:
            # part i holds rows i*n*m + b*m + j; interleave them as box b, scale i, method j
            order = (np.arange(k)[None, :, None] * (boxes * m) + np.arange(boxes)[:, None, None] * m
                     + np.arange(m)[None, None, :]).ravel()
            out = {name: _concatenate([p[name] for p in parts])[order] for name in parts[0]}
        return out if limit is None else {name: column[:limit] for name, column in out.items()}

    def records(self, limit: int | None = None) -> list[dict]:
        """The rows of :meth:`columns` as dicts of plain values (the first ``limit``), for the terminal."""
        columns = self.columns(limit)
        names = list(columns)
        values = [(c.values() if isinstance(c, Coded) else c).tolist() for c in columns.values()]
        return [dict(zip(names, row)) for row in zip(*values)]

    def frame(self, limit: int | None = None):
        """The rows as :func:`roiloss.analyze` returns them (the first ``limit`` only, if given)."""
        import pandas as pd

        return pd.DataFrame(pandas_columns(self.columns(limit)))

    def _columns_at(self, i: int, boxes: int) -> dict:
        semantics, short, mb, values = self.semantics, self.shorts[i], self.scales[i], self.values[i]
        m = len(self.methods)
        table = self.table.slice(0, boxes)
        out = lead_columns(table, semantics, short, mb, m)
        for name in METRICS:
            out[name] = values[name][:boxes].ravel()
        for name in passed_through(self.table):
            out[name] = np.repeat(as_numpy(table[name]), m)
        out["flags"] = Coded(np.repeat(self.flag_codes[i][:boxes], m), [str(f) for f in self.flag_names[i]])
        return out


@dataclass
class Coded:
    """A column of repeated labels as codes into ``categories``. ``categorical`` is False after
    joining parts whose categories differ (pandas would give plain values then)."""

    codes: np.ndarray
    categories: list
    categorical: bool = True

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index) -> "Coded":
        return Coded(self.codes[index], self.categories, self.categorical)

    def values(self) -> np.ndarray:
        return np.asarray(self.categories, dtype=object)[self.codes]


def pandas_columns(columns: dict) -> dict:
    """Columns of :meth:`Rows.columns` (or :func:`lead_columns`) in their DataFrame types: the
    integers that may be missing as ``Int64``, the repeated labels as categoricals."""
    import pandas as pd

    out = dict(columns)
    for name in NULLABLE_INTEGERS:
        if name in out:
            missing = np.isnan(out[name])
            out[name] = pd.array(np.where(missing, 0, out[name]).astype(np.int64), dtype="Int64")
            out[name][missing] = pd.NA
    for name, column in out.items():
        if isinstance(column, Coded):  # codes, not millions of strings
            out[name] = (pd.Categorical.from_codes(column.codes, categories=column.categories)
                         if column.categorical else column.values())
    return out


def _concatenate(parts: list):
    if not isinstance(parts[0], Coded):
        return np.concatenate(parts)
    if all(p.categories == parts[0].categories for p in parts):
        return Coded(np.concatenate([p.codes for p in parts]), parts[0].categories, parts[0].categorical)
    offsets = np.cumsum([0] + [len(p.categories) for p in parts[:-1]])
    codes = np.concatenate([p.codes.astype(np.int64) + o for p, o in zip(parts, offsets)])
    return Coded(codes, [c for p in parts for c in p.categories], categorical=False)


def lead_columns(table: BoxTable, semantics: Semantics, short, mb: ModelBoxes, m: int) -> dict:
    """The columns every row starts with, each box repeated ``m`` times (once per method): the box
    as given, the model's frame (with a resize), level, stride, preset, method, pool, sampling
    ratio and mapper. ``table`` may be the first rows of ``mb``'s boxes."""
    methods = list(semantics.methods)
    n = len(table)
    out = {c: np.repeat(as_numpy(table[c]), m) for c in IDENTITY}
    if semantics.resize.active:
        if short is not None:
            out["short_side"] = np.full(n * m, float(short))
        for name, column in (("model_width", mb.width), ("model_height", mb.height),
                             ("scale_x", mb.scale_x), ("scale_y", mb.scale_y)):
            out[name] = np.repeat(column[:n], m)
    if mb.level is not None:
        level = mb.level[:n].astype(float)
        out["level"] = np.repeat(np.where(level >= 0, level, np.nan), m)
    out["stride"] = np.repeat(mb.stride[:n], m)
    one = np.zeros(n * m, dtype=np.int8)
    if semantics.preset:
        out["preset"] = Coded(one, [semantics.preset])
    out["method"] = Coded(np.tile(np.arange(m, dtype=np.int8), n), methods)
    rows, cols = semantics.geometry.pool
    out["pool"] = Coded(one, [f"{rows}x{cols}"])
    samples = np.array([semantics.geometry.sampling_ratio if METHODS[name].sampled else np.nan for name in methods])
    out["sampling_ratio"] = np.tile(samples, n)
    if semantics.pyramid is not None:
        out["mapper"] = Coded(one, [semantics.pyramid.mapper])
    return out


READER_COLUMNS = set(IDENTITY) | {"image_width", "image_height", "invalid", "position"}


def passed_through(table) -> list[str]:
    """Columns a reader added beyond the canonical ones (``iscrowd``, ``score``, ``source``...):
    every row of a box carries them, just before ``flags``."""
    return [c for c in table.columns if c not in READER_COLUMNS]


def analyze_rows(table, semantics: Semantics) -> Rows:
    """The analysis of a canonical table (a :class:`~roiloss.box_table.BoxTable` or a DataFrame),
    as arrays (:class:`Rows`)."""
    rows, tasks = _prepared_rows(table, semantics)
    run_all(_call, tasks)
    return rows


def analyze_chunks(tables: Iterable, semantics: Semantics, ahead: int = 1) -> Iterator[Rows]:
    """:func:`analyze_rows` of each table of ``tables``, in order, as a stream.

    The engine's tasks of the next ``ahead`` tables are queued behind those of the table being
    finished, on :data:`~roiloss.workers.THREADS` threads: no thread waits at the end of a table
    while another is to do, and the caller's work on a yielded :class:`Rows` (summaries, output)
    runs meanwhile. An error of a task is raised where its table would have been yielded; when the
    caller stops early the queued tasks are dropped and the running ones finish first. A small
    input (one table of one task) starts no thread: tasks run on the calling thread until a
    second table or task comes.

    Example:
        >>> from roiloss.box_table import BoxTable
        >>> from roiloss.boxes import normalise
        >>> from roiloss.semantics import resolve
        >>> chunks = [normalise([(0, 0, 40, 40)]), normalise([(8, 8, 20, 30), (1, 2, 3, 4)])]
        >>> [len(rows) for rows in analyze_chunks(chunks, resolve(stride=16, methods=["roipool"]))]
        [1, 2]
    """
    pending: deque = deque()
    pool = None  # threads only once there is more than one task: a small input runs on this thread
    try:
        for table in tables:
            rows, tasks = _prepared_rows(table, semantics)
            if pool is None and (len(tasks) > 1 or pending):
                from concurrent.futures import ThreadPoolExecutor

                pool = ThreadPoolExecutor(workers.THREADS, thread_name_prefix="roiloss-engine")
            pending.append((rows, [pool.submit(task) for task in tasks] if pool else tasks))
            if len(pending) > ahead:
                yield _finished(*pending.popleft())
        while pending:
            yield _finished(*pending.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _finished(rows: Rows, work: list) -> Rows:
    """``rows`` once their tasks are done: futures, or (before any thread was started) the tasks."""
    for item in work:
        if callable(item):
            item()
        else:
            item.result()
    return rows


def _prepared_rows(table, semantics: Semantics) -> tuple[Rows, list]:
    """:func:`analyze_rows` up to the engine: its :class:`Rows` and the tasks that fill their metrics."""
    table = BoxTable.of(table)
    methods = list(semantics.methods)
    shorts = list(semantics.resize.scales if semantics.resize.active else (None,))
    scales, values, codes, names, tasks = [], [], [], [], []
    coords = [numbers(table[c]) for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    for short in shorts:
        boxes = model_boxes(table, semantics, short)
        scales.append(boxes)
        arrays, scale_tasks = _metric_tasks(boxes, semantics.geometry, methods)
        values.append(arrays)
        tasks += scale_tasks
        with np.errstate(invalid="ignore"):
            sub_cell = ((boxes.x2 - boxes.x1) < boxes.stride) | ((boxes.y2 - boxes.y1) < boxes.stride)
        code, name = flag_codes(*coords, boxes.invalid, sub_cell)
        codes.append(code)
        names.append(name)
    return Rows(table, semantics, shorts, scales, values, codes, names), tasks


def analyze_table(table, semantics: Semantics):
    """One row per box x input scale x method (box-major) for a canonical table, as a DataFrame."""
    return analyze_rows(table, semantics).frame()


def rows_arrow(rows: Rows):
    """The rows of :meth:`Rows.frame` as one Arrow table (plain strings, no pandas): what the CSV
    writer writes (:func:`roiloss.row_tables.row_tables` has them with each box's leading columns once)."""
    from .row_tables import row_tables

    return row_tables(rows).table()
