"""Box readers: every box file format into canonical box tables, from files, directories, globs
or stdin (docs/semantics.md §6).

:func:`read_boxes` reads everything into one table; :func:`iter_boxes` streams it in validated
chunks. Each format has its module, whose docstring states its coordinate convention: CSV
(:mod:`roiloss.delimited`), COCO annotations (:mod:`roiloss.coco`), COCO results
(:mod:`roiloss.coco_results`), Pascal VOC (:mod:`roiloss.voc`), YOLO (:mod:`roiloss.yolo`), Open
Images (:mod:`roiloss.openimages`), Parquet, Arrow and JSON Lines (:mod:`roiloss.tabular`);
compression is undone first (:mod:`roiloss.compressed`) and the format detected
(:mod:`roiloss.inputs`). A file that cannot be read at all raises :class:`InputError` naming the
file and the place; a bad box inside a good file keeps its row, marked invalid with the reason
(docs/semantics.md §6.5), unless ``strict`` makes it an error.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from . import boxes as _boxes
from .box_table import BoxTable, as_numpy, numbers
from .choices import INPUT_FORMATS
from .delimited import LineMap, parse_columns, read_csv, sniff_delimiter  # noqa: F401  (LineMap, parse_columns, sniff_delimiter: public here)
from .geometry import parse_size
from .errors import InputError
from .inputs import UTF16_BOMS, compression_of, directory_format, expand, mapped_file, read_file, sniff, unwrap

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 250_000  # rows per chunk: bounds memory on inputs of any size
FORMATS = INPUT_FORMATS


@dataclass
class Source:
    """An opened input: its display name, its format, and what reading it found out."""

    name: str
    format: str
    chunks: Iterator  # of BoxTable (or, from pandas-based readers, DataFrame) chunks
    notes: dict[str, Any] = field(default_factory=dict)
    lines: Any = None  # CSV: a LineMap, JSON Lines: its line map (data row -> line of the file)
    progress: Callable[[], tuple[int, int]] | None = None  # () -> (done, total), in ``unit``
    unit: str = "boxes"
    places: list[str] | None = None  # VOC, YOLO: "file: object N" / "file: line N" of each box


def _unknown_format(given: str) -> InputError:
    return InputError(f"unknown input format {given!r}; the formats understood are: {', '.join(FORMATS)}")


def open_boxes(path: str, input_format: str | None = None, columns: dict[str, str] | None = None,
               skip_crowd: bool = False, stdin=None, chunk_rows: int = CHUNK_ROWS, image_size=None,
               image_sizes=None, images=None) -> Source:
    """Open one input (``-`` = stdin, a file or a VOC/YOLO directory) and return a :class:`Source`
    whose ``chunks`` are canonical tables. ``input_format`` is one of :data:`FORMATS`; when not
    given it is detected (docs/semantics.md §6.1). A plain CSV file is streamed from disk, Parquet and
    Arrow by row groups; other formats, compressed files and stdin are read whole.
    """
    if input_format is not None and input_format not in FORMATS:
        raise _unknown_format(input_format)
    name = "<stdin>" if path == "-" else str(path)
    if path != "-" and os.path.isdir(path):
        return _open_directory(Path(path), name, input_format, image_size, image_sizes)
    if path == "-" or _is_stream(path):  # a pipe can be read only once: read it whole, sniff the bytes
        stream = (stdin if stdin is not None else sys.stdin.buffer) if path == "-" else None
        data = stream.read() if stream is not None else _read_all(path, name)
        data = data.encode() if isinstance(data, str) else data
        head = data[:65536]
    else:
        data = None
        head = _read_head(path, name)
    compression = None
    if compression_of(head) or head.startswith(UTF16_BOMS):
        data, compression = unwrap(data if data is not None else _read_all(path, name), name)
        head = data[:65536]
    if not head.strip():
        raise InputError(f"{name}: the file is empty")
    fmt = input_format or sniff(head, name)
    if fmt == "coco" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
        fmt = "coco-results"  # a bare list is a results file
    label = fmt

    def whole() -> bytes:
        return data if data is not None else _read_all(path, name)

    if fmt == "coco":
        from .coco import read_coco

        with mapped_file(path, name) if data is None else contextlib.nullcontext(data) as content:
            table, notes = read_coco(content, name, skip_crowd=skip_crowd)
        return _whole(name, label, table, notes, chunk_rows)
    if fmt == "coco-results":
        from .coco_results import read_coco_results

        table, notes = read_coco_results(whole(), name, images=images)
        return _whole(name, label, table, notes, chunk_rows)
    if fmt == "voc":
        from .voc import read_voc

        table, notes, places = read_voc([(name, whole())])
        return _whole(name, label, table, notes, chunk_rows, places)
    if fmt == "yolo":
        if path == "-" or data is not None:
            raise InputError(f"{name}: YOLO labels are read from their files (the images beside them give the "
                             "image sizes), not from stdin or a compressed file")
        from .yolo import read_yolo

        table, notes, places = read_yolo(Path(path), parse_size(image_size), _sizes(image_sizes))
        return _whole(name, label, table, notes, chunk_rows, places)
    if fmt in ("parquet", "arrow"):
        from .tabular import arrow_chunks

        chunks, total = arrow_chunks(data, path, name, fmt, columns=columns, chunk_rows=chunk_rows)
        return Source(name, label, chunks, {}, progress=(lambda: (0, total)) if total else None)
    if fmt == "jsonl":
        from .tabular import jsonl_chunks

        chunks, lines = jsonl_chunks(whole(), name, columns=columns, chunk_rows=chunk_rows)
        return Source(name, label, chunks, {}, lines)
    chunks, lines, progress = read_csv(data if data is not None else path, head, name, columns=columns,
                                       chunk_rows=chunk_rows)
    if fmt == "openimages":
        from .openimages import open_images_chunks

        frames = (c.to_pandas() if isinstance(c, BoxTable) else c for c in chunks)  # the Open Images reader takes DataFrames
        chunks = open_images_chunks(frames, name, _sizes(image_sizes), parse_size(image_size))
    return Source(name, label, chunks, {}, lines, progress, "bytes")


def _open_directory(path: Path, name: str, input_format, image_size, image_sizes) -> Source:
    fmt = input_format or directory_format(path)
    if fmt == "voc":
        from .voc import read_voc, voc_files

        files = voc_files(path)
        if not files:
            raise InputError(f"{name}: no Pascal VOC .xml files in this directory or its Annotations folder")
        table, notes, places = read_voc([(str(f), read_file(str(f), str(f))) for f in files])
        return _whole(name, "voc", table, notes, CHUNK_ROWS, places)
    if fmt == "yolo":
        from .yolo import read_yolo

        table, notes, places = read_yolo(path, parse_size(image_size), _sizes(image_sizes))
        return _whole(name, "yolo", table, notes, CHUNK_ROWS, places)
    raise InputError(f"{name}: is a directory, not a file" + (f" (a {fmt} input is one file)" if fmt else ""))


def _whole(name, fmt, table, notes, chunk_rows, places=None) -> Source:
    return Source(name, fmt, _split(table, chunk_rows), notes, unit="boxes", progress=lambda: (0, len(table)),
                  places=places)


def _sizes(image_sizes):
    """``image_sizes``: a path to a CSV ``image_id,width,height``, or a mapping id -> (W, H)."""
    if image_sizes is None or isinstance(image_sizes, dict):
        return image_sizes
    from .openimages import read_image_sizes

    return read_image_sizes(image_sizes)


def _fill_sizes(table: BoxTable, sizes: dict) -> BoxTable:
    """Image sizes by ``image_id`` where the input gave none."""
    if not sizes or not len(table):
        return table
    missing = (np.nan, np.nan)
    known = np.array([sizes.get(str(k), missing) for k in as_numpy(table["image_id"])], dtype=float).reshape(-1, 2)
    for side, index in (("image_width", 0), ("image_height", 1)):
        current = numbers(table[side]) if side in table else np.full(len(table), np.nan)
        table[side] = np.where(np.isnan(current), known[:, index], current)
    return table


def iter_boxes(path, format: str | None = None, columns: dict[str, str] | None = None, skip_crowd: bool = False,
               strict: bool = False, image_size=None, chunk_rows: int = CHUNK_ROWS, stdin=None, image_sizes=None,
               images=None, min_score: float | None = None, source_column: bool | None = None) -> Source:
    """Open box files and stream them as validated canonical tables (DataFrames).

    Args:
        path: a file path, ``"-"`` for standard input, a Pascal VOC or YOLO directory, a glob
            (``"labels/*.xml"``), another directory (its box files), or a list of any of these.
        format: one of :data:`FORMATS` (``csv``, ``coco``, ``coco-results``, ``voc``, ``yolo``,
            ``openimages``, ``jsonl``, ``parquet``, ``arrow``); detected per file when ``None``.
        columns: maps canonical names (``x1``, ``x``, ``w``, ``image_id``, ...) to CSV headers.
        skip_crowd: leave out COCO crowd boxes (counted in ``notes["skipped_crowd"]``).
        strict: an invalid box raises :class:`InputError` naming its file and line, JSON path or row.
        image_size: ``(W, H)`` or ``"WxH"`` for boxes whose input gives no image size.
        image_sizes: a CSV ``image_id,width,height`` (or a dict ``id -> (W, H)``): image sizes by
            ``image_id`` (Open Images, YOLO without images, any input without sizes).
        images: COCO results: the ground-truth annotation file giving image sizes and category names.
        min_score: leave out boxes whose ``score`` (COCO results, YOLO confidences, a CSV ``score``
            column) is below this, counted in ``notes["skipped_low_score"]``; boxes without a score stay.
        source_column: add ``source`` (the file each box comes from); default: when there are
            several inputs.

    Returns:
        A :class:`Source`: ``name``, ``format``, ``notes`` and ``chunks``, an iterator of canonical
        tables (columns ``roi_id, image_id, category, x1, y1, x2, y2, image_width, image_height,
        invalid`` and ``position``, the box's 0-based place in its file; COCO adds ``iscrowd``, VOC
        ``difficult`` and ``truncated``, detections ``score``, several inputs ``source``). A chunk
        never spans two files.
    """
    source = iter_box_tables(path, format=format, columns=columns, skip_crowd=skip_crowd, strict=strict,
                             image_size=image_size, chunk_rows=chunk_rows, stdin=stdin, image_sizes=image_sizes,
                             images=images, min_score=min_score, source_column=source_column)
    source.chunks = (table.to_pandas() for table in source.chunks)
    return source


def iter_box_tables(path, format: str | None = None, columns: dict[str, str] | None = None, skip_crowd: bool = False,
                    strict: bool = False, image_size=None, chunk_rows: int = CHUNK_ROWS, stdin=None,
                    image_sizes=None, images=None, min_score: float | None = None,
                    source_column: bool | None = None) -> Source:
    """:func:`iter_boxes` with chunks as :class:`~roiloss.box_table.BoxTable` (the same columns as
    numpy arrays). A plain CSV file (:mod:`roiloss.plain_csv`) or a COCO file with integer ids,
    read alone, is then read without importing pandas; other inputs may import it."""
    image_size = parse_size(image_size)
    if format is not None and format not in FORMATS:
        raise _unknown_format(format)
    items = expand(path)
    sizes = _sizes(image_sizes)
    if images is not None and not isinstance(images, tuple):
        from .coco_results import read_ground_truth

        images = read_ground_truth(images)  # once for every results file
    with_source = len(items) > 1 if source_column is None else source_column
    options = dict(input_format=format, columns=columns, skip_crowd=skip_crowd, stdin=stdin, chunk_rows=chunk_rows,
                   image_size=image_size, image_sizes=sizes, images=images)
    check = dict(sizes=sizes, image_size=image_size, strict=strict, with_source=with_source, min_score=min_score)
    if len(items) == 1:
        source = open_boxes(items[0], **options)
        return Source(source.name, source.format, _validated(source, **check),
                      source.notes, source.lines, source.progress, source.unit, source.places)
    names = ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
    combined = Source(names, "", iter(()), {"inputs": len(items)}, unit="boxes")

    def chunks():
        formats: list[str] = []
        for item in items:
            source = open_boxes(item, **options)  # one at a time: memory for the largest input only
            formats.append(source.format)
            combined.format = "+".join(dict.fromkeys(formats))
            yield from _validated(source, **check, uniform=True)
            for key, value in source.notes.items():
                if key.startswith("skipped") and isinstance(value, int):
                    combined.notes[key] = combined.notes.get(key, 0) + value

    combined.chunks = chunks()
    return combined


def _validated(source: Source, sizes, image_size, strict: bool, with_source: bool,
               min_score: float | None, uniform: bool = False) -> Iterator[BoxTable]:
    for chunk in source.chunks:
        table = _boxes.normalise_columns(_fill_sizes(BoxTable.of(chunk), sizes), image_size=image_size)
        if min_score is not None and "score" in table:
            with np.errstate(invalid="ignore"):
                low = numbers(table["score"]) < float(min_score)  # no score (NaN): kept
            table = table.take(~low)
            source.notes["skipped_low_score"] = source.notes.get("skipped_low_score", 0) + int(low.sum())
        if strict:
            _raise_first_invalid(table, source)
        if uniform:
            table = _with_extras(table, source.name)
        elif with_source:
            table["source"] = source.name
        yield table


EXTRAS = {"iscrowd": "Int64", "difficult": "Int64", "truncated": "Int64", "score": "float64"}


def _with_extras(columns: BoxTable, name: str) -> BoxTable:
    """Every input's rows with the same columns, so that chunks of different formats write one CSV:
    ``iscrowd, difficult, truncated, score`` (empty where the input has none), then ``source``."""
    import pandas as pd

    table = columns.to_pandas()
    for column, dtype in EXTRAS.items():
        table[column] = table[column].astype(dtype) if column in table.columns else pd.array(
            [None] * len(table), dtype=dtype)
    table["source"] = name
    first = [c for c in table.columns if c not in EXTRAS and c != "source"]
    return BoxTable.of(table[first + list(EXTRAS) + ["source"]])


def read_boxes(path, format: str | None = None, columns: dict[str, str] | None = None, skip_crowd: bool = False,
               strict: bool = False, image_size=None, image_sizes=None, images=None, min_score: float | None = None,
               source_column: bool | None = None) -> pd.DataFrame:
    """Read box files into one canonical table (see :func:`iter_boxes` for the arguments).

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "boxes.csv"
        >>> _ = path.write_text("x1,y1,x2,y2,label\\n10,20,50,60,cat\\n")
        >>> read_boxes(path)[["category", "x1", "y1", "x2", "y2", "invalid"]].values.tolist()
        [['cat', 10.0, 20.0, 50.0, 60.0, '']]
    """
    source = iter_boxes(path, format=format, columns=columns, skip_crowd=skip_crowd, strict=strict,
                        image_size=image_size, image_sizes=image_sizes, images=images, min_score=min_score,
                        source_column=source_column)
    tables = list(source.chunks)
    if not tables:
        return _boxes.normalise(np.zeros((0, 4)))
    import pandas as pd

    return pd.concat(tables, ignore_index=True)


def place(table, row: int, fmt: str, lines=None, places: list[str] | None = None) -> str:
    """Where box ``row`` of a chunk (a DataFrame or BoxTable) stands in its file: ``line N``,
    ``$.annotations[i].field``, ``$[i].bbox``, ``row N`` or, for VOC and YOLO,
    ``file: object N`` / ``file: line N``."""
    position = int(as_numpy(table["position"])[row]) if "position" in table.columns else row
    if places is not None and position < len(places):
        return places[position]
    reason = as_numpy(table["invalid"])[row]
    if fmt == "coco":
        field_ = "image_id" if reason in ("unknown-image", "bad image size") else "bbox"
        return f"$.annotations[{position}].{field_}"
    if fmt == "coco-results":
        field_ = "image_id" if reason in ("unknown-image", "bad image size") else "bbox"
        return f"$[{position}].{field_}"
    if fmt in ("parquet", "arrow"):
        return f"row {position + 1}"
    if fmt == "jsonl" and lines is not None:
        return f"line {lines.line(position)}"
    return f"line {lines.line(position) if lines is not None else position + 2}"


def _raise_first_invalid(table: BoxTable, source: Source) -> None:
    reasons = np.asarray(table["invalid"], dtype=object)
    bad = np.flatnonzero(reasons != "")
    if len(bad):
        position = as_numpy(table["position"]) if "position" in table else None
        rows = f"{int(position[0])}-{int(position[-1])}" if position is not None else "all"
        where = place(table, bad[0], source.format, source.lines, source.places)
        prefix = "" if source.places is not None else f"{source.name}: "
        raise InputError(f"{prefix}{where}: invalid box ({reasons[bad[0]]}) "
                         f"[strict; {len(bad)} invalid among boxes {rows}]")


def _is_stream(path) -> bool:
    """A FIFO, a character device or a process substitution (``/dev/fd/N``): not seekable."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _read_head(path: str, name: str, size: int = 65536) -> bytes:
    return read_file(path, name, size)


def _read_all(path: str, name: str) -> bytes:
    return read_file(path, name)


def sniff_format(head: bytes, name: str = "") -> str:
    """The format of a file from its first bytes and its name (:func:`roiloss.inputs.sniff`)."""
    return sniff(head, name)


def _split(table, rows: int) -> Iterator:
    """A whole table (DataFrame or BoxTable) in chunks of ``rows``."""
    for start in range(0, max(len(table), 1), rows):
        if isinstance(table, BoxTable):
            yield table.slice(start, start + rows)
        else:
            yield table.iloc[start:start + rows].reset_index(drop=True)
