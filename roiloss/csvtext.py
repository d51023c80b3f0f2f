"""CSV text of Arrow tables, made in memory, so that threads can make the pieces of one document.

Arrow's CSV writer makes every byte: strings quoted, missing values empty, the header the quoted
column names. A :class:`SharedLead` is a table whose leading columns repeat (a box's, once per
method): its lead is written once and each lead line is put before the lines of its rows, which
gives the same bytes as writing the whole table, for about a quarter less work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .arrow_arrays import index_array, string_array

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class SharedLead:
    """Rows whose leading columns repeat: row ``i`` is row ``i // per_lead`` of ``lead`` followed
    by row ``i`` of ``rest`` (both Arrow tables)."""

    lead: pa.Table
    rest: pa.Table
    per_lead: int

    @property
    def num_rows(self) -> int:
        return self.rest.num_rows

    @property
    def schema(self):
        import pyarrow as pa

        return pa.schema(list(self.lead.schema) + list(self.rest.schema))

    def slice(self, offset: int, length: int) -> "SharedLead":
        """Rows ``offset`` to ``offset + length``; both multiples of ``per_lead``."""
        return SharedLead(self.lead.slice(offset // self.per_lead, length // self.per_lead),
                          self.rest.slice(offset, length), self.per_lead)

    def table(self):
        """The rows as one Arrow table."""
        import pyarrow as pa

        lead = self.lead.take(index_array(np.repeat(np.arange(self.lead.num_rows), self.per_lead)))
        return pa.Table.from_arrays(lead.columns + self.rest.columns, schema=self.schema)


def csv_bytes(table, header: bool = False):
    """The CSV text of an Arrow table or :class:`SharedLead` (an Arrow buffer)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if isinstance(table, SharedLead):
        body = _stitched(table)
        return pa.py_buffer(csv_bytes(no_rows(table), True).to_pybytes() + body.to_pybytes()) if header else body
    pool = pa.system_memory_pool()  # malloc reuses freed blocks (tune_allocator): no fresh pages per piece
    sink = pa.BufferOutputStream(memory_pool=pool)
    options = pa_csv.WriteOptions(include_header=header, quoting_style="needed", batch_size=1 << 14)  # not 1024: faster
    pa_csv.write_csv(table, sink, options, memory_pool=pool)
    return sink.getvalue()


def no_rows(table):
    """``table`` (Arrow or :class:`SharedLead`) without its rows, as an Arrow table: for a header.
    (Not ``schema.empty_table()``: that imports pandas.)"""
    if isinstance(table, SharedLead):
        return table.slice(0, 0).table()
    return table.slice(0, 0)


def _stitched(rows: SharedLead):
    """The lead and the rest written apart, each lead line (its line break made a comma) joined
    to the lines of its rows. A value with a line break of its own hides where lines end: then
    the whole table is written at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lead, rest = _lines(rows.lead, end=","), _lines(rows.rest)
    if lead is None or rest is None:
        return csv_bytes(rows.table())
    pool = pa.system_memory_pool()
    lead = pc.take(lead, index_array(np.repeat(np.arange(len(lead)), rows.per_lead)), memory_pool=pool)
    nothing = string_array([""], large=True)[0]  # not pa.scalar: that imports pandas
    lines = pc.binary_join_element_wise(lead, rest, nothing, memory_pool=pool)
    if not len(lines):
        return pa.py_buffer(b"")
    size = int(np.frombuffer(lines.buffers()[1], np.int64)[len(lines)])  # the data buffer may be longer
    return lines.buffers()[2].slice(0, size)


def _lines(table, end: str = "\n"):
    """The CSV lines of ``table``, each ending with ``end`` (a large string array); ``None`` when a
    value holds a line break."""
    import pyarrow as pa

    text = np.frombuffer(csv_bytes(table), np.uint8)
    breaks = np.flatnonzero(text == ord("\n"))
    if len(breaks) != table.num_rows:
        return None
    if end != "\n":
        text = text.copy()
        text[breaks] = ord(end)
    offsets = np.zeros(len(breaks) + 1, np.int64)
    offsets[1:] = breaks + 1
    return pa.LargeStringArray.from_buffers(len(breaks), pa.py_buffer(offsets), pa.py_buffer(text))
