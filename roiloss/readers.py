"""Box readers: CSV and COCO JSON (LVIS too), from a file or stdin, into canonical box tables.

:func:`read_boxes` reads a whole file; :func:`iter_boxes` streams it in validated chunks, so a
file of any size is read with bounded memory. A file that cannot be read at all raises
:class:`InputError` naming the file and the place; a bad box inside a good file keeps its row,
marked invalid with the reason (docs/semantics.md §6), unless ``strict`` makes it an error.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from . import boxes as _boxes
from .choices import INPUT_FORMATS
from .coco import read_coco
from .delimited import LineMap, parse_columns, read_csv, sniff_delimiter  # noqa: F401  (parse_columns, sniff_delimiter: public here)
from .geometry import parse_size
from .errors import InputError

CHUNK_ROWS = 250_000  # rows per chunk: bounds memory on inputs of any size
FORMATS = INPUT_FORMATS


@dataclass
class Source:
    """An opened input: its display name, its format, and what reading it found out."""

    name: str
    format: str
    chunks: Iterator[pd.DataFrame]
    notes: dict[str, Any] = field(default_factory=dict)
    lines: LineMap | None = None  # CSV: data row -> line of the file
    progress: Callable[[], tuple[int, int]] | None = None  # () -> (done, total), in ``unit``
    unit: str = "boxes"


def open_boxes(path: str, input_format: str | None = None, columns: dict[str, str] | None = None,
               skip_crowd: bool = False, stdin=None, chunk_rows: int = CHUNK_ROWS) -> Source:
    """Open ``path`` (``-`` = stdin) and return a :class:`Source` whose ``chunks`` are canonical tables.

    ``input_format`` is ``csv`` or ``coco``; when not given it is sniffed from the content. A CSV
    file is streamed from disk; stdin and JSON are read whole.
    """
    if input_format is not None and input_format not in FORMATS:
        raise InputError(f"unknown input format {input_format!r}; choose from {', '.join(FORMATS)}")
    name = "<stdin>" if path == "-" else str(path)
    if path == "-" or _is_stream(path):  # a pipe can be read only once: read it whole, sniff the bytes
        stream = (stdin if stdin is not None else sys.stdin.buffer) if path == "-" else None
        data = stream.read() if stream is not None else _read_all(path, name)
        data = data.encode() if isinstance(data, str) else data
        head = data[:65536]
    else:
        data = None
        head = _read_head(path, name)
    if not head.strip():
        raise InputError(f"{name}: the file is empty")
    fmt = input_format or sniff_format(head)
    if fmt == "coco":
        table, notes = read_coco(data if data is not None else _read_all(path, name), name, skip_crowd=skip_crowd)
        return Source(name, fmt, _split(table, chunk_rows), notes, unit="boxes",
                      progress=lambda: (0, len(table)))
    chunks, lines, progress = read_csv(data if data is not None else path, head, name, columns=columns,
                                       chunk_rows=chunk_rows)
    return Source(name, fmt, chunks, {}, lines, progress, "bytes")


def iter_boxes(path, format: str | None = None, columns: dict[str, str] | None = None, skip_crowd: bool = False,
               strict: bool = False, image_size=None, chunk_rows: int = CHUNK_ROWS, stdin=None) -> Source:
    """Open a box file and stream it as validated canonical tables.

    Args:
        path: a file path, or ``"-"`` for standard input.
        format: ``csv`` or ``coco``; sniffed from the content when ``None``.
        columns: maps canonical names (``x1``, ``x``, ``w``, ``image_id``, ...) to CSV headers.
        skip_crowd: leave out COCO crowd boxes (counted in ``notes["skipped_crowd"]``).
        strict: an invalid box raises :class:`InputError` naming its CSV line or JSON path.
        image_size: ``(W, H)`` or ``"WxH"`` for boxes whose input gives no image size.

    Returns:
        A :class:`Source`: ``name``, ``format``, ``notes`` and ``chunks``, an iterator of canonical
        tables (columns ``roi_id, image_id, category, x1, y1, x2, y2, image_width, image_height,
        invalid`` and ``position``, the box's 0-based place in the file; COCO adds ``iscrowd``).
    """
    image_size = parse_size(image_size)
    source = open_boxes(path, input_format=format, columns=columns, skip_crowd=skip_crowd, stdin=stdin,
                        chunk_rows=chunk_rows)

    def chunks():
        for chunk in source.chunks:
            table = _boxes.normalise(chunk, image_size=image_size)
            if strict:
                _raise_first_invalid(table, source)
            yield table

    return Source(source.name, source.format, chunks(), source.notes, source.lines, source.progress, source.unit)


def read_boxes(path, format: str | None = None, columns: dict[str, str] | None = None, skip_crowd: bool = False,
               strict: bool = False, image_size=None) -> pd.DataFrame:
    """Read a whole box file into one canonical table (see :func:`iter_boxes` for the arguments).

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "boxes.csv"
        >>> _ = path.write_text("x1,y1,x2,y2,label\\n10,20,50,60,cat\\n")
        >>> read_boxes(path)[["category", "x1", "y1", "x2", "y2", "invalid"]].values.tolist()
        [['cat', 10.0, 20.0, 50.0, 60.0, '']]
    """
    source = iter_boxes(path, format=format, columns=columns, skip_crowd=skip_crowd, strict=strict,
                        image_size=image_size)
    tables = list(source.chunks)
    return pd.concat(tables, ignore_index=True) if tables else _boxes.normalise(np.zeros((0, 4)))


def place(table: pd.DataFrame, row: int, fmt: str, lines: LineMap | None = None) -> str:
    """Where box ``row`` of a chunk stands in its file: ``line N`` or ``$.annotations[i].field``."""
    position = int(table["position"].iat[row]) if "position" in table.columns else row
    if fmt == "coco":
        field_ = "image_id" if table["invalid"].iat[row] in ("unknown-image", "bad image size") else "bbox"
        return f"$.annotations[{position}].{field_}"
    return f"line {lines.line(position) if lines is not None else position + 2}"


def _raise_first_invalid(table: pd.DataFrame, source: Source) -> None:
    bad = np.flatnonzero(table["invalid"].to_numpy(dtype=object) != "")
    if len(bad):
        rows = f"{int(table['position'].iat[0])}-{int(table['position'].iat[-1])}" if "position" in table else "all"
        raise InputError(f"{source.name}: {place(table, bad[0], source.format, source.lines)}: invalid box "
                         f"({table['invalid'].iat[bad[0]]}) [strict; {len(bad)} invalid among boxes {rows}]")


def _is_stream(path) -> bool:
    """A FIFO, a character device or a process substitution (``/dev/fd/N``): not seekable."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _read_head(path: str, name: str, size: int = 65536) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(size)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def _read_all(path: str, name: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def sniff_format(head: bytes) -> str:
    """``coco`` when the content is a JSON document, else ``csv``."""
    head = head[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "coco" if head[:1] in (b"{", b"[") else "csv"


def _split(table: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(table), 1), rows):
        yield table.iloc[start:start + rows].reset_index(drop=True)
