"""Delimited text (CSV, TSV, semicolons) into canonical box tables, streamed in chunks.

A plain file (no comments, no odd rows, no spaces around fields; :mod:`roiloss.plain_csv`) is read
by Arrow without pandas; the same columns come out either way. Otherwise pandas' C reader does the
work. Lines that start with ``#`` (after spaces) outside a quoted value are comments: they are
left out before pandas sees the text (:class:`CommentFilter`), so a comment may stand anywhere,
above the header too. A row with more fields than the header does not stop the file:
it becomes a flagged row (``invalid:row has N fields, the header M``) in its place. The file's
physical line of a data row (for ``strict`` messages) is found by :class:`LineMap`, a scan with
Python's ``csv`` module that runs only when a line must be named.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from typing import Iterator

import numpy as np

from . import boxes as _boxes
from .box_table import BoxTable
from .errors import InputError
from .plain_csv import read_plain_csv

COLUMN_NAMES = {"x1", "y1", "x2", "y2", "x", "y", "w", "h", "roi_id", "id", "image_id", "category",
                "image_width", "image_height", "iscrowd"}


_COMMENT = re.compile(rb"(?m)^[ \t]*#[^\n]*(?:\n|\Z)")


class CommentFilter(io.RawIOBase):
    """A binary stream without its ``#`` comment lines (and without a UTF-8 byte order mark), read
    block by block: a block without ``#`` passes unchanged."""

    def __init__(self, raw, block: int = 1 << 20):
        super().__init__()
        self.raw, self.block, self.rest, self.out, self.at, self.first = raw, block, b"", b"", 0, True
        self.quoted = False  # the text read so far ends inside a quoted value

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.at >= len(self.out):
            data = self.raw.read(self.block)
            if self.first:
                data, self.first = data.removeprefix(b"\xef\xbb\xbf"), False
            if not data:
                if not self.rest:
                    return 0
                text, self.rest = self.rest, b""
            else:
                text = self.rest + data
                cut = text.rfind(b"\n") + 1
                text, self.rest = text[:cut], text[cut:]
            self.out, self.at = self._uncommented(text), 0
        size = min(len(buffer), len(self.out) - self.at)
        buffer[:size] = memoryview(self.out)[self.at:self.at + size]
        self.at += size
        return size

    def _uncommented(self, text: bytes) -> bytes:
        comments, self.quoted = comment_lines(text, self.quoted)
        if not comments:
            return text
        kept, at = [], 0
        for match in comments:
            kept.append(text[at:match.start()])
            at = match.end()
        kept.append(text[at:])
        return b"".join(kept)

    def close(self) -> None:
        self.raw.close()
        super().close()


def comment_lines(text: bytes, quoted: bool = False) -> tuple[list, bool]:
    """The comment lines of ``text`` (whole lines, each with its line end) as matches, and whether
    ``text`` ends inside a quoted value. ``quoted``: it starts inside one. A ``#`` line inside a
    quoted value (after an odd number of quotes) is part of the value, not a comment."""
    found, at = [], 0
    for match in _COMMENT.finditer(text) if b"#" in text else ():
        quoted ^= text.count(b'"', at, match.start()) % 2 == 1
        if quoted:
            quoted ^= text.count(b'"', match.start(), match.end()) % 2 == 1
        else:
            found.append(match)
        at = match.end()
    return found, quoted ^ (text.count(b'"', at) % 2 == 1)


def uncommented_lines(text: str) -> list[str]:
    """The lines of ``text`` that are not ``#`` comments."""
    return [line for line in text.splitlines() if not line.lstrip(" \t").startswith("#")]


def sniff_delimiter(first_line: str) -> str:
    """Comma, tab or semicolon: whichever splits the header line into the most fields."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


class LineMap:
    """Data row position -> physical line of the file, and pandas' record numbers of rows.

    Blank lines are not rows (pandas skips them) and a quoted field may span lines, so the line of
    row ``p`` is not ``p + 2`` in general. Built on demand by one scan of the file.
    """

    def __init__(self, data, delimiter: str):
        self.data, self.delimiter = data, delimiter
        self._lines: list[int] | None = None
        self._records: list[int] | None = None

    def _scan(self) -> None:
        if self._lines is not None:
            return
        if isinstance(self.data, bytes):
            raw = self.data
        else:
            with open(self.data, "rb") as handle:
                raw = handle.read()
        comments, _ = comment_lines(raw)
        if comments:  # comment lines: kept as one marker field so that line numbers stay right
            parts, at = [], 0
            for match in comments:
                line = match.group()
                parts += [raw[at:match.start()], b"\x00#", line[len(line.rstrip(b"\r\n")):]]
                at = match.end()
            raw = b"".join(parts + [raw[at:]])
        text = io.StringIO(raw.decode("utf-8-sig", errors="replace"), newline="")
        reader = csv.reader(text, delimiter=self.delimiter)
        lines, records, record, start = [], [], 0, 1
        for row in reader:
            if row == ["\x00#"]:  # a comment line: pandas never sees it
                start = reader.line_num + 1
                continue
            record += 1  # pandas counts every record, blank ones and the header included, from 1
            if row and record > 1:
                lines.append(start)
                records.append(record)
            start = reader.line_num + 1
        self._lines, self._records = lines, records

    def line(self, position: int) -> int:
        """The physical line (1-based) where data row ``position`` starts."""
        self._scan()
        return self._lines[position] if position < len(self._lines) else position + 2

    def position_of_record(self, record: int) -> int:
        """The data row position of pandas' record number ``record``."""
        self._scan()
        return int(np.searchsorted(self._records, record))


def read_csv(data, head: bytes, name: str, columns=None, chunk_rows: int = 250_000):
    """Canonical tables from CSV (bytes or a path), the file's :class:`LineMap` and a progress
    function ``() -> (bytes read, bytes in all)``; raises :class:`InputError` before yielding when
    the header is unusable."""
    try:
        text_head = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the head
            raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
        text_head = head[:error.start].decode("utf-8-sig")
    lines = [line for line in uncommented_lines(text_head) if line.strip()]
    delimiter = sniff_delimiter(lines[0] if lines else "")
    line_map = LineMap(data, delimiter)
    plain = read_plain_csv(data, name, delimiter, chunk_rows)
    if plain is not None:
        try:
            _boxes.from_columns(BoxTable(plain[0]).slice(0, 0), columns=columns, source=name)  # the header names boxes
        except ValueError as error:
            raise InputError(str(error)) from None
        size = len(data) if isinstance(data, bytes) else os.path.getsize(data)
        return _plain_chunks(plain, name, columns), line_map, lambda: (size, size)
    import pandas as pd

    try:
        raw = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
    size = len(data) if isinstance(data, bytes) else os.fstat(raw.fileno()).st_size
    source = io.BufferedReader(CommentFilter(raw), 1 << 20)

    def progress() -> tuple[int, int]:
        try:
            return min(raw.tell(), size), size
        except (ValueError, OSError):  # closed: all read
            return size, size

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            reader = pd.read_csv(source, sep=delimiter, chunksize=chunk_rows, **pandas_options())
            first = next(reader, None)
        except BaseException as error:
            source.close()
            if isinstance(error, pd.errors.EmptyDataError):
                raise InputError(f"{name}: the file is empty (no header line)") from None
            if isinstance(error, UnicodeDecodeError):
                raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
            if isinstance(error, (pd.errors.ParserError, ValueError, OverflowError)):
                _reraise(error, name)
            raise
    if first is None:
        source.close()
        raise InputError(f"{name}: the file is empty")
    try:
        _boxes.from_frame(first.head(0), columns=columns, source=name)  # the header names boxes
    except ValueError as error:
        source.close()
        raise InputError(str(error)) from None
    return _chunks(first, caught, reader, name, columns, line_map, source), line_map, progress


def _plain_chunks(chunks: list[dict], name: str, columns) -> Iterator[BoxTable]:
    """Canonical chunks of a plain file's parsed columns, with ``position``."""
    offset = 0
    for raw in chunks:
        table = _boxes.from_columns(BoxTable(raw), columns=columns, source=name)
        table["position"] = np.arange(offset, offset + len(table))
        if "roi_id" not in _found_ids(raw, columns):
            table["roi_id"] = table["position"]
        offset += len(table)
        yield table


def pandas_options() -> dict:
    """The options of the pandas reader (besides ``sep`` and ``chunksize``), which
    :mod:`roiloss.plain_csv` reproduces: floats correctly rounded (pandas' default from 3.1 on,
    where ``float_precision`` is deprecated)."""
    import pandas as pd

    options = dict(encoding="utf-8-sig", skipinitialspace=True, low_memory=False, on_bad_lines="warn")
    if tuple(int(part) for part in re.findall(r"\d+", pd.__version__)[:2]) < (3, 1):
        options["float_precision"] = "round_trip"
    return options


def _reraise(error: Exception, name: str):
    if _interrupted(error):
        raise KeyboardInterrupt from None
    raise InputError(f"{name}: not a readable CSV: {_parser_message(error)}") from None


def _chunks(first, first_warnings, reader, name, columns, line_map, handle):
    """Canonical chunks with ``position`` (0-based data row) and the long rows put back in place."""
    with handle:
        yield from _parse_chunks(first, first_warnings, reader, name, columns, line_map)


def _parse_chunks(first, first_warnings, reader, name, columns, line_map):
    import pandas as pd

    offset, chunk, caught = 0, first, first_warnings
    ids = None
    while chunk is not None:
        long_rows = [_long_row(w) for w in caught if _long_row(w)]
        table = _boxes.from_frame(chunk, columns=columns, source=name)
        if long_rows:
            table = _with_long_rows(table, long_rows, offset, line_map)
        else:
            table["position"] = np.arange(offset, offset + len(table))
        ids = _found_ids(chunk, columns) if ids is None else ids
        if "roi_id" not in ids:
            table["roi_id"] = table["position"]
        offset += len(table)
        yield table
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            try:
                chunk = next(reader, None)
            except UnicodeDecodeError as error:
                raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
            except (pd.errors.ParserError, ValueError, OverflowError) as error:
                _reraise(error, name)


def _long_row(warning) -> tuple[int, int, int] | None:
    """pandas' "Skipping line N: expected M fields, saw K" -> (N, M, K)."""
    found = re.search(r"line (\d+): expected (\d+) fields?, saw (\d+)", str(warning.message))
    return tuple(int(v) for v in found.groups()) if found else None


def _with_long_rows(table, long_rows, offset: int, line_map: LineMap):
    """Insert a flagged row for every row pandas skipped, at its position in the file."""
    import pandas as pd

    positions = sorted({line_map.position_of_record(record): (expected, seen) for record, expected, seen in long_rows}.items())
    total = len(table) + len(positions)
    slots = np.ones(total, dtype=bool)
    for position, _ in positions:
        slots[position - offset] = False
    flagged = _boxes.from_array(np.full((len(positions), 4), np.nan))
    flagged["invalid"] = [f"row has {seen} fields, the header {expected}" for _, (expected, seen) in positions]
    out = pd.concat([table, flagged], ignore_index=True)
    order = np.empty(total, dtype=np.int64)
    order[slots] = np.arange(len(table))
    order[~slots] = np.arange(len(table), total)
    out = out.iloc[order].reset_index(drop=True)
    out["position"] = np.arange(offset, offset + total)
    return out


def _found_ids(frame, columns) -> set[str]:
    if columns and "roi_id" in columns:
        return {"roi_id"}
    lowered = {str(c).strip().lower().lstrip("\ufeff") for c in (frame.columns if hasattr(frame, "columns") else frame)}
    return {"roi_id"} if lowered & {k for k, v in _boxes.OTHER_ALIASES.items() if v == "roi_id"} else set()


def _interrupted(error: BaseException) -> bool:
    """pandas wraps a Ctrl-C that lands in its reader in a ParserError: unwrap it."""
    seen = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt) or "KeyboardInterrupt" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _parser_message(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"^Error tokenizing data\. C error: ", "", text)


def parse_columns(spec) -> dict[str, str] | None:
    """``"x1=left,y1=top,x2=right,y2=bottom"`` (or a dict) -> ``{"x1": "left", ...}``."""
    if not spec:
        return None
    pairs = spec.items() if isinstance(spec, dict) else (part.partition("=")[::2] for part in str(spec).split(","))
    mapping = {}
    for key, header in pairs:
        key, header = str(key).strip(), str(header).strip()
        if not header or key not in COLUMN_NAMES:
            raise ValueError(f"columns takes NAME=HEADER pairs with NAME in {', '.join(sorted(COLUMN_NAMES))}; "
                             f"got {key}={header}")
        mapping["roi_id" if key == "id" else key] = header
    return mapping
