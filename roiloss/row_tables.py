"""The rows of an analysis (:class:`~roiloss.analysis.Rows`) as Arrow tables for the CSV writer.

Rows are box-major (box, input scale, method), so the columns that depend on the box and the scale
only come once per box and scale (:attr:`~roiloss.csvtext.SharedLead.lead`) and the others once per
row (:attr:`~roiloss.csvtext.SharedLead.rest`): the CSV writer formats the lead once for all
methods.
"""

from __future__ import annotations

import numpy as np

from .analysis import Rows, passed_through
from .arrow_arrays import column_array, index_array, number_array, string_array
from .box_table import as_numpy, missing, numbers
from .csvtext import SharedLead
from .methods import METHODS
from .metrics import METRICS


def row_tables(rows: Rows) -> SharedLead:
    """The rows of :meth:`Rows.frame <roiloss.analysis.Rows.frame>` as Arrow (plain strings, no
    pandas): the box as given, the model's frame, level and stride per box and scale; preset,
    method, pool, sampling ratio, mapper, metrics, passed-through columns and flags per row."""
    import pyarrow as pa

    table, semantics = rows.table, rows.semantics
    methods = rows.methods
    n, k, m = len(table), len(rows.scales), len(methods)

    def box_major(arrays):  # one array per scale, (boxes,) or (boxes, methods) -> box, scale[, method]
        return arrays[0].ravel() if k == 1 else np.stack(arrays, axis=1).ravel()

    def constant(text):
        return string_array([text]).take(index_array(np.zeros(n * k * m, dtype=np.int64)))

    lead = {c: _arrow_column(table[c], k) for c in ("roi_id", "image_id", "category")}
    for c in ("x1", "y1", "x2", "y2"):
        lead[c] = number_array(np.repeat(numbers(table[c]), k))
    if semantics.resize.active:
        if rows.shorts[0] is not None:
            lead["short_side"] = number_array(np.tile(np.asarray(rows.shorts, dtype=float), n))
        for name in ("width", "height"):
            lead[f"model_{name}"] = number_array(box_major([getattr(mb, name) for mb in rows.scales]))
        for name in ("scale_x", "scale_y"):
            lead[name] = number_array(box_major([getattr(mb, name) for mb in rows.scales]))
    if rows.scales[0].level is not None:
        level = box_major([mb.level for mb in rows.scales]).astype(float)
        lead["level"] = number_array(np.where(level >= 0, level, np.nan), integer=True)
    lead["stride"] = number_array(box_major([mb.stride for mb in rows.scales]))

    rest = {}
    if semantics.preset:
        rest["preset"] = constant(semantics.preset)
    rest["method"] = string_array(methods).take(index_array(np.tile(np.arange(m), n * k)))
    pool_rows, pool_cols = semantics.geometry.pool
    rest["pool"] = constant(f"{pool_rows}x{pool_cols}")
    samples = np.array([semantics.geometry.sampling_ratio if METHODS[name].sampled else np.nan for name in methods])
    rest["sampling_ratio"] = number_array(np.tile(samples, n * k), integer=True)
    if semantics.pyramid is not None:
        rest["mapper"] = constant(semantics.pyramid.mapper)
    for name in METRICS:
        rest[name] = number_array(box_major([v[name] for v in rows.values]), integer=name == "empty_bins")
    for name in passed_through(table):
        rest[name] = _arrow_column(table[name], k * m)
    offsets = np.cumsum([0] + [len(names) for names in rows.flag_names[:-1]])
    codes = box_major([c.astype(np.int64) + o for c, o in zip(rows.flag_codes, offsets)])
    names = string_array([str(v) for names in rows.flag_names for v in names])
    rest["flags"] = names.take(index_array(np.repeat(codes, m)))
    return SharedLead(pa.table(lead), pa.table(rest), m)


def _arrow_column(column, repeat: int):
    """A column of the box table (numpy or pandas array) as Arrow, each value ``repeat`` times
    (mixed Python types become text)."""
    import pyarrow as pa

    array = column_array(column)
    if array is None:
        try:
            array = pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            values = np.asarray(as_numpy(column), dtype=object)
            array = pa.array([None if gone else str(v) for v, gone in zip(values, missing(values))],
                             type=pa.string())
    return array if repeat == 1 else array.take(index_array(np.repeat(np.arange(len(array)), repeat)))
