"""Columnar and line-delimited box tables: Parquet, Arrow IPC (Feather v2) and JSON Lines.

Coordinate convention (docs/semantics.md §6.12): the same as CSV — columns are found by the same
names (§6.2: corners, ``x, y, w, h``, ``xmin, ymin, width, height``, or a ``bbox`` list
``[x, y, w, h]``), in image pixels. Parquet is streamed by row groups (batches of at most
``chunk_rows`` rows), Arrow by record batches, JSON Lines by ``chunk_rows`` lines, so memory stays
bounded. A column of the wrong type (text, booleans, lists where numbers belong) flags its boxes
(``non-numeric x1``…); a file that is not Parquet/Arrow, or is cut short, is an :class:`InputError`.
A JSON Lines line that is not a JSON object is a flagged row (``line is not a JSON object``), its
place is its line; blank lines are skipped.
"""

from __future__ import annotations

import io
from typing import Iterator

import msgspec
import numpy as np
import pandas as pd

from . import boxes as _boxes
from .errors import InputError


def _source(data, path):
    import pyarrow as pa

    return pa.BufferReader(data) if data is not None else path


def arrow_batches(data: bytes | None, path, name: str, fmt: str, chunk_rows: int):
    """Record batches of a Parquet or Arrow IPC file (bytes or a path), and the total row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            reader = pq.ParquetFile(_source(data, path))
            return reader.iter_batches(batch_size=chunk_rows), reader.metadata.num_rows
        try:
            reader = pa.ipc.open_file(_source(data, path))
            return (reader.get_batch(i) for i in range(reader.num_record_batches)), None
        except pa.ArrowInvalid:
            stream = pa.ipc.open_stream(_source(data, path) if data is not None else pa.OSFile(str(path)))
            return iter(stream), None
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name}: not a readable {'Parquet' if fmt == 'parquet' else 'Arrow'} file: {error}") from None


def arrow_chunks(data: bytes | None, path, name: str, fmt: str, columns=None, chunk_rows: int = 250_000):
    """Canonical chunks of a Parquet/Arrow file; the header is checked before the first chunk."""
    import pyarrow as pa

    batches, total = arrow_batches(data, path, name, fmt, chunk_rows)
    try:
        first = next(iter(batches), None)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name}: not a readable {fmt} file: {error}") from None
    if first is None:
        return iter(()), total
    try:
        _boxes.from_frame(first.slice(0, 0).to_pandas(), columns=columns, source=name)
    except ValueError as error:
        raise InputError(str(error)) from None

    def chunks() -> Iterator[pd.DataFrame]:
        offset, batch = 0, first
        while batch is not None:
            frame = batch.to_pandas()
            table = _boxes.from_frame(frame, columns=columns, source=name)
            table["position"] = np.arange(offset, offset + len(table))
            if not _has_id(frame, columns):
                table["roi_id"] = table["position"]
            offset += len(table)
            yield table
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as error:
                raise InputError(f"{name}: row {offset + 1}: cannot read further: {error}") from None

    return chunks(), total


def _has_id(frame: pd.DataFrame, columns) -> bool:
    if columns and "roi_id" in columns:
        return True
    ids = {k for k, v in _boxes.OTHER_ALIASES.items() if v == "roi_id"}
    return bool({str(c).strip().lower() for c in frame.columns} & ids)


class JsonLines:
    """Data row position -> line of the file (blank lines are not rows)."""

    def __init__(self):
        self.lines: list[int] = []

    def line(self, position: int) -> int:
        return self.lines[position] if position < len(self.lines) else position + 1


_DECODER = msgspec.json.Decoder()


def _parse(line: bytes):
    try:
        return _DECODER.decode(line)
    except msgspec.DecodeError:
        import json  # NaN and Infinity, as Python writes them

        try:
            return json.loads(line)
        except ValueError as error:
            return error


def jsonl_chunks(data: bytes, name: str, columns=None, chunk_rows: int = 250_000):
    """Canonical chunks of a JSON Lines document and its :class:`JsonLines` map."""
    lines = JsonLines()
    stream = io.BytesIO(data)
    if data.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
    raw = [(number, line) for number, line in enumerate(stream, 1) if line.strip()]
    if not raw:
        raise InputError(f"{name}: the file is empty")
    first = _parse(raw[0][1])
    if not isinstance(first, dict):
        raise InputError(f"{name}: line {raw[0][0]}: not JSON Lines: the first line is not a JSON object")
    try:
        _boxes.from_frame(pd.DataFrame([first]).head(0), columns=columns, source=name)
    except ValueError as error:
        raise InputError(str(error)) from None
    lines.lines = [number for number, _ in raw]

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, len(raw), chunk_rows):
            records, bad = [], {}
            for k, (number, line) in enumerate(raw[start:start + chunk_rows]):
                value = _parse(line)
                if not isinstance(value, dict):
                    bad[k] = "line is not a JSON object"
                    value = {}
                records.append(value)
            frame = pd.DataFrame.from_records(records)
            for column in frame.columns:  # a key may be missing on some lines
                if frame[column].dtype == object:
                    frame[column] = frame[column].where(frame[column].notna(), None)
            table = _boxes.from_frame(frame, columns=columns, source=name) if len(frame.columns) else None
            if table is None or bad:
                table = _with_bad(table, frame, bad)
            table["position"] = np.arange(start, start + len(table))
            if not _has_id(frame, columns):
                table["roi_id"] = table["position"]
            yield table

    return chunks(), lines


def _with_bad(table, frame, bad: dict[int, str]) -> pd.DataFrame:
    if table is None:
        table = _boxes.from_array(np.full((len(frame), 4), np.nan))
        table["invalid"] = ""
    index = np.array(sorted(bad), dtype=np.int64)
    for column in ("x1", "y1", "x2", "y2"):
        table.loc[index, column] = np.nan
    table.loc[index, "invalid"] = [bad[i] for i in index]
    return table
