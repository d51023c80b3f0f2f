"""Columns of equal length, without pandas: what the command line's readers, engine and summaries
pass along, so that ``roiloss analyze`` pays for importing pandas only where a reader needs it.

A :class:`BoxTable` holds the canonical box columns (:mod:`roiloss.boxes`) as 1-D numpy arrays
(text as ``object`` arrays), or as the pandas arrays a pandas-based reader gave it. The library's
functions return DataFrames (:meth:`BoxTable.to_pandas`).
"""

from __future__ import annotations

import numpy as np


class BoxTable:
    """Named 1-D arrays of one length, in order. ``objects`` names the text columns that stay
    ``object`` in :meth:`to_pandas` (``invalid`` always does); pandas types the others.

    Example:
        >>> table = BoxTable({"x1": np.array([1.0, 2.0]), "category": np.array(["cat", "dog"], dtype=object)})
        >>> len(table), table.columns, table.slice(1, 2)["category"].tolist()
        (2, ['x1', 'category'], ['dog'])
    """

    def __init__(self, columns: dict | None = None, objects=()):
        self._columns: dict = {}
        self.objects = {"invalid", *objects}
        for name, values in (columns or {}).items():
            self[name] = values

    @classmethod
    def of(cls, table) -> "BoxTable":
        """A BoxTable as is, or a DataFrame's columns (their arrays, not copied; ``object``
        columns stay ``object``)."""
        if isinstance(table, cls):
            return table
        return cls({name: table[name].to_numpy() if isinstance(table[name].dtype, np.dtype) else table[name].array
                    for name in table.columns}, objects=[c for c in table.columns if table[c].dtype == object])

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __contains__(self, name) -> bool:
        return name in self._columns

    def __getitem__(self, name: str):
        return self._columns[name]

    def __setitem__(self, name: str, values) -> None:
        """A column: an array (or sequence) of this table's length, or one value for every row."""
        if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
            values = np.full(len(self), values, dtype=object if isinstance(values, str) else None)
        elif not hasattr(values, "dtype"):
            values = np.asarray(values)
        if self._columns and len(values) != len(self):
            raise ValueError(f"column {name!r} has {len(values)} values, the table {len(self)} rows")
        self._columns[name] = values

    def slice(self, start: int, stop: int) -> "BoxTable":
        """Rows ``start`` to ``stop`` (views, no copy)."""
        return BoxTable({name: values[start:stop] for name, values in self._columns.items()}, self.objects)

    def take(self, rows) -> "BoxTable":
        """The rows at these positions, or where this boolean mask is true."""
        return BoxTable({name: values[rows] for name, values in self._columns.items()}, self.objects)

    def to_pandas(self):
        """A DataFrame of these columns (those of ``objects`` as ``object``, the others typed by pandas)."""
        import pandas as pd

        return pd.DataFrame({name: pd.Series(values, dtype=object) if name in self.objects else values
                             for name, values in self._columns.items()}, columns=self.columns)

    @staticmethod
    def concat(tables: list["BoxTable"]) -> "BoxTable":
        """The rows of ``tables`` one after the other (they have the same columns)."""
        if len(tables) == 1:
            return tables[0]
        out = {}
        for name in tables[0].columns:
            parts = [t[name] for t in tables]
            if all(isinstance(p, np.ndarray) for p in parts):
                out[name] = np.concatenate(parts)
            else:  # pandas arrays of one dtype
                out[name] = type(parts[0])._concat_same_type(parts)
        return BoxTable(out, tables[0].objects)


def numbers(column) -> np.ndarray:
    """A column as float64 (missing values NaN), from numpy or pandas arrays."""
    if isinstance(column, np.ndarray):
        return column.astype(float, copy=False)
    return column.to_numpy(dtype=float, na_value=np.nan)


def as_numpy(column) -> np.ndarray:
    """A column as a numpy array (pandas arrays as their ``to_numpy()``: ``NA`` kept)."""
    return column if isinstance(column, np.ndarray) else column.to_numpy()


def missing(column) -> np.ndarray:
    """Where a column (numpy or pandas array) holds no value: NaN, None or ``pandas.NA``."""
    if isinstance(column, np.ndarray) and column.dtype.kind in "iub":
        return np.zeros(len(column), dtype=bool)
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        return np.isnan(column)
    if isinstance(column, np.ndarray) and column.dtype == object:
        try:
            return np.asarray((column != column) | np.equal(column, None), dtype=bool)
        except TypeError:  # pandas.NA compares to NA, not to a bool
            pass
    import pandas as pd

    return np.asarray(pd.isna(column), dtype=bool)
