"""Box readers: CSV and COCO JSON (LVIS too), from a file or stdin, into canonical box tables.

:func:`read_boxes` reads a whole file; :func:`iter_boxes` streams it in validated chunks, so a
file of any size is read with bounded memory. A file that cannot be read at all raises
:class:`InputError` naming the file and the place; a bad box inside a good file keeps its row,
marked invalid with the reason (docs/semantics.md §6), unless ``strict`` makes it an error.
"""

from __future__ import annotations

import csv
import gc
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import msgspec
import numpy as np
import pandas as pd

from . import boxes as _boxes
from .geometry import parse_size

CHUNK_ROWS = 250_000  # rows per chunk: bounds memory on inputs of any size
FORMATS = ("csv", "coco")


class InputError(ValueError):
    """The input cannot be read (or, in strict mode, holds an invalid box); the message names the
    file and the place."""


@dataclass
class Source:
    """An opened input: its display name, its format, and what reading it found out."""

    name: str
    format: str
    chunks: Iterator[pd.DataFrame]
    notes: dict[str, Any] = field(default_factory=dict)


def open_boxes(path: str, input_format: str | None = None, columns: dict[str, str] | None = None,
               skip_crowd: bool = False, stdin=None, chunk_rows: int = CHUNK_ROWS) -> Source:
    """Open ``path`` (``-`` = stdin) and return a :class:`Source` whose ``chunks`` are canonical tables.

    ``input_format`` is ``csv`` or ``coco``; when not given it is sniffed from the content. A CSV
    file is streamed from disk; stdin and JSON are read whole.
    """
    if input_format is not None and input_format not in FORMATS:
        raise InputError(f"unknown input format {input_format!r}; choose from {', '.join(FORMATS)}")
    name = "<stdin>" if path == "-" else str(path)
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read()
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
        return Source(name, fmt, _split(table, chunk_rows), notes)
    return Source(name, fmt, read_csv(data if data is not None else path, head, name, columns=columns,
                                      chunk_rows=chunk_rows), {})


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

    return Source(source.name, source.format, chunks(), source.notes)


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


def place(table: pd.DataFrame, row: int, fmt: str) -> str:
    """Where box ``row`` of a chunk stands in its file: ``line N`` or ``$.annotations[i].field``."""
    position = int(table["position"].iat[row]) if "position" in table.columns else row
    if fmt == "coco":
        field_ = "image_id" if table["invalid"].iat[row] in ("unknown-image", "bad image size") else "bbox"
        return f"$.annotations[{position}].{field_}"
    return f"line {position + 2}"


def _raise_first_invalid(table: pd.DataFrame, source: Source) -> None:
    bad = np.flatnonzero(table["invalid"].to_numpy(dtype=object) != "")
    if len(bad):
        rows = f"{int(table['position'].iat[0])}-{int(table['position'].iat[-1])}" if "position" in table else "all"
        raise InputError(f"{source.name}: {place(table, bad[0], source.format)}: invalid box "
                         f"({table['invalid'].iat[bad[0]]}) [strict; {len(bad)} invalid among boxes {rows}]")


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
        return Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def sniff_format(head: bytes) -> str:
    """``coco`` when the content is a JSON document, else ``csv``."""
    head = head[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "coco" if head[:1] in (b"{", b"[") else "csv"


def _split(table: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(table), 1), rows):
        yield table.iloc[start:start + rows].reset_index(drop=True)


# --- CSV -------------------------------------------------------------------------------------


def sniff_delimiter(first_line: str) -> str:
    """Comma, tab or semicolon: whichever splits the header line into the most fields."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def read_csv(data, head: bytes, name: str, columns=None, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Canonical tables from CSV (bytes or a path); raises :class:`InputError` before yielding
    when the header is unusable."""
    try:
        text_head = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the head
            raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
        text_head = head[:error.start].decode("utf-8-sig")
    lines = text_head.splitlines()
    delimiter = sniff_delimiter(lines[0] if lines else "")
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        reader = pd.read_csv(source, sep=delimiter, encoding="utf-8-sig", chunksize=chunk_rows,
                             skipinitialspace=True, low_memory=False, on_bad_lines="error")
        first = next(reader, None)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: the file is empty (no header line)") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as error:
        raise InputError(f"{name}: not a readable CSV: {_parser_message(error)}") from None
    if first is None:
        raise InputError(f"{name}: the file is empty")
    try:
        table = _boxes.from_frame(first, columns=columns, source=name)
    except ValueError as error:
        raise InputError(str(error)) from None
    table["position"] = np.arange(len(first))
    return _csv_chunks(table, reader, name, columns, first_offset=len(first))


def _csv_chunks(table, reader, name, columns, first_offset) -> Iterator[pd.DataFrame]:
    """The first chunk (already parsed to check the header), then the rest; ``position`` is the
    0-based data row, so the file line is ``position + 2``."""
    yield table
    offset = first_offset
    while True:
        try:
            chunk = next(reader, None)
        except UnicodeDecodeError as error:
            raise InputError(f"{name}: not UTF-8 text (byte {error.start})") from None
        except (pd.errors.ParserError, ValueError, OverflowError) as error:
            raise InputError(f"{name}: not a readable CSV: {_parser_message(error)}") from None
        if chunk is None:
            return
        table = _boxes.from_frame(chunk, columns=columns, source=name)
        table["position"] = np.arange(offset, offset + len(chunk))
        if "roi_id" not in _found_ids(chunk, columns):
            table["roi_id"] = table["position"]
        offset += len(chunk)
        yield table


def _found_ids(frame: pd.DataFrame, columns) -> set[str]:
    if columns and "roi_id" in columns:
        return {"roi_id"}
    lowered = {str(c).strip().lower().lstrip("\ufeff") for c in frame.columns}
    return {"roi_id"} if lowered & {k for k, v in _boxes.OTHER_ALIASES.items() if v == "roi_id"} else set()


def _parser_message(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"^Error tokenizing data\. C error: ", "", text)


def parse_columns(spec: str | None) -> dict[str, str] | None:
    """``"x1=left,y1=top,x2=right,y2=bottom"`` -> ``{"x1": "left", ...}``."""
    if not spec:
        return None
    mapping = {}
    allowed = {"x1", "y1", "x2", "y2", "x", "y", "w", "h", "roi_id", "id", "image_id", "category",
               "image_width", "image_height", "iscrowd"}
    for part in spec.split(","):
        key, sep, header = part.partition("=")
        key, header = key.strip(), header.strip()
        if not sep or not header or key not in allowed:
            raise ValueError(f"--columns takes NAME=HEADER pairs with NAME in {', '.join(sorted(allowed))}; got {part!r}")
        mapping["roi_id" if key == "id" else key] = header
    return mapping


# --- COCO JSON -------------------------------------------------------------------------------


class _Image(msgspec.Struct, gc=False):
    id: Any = None
    width: Any = None
    height: Any = None


class _Category(msgspec.Struct, gc=False):
    id: Any = None
    name: Any = None


class _Annotation(msgspec.Struct, gc=False):
    id: Any = None
    image_id: Any = None
    category_id: Any = None
    bbox: Any = None
    iscrowd: Any = 0


class _Coco(msgspec.Struct, gc=False):
    """Only what roiloss reads; ``segmentation`` and every other field are skipped, never built."""

    annotations: list[_Annotation] | None = None
    images: list[_Image] = []
    categories: list[_Category] = []


_DECODER = msgspec.json.Decoder(_Coco)


def read_coco(data: bytes, name: str, skip_crowd: bool = False) -> tuple[pd.DataFrame, dict]:
    """The canonical table of a COCO/LVIS annotation file and what was found while reading it."""
    collecting = gc.isenabled()
    gc.disable()  # a million small objects would trigger useless collections while decoding
    try:
        coco = _DECODER.decode(data.lstrip(b"\xef\xbb\xbf"))
    except msgspec.ValidationError as error:
        raise InputError(f"{name}: not a COCO annotation file: {error}") from None
    except msgspec.DecodeError as error:
        raise InputError(f"{name}: {_json_error(str(error), data)}") from None
    finally:
        if collecting:
            gc.enable()
    if coco.annotations is None:
        raise InputError(f"{name}: $.annotations is missing: not a COCO annotation file")

    anns = coco.annotations
    n = len(anns)
    coords = np.full((n, 4), np.nan)
    invalid = np.full(n, "", dtype=object)
    bboxes = [a.bbox for a in anns]
    try:
        coords[:] = np.array(bboxes, dtype=float).reshape(n, 4)
    except (ValueError, TypeError):  # some bbox is not 4 numbers: look at each
        for i, bbox in enumerate(bboxes):
            numbers = [_number(v) for v in bbox] if isinstance(bbox, list) else None
            if numbers is None or len(numbers) != 4 or any(v is None for v in numbers):
                invalid[i] = "bbox not 4 numbers"
            else:
                coords[i] = numbers
    image_w, image_h, image_problem = _image_sizes(coco.images, [a.image_id for a in anns])
    invalid = np.where(invalid == "", image_problem, invalid)
    crowd = pd.Series([a.iscrowd for a in anns], dtype=object).isin([1, "1"]).to_numpy(dtype=np.int64)
    category_ids = pd.Series([_key(a.category_id) for a in anns], dtype=object)
    names = category_ids.map({_key(c.id): c.name for c in coco.categories})
    ids = _column([a.id for a in anns])
    # negative or zero widths and heights make x2 <= x1 / y2 <= y1 once converted
    with np.errstate(over="ignore", invalid="ignore"):  # huge numbers become inf: flagged, not warned
        x2, y2 = coords[:, 0] + coords[:, 2], coords[:, 1] + coords[:, 3]
    table = pd.DataFrame({
        "roi_id": ids if ids.dtype.kind in "iu" else np.where(pd.isna(ids), np.arange(n), ids),
        "image_id": _column([a.image_id for a in anns]),
        "category": names.where(names.notna(), category_ids).to_numpy(dtype=object),
        "x1": coords[:, 0], "y1": coords[:, 1],
        "x2": x2, "y2": y2,
        "image_width": image_w, "image_height": image_h,
        "iscrowd": crowd, "invalid": invalid,
    })
    table["position"] = np.arange(n)
    notes = {"images": len(coco.images), "annotations": n, "crowd": int(crowd.sum())}
    if skip_crowd:
        table = table[crowd == 0].reset_index(drop=True)
        notes["skipped_crowd"] = int(crowd.sum())
    return table, notes


def _image_sizes(images, wanted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height and problem ("", "unknown-image", "bad image size") of each wanted image id.

    Looked up in C through a pandas index (a Python loop costs seconds on COCO train); a repeated
    image id keeps its last entry.
    """
    known = pd.DataFrame({
        "key": pd.Series([_key(image.id) for image in images], dtype=object),
        "width": [_number(image.width) for image in images],
        "height": [_number(image.height) for image in images],
    }, columns=["key", "width", "height"]).drop_duplicates("key", keep="last")
    width = pd.to_numeric(known["width"], errors="coerce").to_numpy(dtype=float)
    height = pd.to_numeric(known["height"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(width) & np.isfinite(height) & (width > 0) & (height > 0)
    keys = _column(known["key"].tolist())
    wanted = _column(wanted)
    if keys.dtype.kind in "iu" and wanted.dtype.kind in "iu":  # COCO's integer ids: no per-id Python work
        position = pd.Index(keys).get_indexer(wanted)
    else:
        position = pd.Index(keys, dtype=object).get_indexer(pd.Index([_key(w) for w in wanted], dtype=object))
    found = position >= 0
    take = np.where(found, position, 0)
    good = found & (usable[take] if len(known) else found)
    problem = np.where(~found, "unknown-image", np.where(good, "", "bad image size")).astype(object)
    if not len(known):
        return np.full(len(wanted), np.nan), np.full(len(wanted), np.nan), problem
    return np.where(good, width[take], np.nan), np.where(good, height[take], np.nan), problem


def _column(values: list) -> np.ndarray:
    """A list of JSON values as an int64 array when they are all integers, else as objects."""
    if values and all(type(v) is int for v in values):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _key(value):
    """Ids compare as written in JSON, but 3 and 3.0 are the same image."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _json_error(message: str, data: bytes) -> str:
    """msgspec's "(byte N)" -> line and column."""
    match = re.search(r"byte (\d+)", message)
    if match:
        offset = int(match.group(1))
    elif "truncated" in message:
        offset = len(data.rstrip())
    else:
        return f"not valid JSON: {message}"
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    reason = re.sub(r"\s*\(byte \d+\)", "", message)
    return f"line {line}, column {column}: not valid JSON: {reason}"
