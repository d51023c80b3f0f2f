"""Arrow arrays from numpy without ``pyarrow.array``.

``pyarrow.array`` (and ``pyarrow.scalar``) import pandas, when it is installed, to ask whether
their input is a pandas object: 0.4 s, most of what a small CSV output costs. These build the same
arrays from buffers: numbers with NaN as null, text from Python strings. Anything else returns
``None`` and the caller uses ``pyarrow.array``.
"""

from __future__ import annotations

import numpy as np

from .box_table import missing


def _validity(present: np.ndarray):
    """Arrow's validity bitmap of a boolean mask, ``None`` when every value is present."""
    import pyarrow as pa

    return None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))


def number_array(values, integer: bool = False):
    """float64 values (``integer``: whole numbers as int64), NaN as null; what
    ``pyarrow.array(values, from_pandas=True)`` gives."""
    import pyarrow as pa

    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    data = np.where(present, values, 0).astype(np.int64) if integer else np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.int64() if integer else pa.float64(), len(values),
                                 [_validity(present), pa.py_buffer(data)])


def index_array(values):
    """Row numbers as an int64 array (for ``take``)."""
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def string_array(texts, present=None, large: bool = False):
    """Python strings as a string array; ``present``: a boolean mask, null where False (those
    entries of ``texts`` must be strings too, e.g. empty)."""
    import pyarrow as pa

    encoded = list(map(str.encode, texts))  # UTF-8, in C: no Python loop per value
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    kind = pa.LargeStringArray if large else pa.StringArray
    validity = None if present is None else _validity(np.asarray(present, dtype=bool))
    return kind.from_buffers(len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)), validity)


def column_array(column):
    """A column of a box table as ``pyarrow.array(column, from_pandas=True)`` makes it, for
    int64, float64 and bool arrays and object arrays of strings and missing values; ``None``
    for anything else."""
    import pyarrow as pa

    if not isinstance(column, np.ndarray):
        return None
    if column.dtype == np.int64:
        return pa.Array.from_buffers(pa.int64(), len(column), [None, pa.py_buffer(np.ascontiguousarray(column))])
    if column.dtype == np.float64:
        return number_array(column)
    if column.dtype == bool:
        return pa.Array.from_buffers(pa.bool_(), len(column),
                                     [None, pa.py_buffer(np.packbits(column, bitorder="little"))])
    if column.dtype == object:
        gone = missing(column)
        kept = column[~gone]
        if not all(map(str.__instancecheck__, kept)):
            return None
        try:
            return string_array(np.where(gone, "", column).tolist(), present=~gone)
        except UnicodeEncodeError:  # a lone surrogate: pyarrow.array says what it makes of it
            return None
    return None
