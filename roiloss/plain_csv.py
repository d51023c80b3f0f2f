"""A fast reader for *plain* CSV files, exact to pandas' chunks, that never imports pandas.

:func:`read_plain_csv` gives, chunk by chunk, what ``pandas.read_csv`` (the C parser, with the
options of :func:`roiloss.delimited.pandas_options`: floats correctly rounded) gives: the same column
names and, per column, the same numpy dtype kind and values. It says ``None`` ("not plain: read it
with pandas") for every file it cannot prove it reproduces; a ``None`` costs time, a wrong value
would be a defect.

How pandas types a column, chunk by chunk (``tests/test_plain_csv.py`` holds both engines to it):
the NA spellings of :data:`NA_VALUES` are missing, quoted or not; a chunk whose values are all
integers (``[+-]?[0-9]+``, so ``007`` and ``+5`` too) and none missing is int64; integers and missing
ones are float64 of the integers (``-0`` gives 0.0); numbers (``1e5``, ``.5``, ``5.``, ``inf``,
``-Infinity``, ``1e999``) and missing ones are float64, correctly rounded; ``true``/``false`` in any
case is bool, or object (``True``, ``False``, NaN) when some are missing; anything else is text, an
object array of ``str`` with NaN where missing and numbers kept as written. A NaN spelled other than
in :data:`NA_VALUES` (``NAN``, ``+nan``) is text to pandas; so are hexadecimal (``0x10``), ``1_000``,
non-ASCII digits and dates.

Two engines parse, with that one typing model:

* ``"python"`` (files up to :data:`SMALL_BYTES`): Python's ``csv`` module; pyarrow is not imported.
* ``"arrow"``: ``pyarrow.csv`` on the whole file (memory-mapped), multi-threaded, with pyarrow's own
  type inference. Its int64, float64 and bool columns are taken where that provably is pandas'
  chunk type: a float chunk that is all integral and none missing (pandas' int64 if they were
  written as integers), or holds a -0.0 among integral values, a NaN or a magnitude of 2**63 or
  more, is read again as strings. String columns come dictionary-encoded, typed one distinct value
  at a time as the Python engine types them. ``pyarrow.compute`` is not imported (0.15 s), nor
  ``to_numpy`` called (it imports pandas): numpy reads pyarrow's buffers.

Not plain (``None``): a path that cannot be read; a file over :data:`MAX_BYTES`; invalid UTF-8; a NUL
byte; a second byte order mark; comment lines (``#`` after optional spaces or tabs at a line start,
also inside a quoted value: :class:`roiloss.delimited.CommentFilter` drops such lines whatever the
quoting); a lone carriage return (pandas loses a row after one in places); no data row; fewer than
two columns; empty, duplicate or whitespace-padded header names; a row whose field count is not the
header's (a trailing delimiter too); an unterminated quote; a field with leading or trailing
whitespace (pyarrow: a space or a tab next to a delimiter or a line end; pandas strips spaces after a
delimiter and around numbers); an integer beyond int64 (pandas then makes uint64, Python ints, or text
keeping its NA spellings, depending on the order of the values); with the Python engine, text after
a closing quote (``"ab"c``); any pyarrow error; and, in use, any unexpected error of this module.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
import re
import threading

import numpy as np

MAX_BYTES = 256 << 20  # larger files are streamed by pandas, bounding memory
SMALL_BYTES = 64 << 10  # up to this size the Python engine reads (importing pyarrow costs more)
RAISE_DEFECTS = False  # tests set it: an unexpected error here raises instead of saying "not plain"

NA_VALUES = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                       "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

_BOM = b"\xef\xbb\xbf"
_COMMENT = re.compile(rb"[\r\n][ \t]*#")
_FIRST_COMMENT = re.compile(rb"[ \t]*#")
_CONTENT = re.compile(rb"[^ \t\r\n\x0b\x0c]")
_WHITESPACE = " \t\n\r\x0b\x0c"
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity))")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# kinds of one distinct value, in the order of pandas' tries
_NULL, _INT_KIND, _FLOAT_KIND, _BOOL_KIND, _TEXT = range(5)


class NotPlain(Exception):
    """The file is not plain: pandas must read it."""


def read_plain_csv(data: bytes | str, name: str, delimiter: str, chunk_rows: int, *,
                   engine: str | None = None, block_size: int | None = None) -> list[dict[str, np.ndarray]] | None:
    """The chunks of ``chunk_rows`` rows that pandas would give (header name -> 1-D array), or
    ``None`` when the file is not plain.

    ``data`` is the file's bytes or a path; ``delimiter`` is ``","``, ``"\\t"`` or ``";"``.
    ``engine`` forces ``"python"`` or ``"arrow"`` (default: by size, :data:`SMALL_BYTES`);
    ``block_size`` is pyarrow's block size (tests make it small to cross block boundaries).
    A Ctrl-C propagates as :class:`KeyboardInterrupt`.
    """
    del name  # messages are the pandas reader's
    try:
        raw = _load(data)
        if raw is None or chunk_rows < 1 or delimiter not in (",", "\t", ";"):
            return None
        start = _start(raw)
        if engine is None:
            engine = "python" if len(raw) <= SMALL_BYTES else "arrow"
        if engine == "python":
            _scan(raw, start, delimiter)
            return _read_python(raw[start:], delimiter, chunk_rows)
        if engine == "arrow":
            return _read_arrow(raw, start, delimiter, chunk_rows, block_size)
        raise ValueError(f"engine is 'python' or 'arrow', not {engine!r}")
    except NotPlain:
        return None
    except (UnicodeDecodeError, csv.Error, OverflowError):
        return None
    except Exception as error:  # pyarrow refuses a parse or a conversion; or a defect of this module
        if type(error).__name__ == "ArrowCancelled":  # a signal pyarrow turned into an error
            raise KeyboardInterrupt from error
        if not (type(error).__module__ or "").startswith("pyarrow") and RAISE_DEFECTS:
            raise
        return None  # pandas reads it


def _load(data) -> bytes | mmap.mmap | None:
    """The file's bytes: memory-mapped when large (no copy), None when unreadable or too large."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        return raw if len(raw) <= MAX_BYTES else None
    try:
        with open(data, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                return None
            if size <= SMALL_BYTES:
                return handle.read()
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _start(raw) -> int:
    """Where the text starts (after its byte order mark); raises :class:`NotPlain` for a blank file."""
    start = len(_BOM) if raw[:len(_BOM)] == _BOM else 0
    if raw[start:start + len(_BOM)] == _BOM:  # pandas keeps a second one in the first name, pyarrow drops it
        raise NotPlain
    if not _CONTENT.search(raw, start):
        raise NotPlain
    return start


def _scan(raw, start: int, delimiter: str, arrow: bool = False) -> bool:
    """Raises :class:`NotPlain` for NUL bytes, comment lines, lone carriage returns and (``arrow``)
    fields padded with spaces; returns whether ``0x`` occurs (``arrow``). Searches with ``find``
    (memchr), which a mmap has too; pyarrow parses meanwhile (:func:`_read_arrow`)."""
    if raw.find(b"\x00", start) != -1:
        raise NotPlain
    if raw.find(b"#", start) != -1 and (_FIRST_COMMENT.match(raw, start) or _COMMENT.search(raw, start)):
        raise NotPlain
    if raw.find(b"\r", start) != -1:  # pandas loses a row after a lone carriage return in places ("\n\r,")
        codes = np.frombuffer(raw, dtype=np.uint8)
        at = np.flatnonzero(codes == 0x0D)
        if at[-1] == len(codes) - 1 or (codes[at + 1] != 0x0A).any():
            raise NotPlain
    if not arrow:
        return False
    if _padded(raw, start, delimiter):  # pyarrow trims spaces around numbers, pandas in its own ways
        raise NotPlain
    return _hex_like(raw, start)  # pyarrow reads 0x10 as the integer 16, pandas as text


class _Scanning(threading.Thread):
    """:func:`_scan` in a thread: ``find`` holds the GIL, pyarrow's parse lets it go."""

    def __init__(self, *args):
        super().__init__(daemon=True)
        self.args, self.hex_like, self.error = args, None, None
        self.start()

    def run(self) -> None:
        try:
            self.hex_like = _scan(*self.args, arrow=True)
        except BaseException as error:  # re-raised in the reading thread by result()
            self.error = error

    def result(self) -> bool:
        self.join()
        if self.error is not None:
            raise self.error
        return self.hex_like


def _check_names(names) -> list[str]:
    names = list(names)
    if len(names) < 2 or len(set(names)) != len(names):
        raise NotPlain
    for column in names:
        if not column or column != column.strip(_WHITESPACE) or "\ufeff" in column:
            raise NotPlain
    return names


# --- typing distinct values, as pandas does -------------------------------------------------------


def _kind(value: str) -> int:
    """The kind of one value; raises :class:`NotPlain` where pandas' result depends on more than the
    value's kind (whitespace around it, an integer beyond int64)."""
    if value in NA_VALUES:
        return _NULL
    if value != value.strip(_WHITESPACE):
        raise NotPlain
    if _INT.fullmatch(value):
        if not _INT64_MIN <= int(value) <= _INT64_MAX:
            raise NotPlain
        return _INT_KIND
    if _FLOAT.fullmatch(value):
        return _FLOAT_KIND
    if value.lower() in ("true", "false"):
        return _BOOL_KIND
    return _TEXT


class _Distinct:
    """One column as its distinct values (repeats allowed; ``None`` for a missing one), their kinds,
    and each row's code into them; :meth:`chunk` types a run of rows as pandas types a chunk."""

    def __init__(self, values: list, kinds: np.ndarray, codes: np.ndarray):
        self.values, self.kinds, self.codes = values, kinds, codes
        self.tables: dict[str, np.ndarray] = {}

    def chunk(self, start: int, stop: int) -> np.ndarray:
        codes = self.codes[start:stop]
        present = np.bincount(self.kinds[codes], minlength=5) > 0
        if present[_TEXT] or (present[_BOOL_KIND] and (present[_INT_KIND] or present[_FLOAT_KIND])):
            return self.table("text")[codes]
        if present[_BOOL_KIND]:
            return self.table("bool_object" if present[_NULL] else "bool")[codes]
        if present[_INT_KIND] and not present[_FLOAT_KIND]:  # pandas parses integers, then upcasts
            return self.table("int")[codes] if not present[_NULL] else self.table("int_float")[codes]
        return self.table("float")[codes]

    def table(self, kind: str) -> np.ndarray:
        """Every distinct value as ``kind``: "text", "int", "int_float", "float", "bool", "bool_object"."""
        if kind not in self.tables:
            values, kinds = self.values, self.kinds
            if kind == "text":
                table = np.empty(len(values), dtype=object)
                table[:] = values
                table[kinds == _NULL] = np.nan
            elif kind == "float":
                table = np.full(len(values), np.nan)
                for i in np.flatnonzero((kinds == _INT_KIND) | (kinds == _FLOAT_KIND)).tolist():
                    table[i] = float(values[i])
            elif kind == "int_float":  # -0 is 0.0 here, -0.0 where a float is in the chunk
                table = self.table("int").astype(np.float64)
                table[kinds == _NULL] = np.nan
            elif kind == "int":
                table = np.zeros(len(values), dtype=np.int64)
                for i in np.flatnonzero(kinds == _INT_KIND).tolist():
                    table[i] = int(values[i])
            elif kind == "bool":
                table = np.zeros(len(values), dtype=bool)
                for i in np.flatnonzero(kinds == _BOOL_KIND).tolist():
                    table[i] = values[i].lower() == "true"
            else:
                table = np.empty(len(values), dtype=object)
                table[:] = self.table("bool").tolist()
                table[kinds == _NULL] = np.nan
            self.tables[kind] = table
        return self.tables[kind]


# --- the Python engine ----------------------------------------------------------------------------


def _read_python(raw: bytes, delimiter: str, chunk_rows: int) -> list[dict[str, np.ndarray]]:
    text = raw.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        skipinitialspace=False, strict=True)
    names = _check_names(next((row for row in reader if row), ()))  # pandas skips blank lines
    width = len(names)
    rows = [row for row in reader if row]  # pandas skips blank lines
    if not rows or any(len(row) != width for row in rows):
        raise NotPlain
    columns = []
    for cells in zip(*rows):
        index: dict[str, int] = {}
        codes = np.array([index.setdefault(cell, len(index)) for cell in cells], dtype=np.intp)
        values = list(index)
        columns.append(_Distinct(values, np.array([_kind(v) for v in values], dtype=np.int8), codes))
    return [{name: column.chunk(start, start + chunk_rows) for name, column in zip(names, columns)}
            for start in range(0, len(rows), chunk_rows)]


# --- the pyarrow engine ---------------------------------------------------------------------------


def _case_variants(word: str) -> list[str]:
    variants = [""]
    for char in word:
        variants = [v + c for v in variants for c in dict.fromkeys((char.lower(), char.upper()))]
    return variants


def _read_arrow(raw, start: int, delimiter: str, chunk_rows: int,
                block_size: int | None) -> list[dict[str, np.ndarray]]:
    """pyarrow reads ``raw`` (bytes or a mmap) with its byte order mark: it drops one itself."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if raw[-1:] not in (b"\n", b"\r"):
        raw = bytes(raw) + b"\n"  # an unterminated quote then takes the newline in: trailing whitespace
    scanning = _Scanning(raw, start, delimiter)
    buffer = pa.py_buffer(raw)
    if not block_size:  # large blocks, two per core: as fast, and most chunks are views of one block
        block_size = max(1 << 20, min(64 << 20, len(raw) // max(4, 2 * (os.cpu_count() or 1)) + 1))
    read_options = pa_csv.ReadOptions(block_size=block_size)
    dictionary = pa.dictionary(pa.int32(), pa.string())

    def read(newlines: bool, strings=(), only=None):
        parse = pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                                    newlines_in_values=newlines, ignore_empty_lines=True)
        convert = pa_csv.ConvertOptions(
            null_values=sorted(NA_VALUES), strings_can_be_null=True, quoted_strings_can_be_null=True,
            true_values=_case_variants("true"), false_values=_case_variants("false"),
            column_types={c: dictionary for c in strings}, include_columns=only, timestamp_parsers=[],
            auto_dict_encode=True, auto_dict_max_cardinality=(1 << 31) - 1)
        return pa_csv.read_csv(buffer, read_options=read_options, parse_options=parse, convert_options=convert)

    # newlines_in_values=False lets pyarrow cut blocks at any line end: faster, and exact unless a
    # cut falls in a quoted value. Then the rest of that value starts the next block, unquoted, and
    # pyarrow may say nothing: a value holds the closing quote, or a line end, and the value's first
    # part is lost. So a value with a quote or a line end in it has the file read again, cut right.
    quoted = raw.find(b'"', start) != -1
    newlines = False
    forced: set[str] = set()  # columns whose first block's type a later block refuted: strings
    while True:
        try:
            table = read(newlines, forced)
        except pa.ArrowInvalid as error:
            message = str(error)
            refuted = re.search(r"In CSV column #(\d+): CSV conversion error", message)
            if not refuted and quoted and not newlines:
                newlines = True  # "out of sync with chunker", "expected N columns, got M"
                continue
            if not refuted or "UTF8" in message:
                raise NotPlain from None
            parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines)
            header = pa_csv.open_csv(buffer, read_options=read_options, parse_options=parse).schema.names
            number = int(refuted.group(1))
            if number >= len(header) or header[number] in forced:
                raise NotPlain from None
            forced.add(header[number])
            continue
        if quoted and not newlines and _quote_or_line_end_in_values(table, pa):
            newlines = True
            continue
        break
    hex_like = scanning.result()
    names = _check_names(table.column_names)
    rows = table.num_rows
    if not rows:
        raise NotPlain
    starts = range(0, rows, chunk_rows)

    parts: dict[str, list] = {}  # column -> per chunk an array, or None: type it from its strings
    for column in names:
        array = table.column(column)
        kind = array.type
        if pa.types.is_dictionary(kind):
            if kind.value_type != pa.string():
                raise NotPlain  # binary: not UTF-8
            parts[column] = [None] * len(starts)
        elif pa.types.is_null(kind):
            parts[column] = [np.full(min(chunk_rows, rows - s), np.nan) for s in starts]
        elif kind == pa.int64() and not hex_like:
            parts[column] = _int_chunks(_runs(array, np.int64, starts, chunk_rows))
        elif kind == pa.float64():
            parts[column] = _float_chunks(_runs(array, np.float64, starts, chunk_rows))
        elif kind == pa.bool_():
            parts[column] = _bool_chunks(_runs(array, bool, starts, chunk_rows))
        else:  # dates, times, timestamps (text to pandas); hexadecimal-looking integers
            parts[column] = [None] * len(starts)

    strings = {c: table.column(c) for c in names
               if any(p is None for p in parts[c]) and pa.types.is_dictionary(table.column(c).type)}
    again = [c for c in names if any(p is None for p in parts[c]) and c not in strings]
    if again:
        reread = read(newlines, again, again)
        if reread.num_rows != rows or any(reread.column(c).type != dictionary for c in again):
            raise NotPlain
        strings.update({c: reread.column(c) for c in again})
    for column, array in strings.items():
        needed = [(s, s + chunk_rows) for s, p in zip(starts, parts[column]) if p is None]
        distinct = _arrow_distinct(array, needed)
        parts[column] = [distinct.chunk(s, s + chunk_rows) if p is None else p for s, p in zip(starts, parts[column])]
    return [{column: parts[column][i] for column in names} for i in range(len(starts))]


def _quote_or_line_end_in_values(table, pa) -> bool:
    """Whether a value of a string column holds a quote, a line feed or a carriage return."""
    for array in table.columns:
        if not pa.types.is_dictionary(array.type):
            continue
        for chunk in array.chunks:
            words = chunk.dictionary
            if not len(words):
                continue
            _, offsets, data = words.buffers()
            ends = np.frombuffer(offsets, dtype=np.int32)[[words.offset, words.offset + len(words)]]
            text = np.frombuffer(data, dtype=np.uint8)[ends[0]:ends[1]]
            if _QUOTE_OR_LINE_END[text].any():
                return True
    return False


def _padded(raw, start: int, delimiter: str) -> bool:
    """Whether a space or a tab (not the delimiter) stands next to a delimiter or a line end, or
    first: a field that may have leading or trailing whitespace. ``raw`` ends with a line end."""
    if raw.find(b"\x0b", start) != -1 or raw.find(b"\x0c", start) != -1:
        return True
    blanks = [blank for blank in (b" ", b"\t") if blank != delimiter.encode() and raw.find(blank, start) != -1]
    if not blanks:
        return False
    edge = np.zeros(256, dtype=bool)
    edge[[ord(delimiter), 0x0A, 0x0D]] = True
    codes = np.frombuffer(raw, dtype=np.uint8, offset=start)
    for blank in blanks:
        at = np.flatnonzero(codes == ord(blank))
        if len(at) and (at[0] == 0 or edge[codes[at - 1]].any() or edge[codes[at + 1]].any()):
            return True
    return False


def _hex_like(raw, start: int) -> bool:
    """Whether ``0x`` or ``0X`` occurs: looked for from each ``x`` (rare in box files but for their
    header), as searching for the pair itself is ten times slower."""
    for letter in (b"x", b"X"):
        at, seen = raw.find(letter, start + 1), 0
        while at != -1:
            if raw[at - 1] == 0x30:
                return True
            seen += 1
            if seen > 1000:
                return raw.find(b"0" + letter, start) != -1
            at = raw.find(letter, at + 1)
    return False


def _bits(buffer, offset: int, length: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")[offset:offset + length].view(bool)


def _runs(array, dtype, starts, size):
    """Per chunk of rows, a chunked pyarrow column's values (anything where missing) and missing
    mask (None: none missing), from its buffers (``to_numpy`` would import pandas): a writable view
    of pyarrow's buffer where the chunk lies in one of its blocks, else a copy."""
    values, masks, ends = [], [], []
    for chunk in array.chunks:
        length, offset = len(chunk), chunk.offset
        if not length:
            continue
        validity, data = chunk.buffers()[:2]
        if dtype is bool:
            part = _bits(data, offset, length).copy()
        else:
            part = np.frombuffer(data, dtype=dtype)[offset:offset + length]
        values.append(part)
        masks.append(~_bits(validity, offset, length) if chunk.null_count else None)
        ends.append((ends[-1] if ends else 0) + length)
    bounds = np.array([0] + ends)
    for start in starts:
        stop = min(start + size, int(bounds[-1]))
        first = int(np.searchsorted(bounds, start, side="right")) - 1
        last = int(np.searchsorted(bounds, stop, side="left")) - 1
        pieces = [(values[i][max(start, bounds[i]) - bounds[i]:stop - bounds[i]],
                   None if masks[i] is None else masks[i][max(start, bounds[i]) - bounds[i]:stop - bounds[i]])
                  for i in range(first, last + 1)]
        if len(pieces) == 1:
            part, missing = pieces[0]
            if not part.flags.writeable:
                part = part.copy()
        else:
            part = np.concatenate([p for p, _ in pieces])
            missing = (None if all(m is None for _, m in pieces) else
                       np.concatenate([np.zeros(len(p), dtype=bool) if m is None else m for p, m in pieces]))
        if missing is not None and not missing.any():
            missing = None
        yield part, missing


def _int_chunks(runs) -> list:
    parts = []
    for part, missing in runs:
        if missing is not None:
            part = part.astype(np.float64)
            part[missing] = np.nan
        parts.append(part)
    return parts


def _float_chunks(runs) -> list:
    """Float chunks, or None for a chunk pandas may type otherwise: all integral and none missing
    (pandas' int64 when all were written as integers), all integral with a -0.0 (pandas' 0.0 when
    all were written as integers: it parses them as integers), a NaN (``NAN`` is text to pandas), a
    value of 2**63 or more (an integer beyond int64, or an infinity: written some way)."""
    parts = []
    for part, missing in runs:
        known = part if missing is None else part[~missing]
        if not len(known):
            parts.append(np.full(len(part), np.nan))
            continue
        big = not (known.max() < 2.0 ** 63 and known.min() > -2.0 ** 63)  # NaN and infinities too
        head = known[:64]
        integral = not big and (head == np.trunc(head)).all() and (known == np.trunc(known)).all()
        if big or (integral and (missing is None or np.signbit(known[known == 0]).any())):
            parts.append(None)
            continue
        if missing is not None:
            part = part.copy()
            part[missing] = np.nan
        parts.append(part)
    return parts


def _bool_chunks(runs) -> list:
    parts = []
    for part, missing in runs:
        if missing is not None and missing.all():
            part = np.full(len(part), np.nan)
        elif missing is not None:
            table = np.array([False, True, np.nan], dtype=object)
            part = table[np.where(missing, 2, part.astype(np.intp))]
        parts.append(part)
    return parts


_EDGE_SPACE = np.zeros(256, dtype=bool)
_EDGE_SPACE[list(_WHITESPACE.encode())] = True
_QUOTE_OR_LINE_END = np.zeros(256, dtype=bool)
_QUOTE_OR_LINE_END[[0x22, 0x0A, 0x0D]] = True
_MAY_START = np.zeros(256, dtype=bool)  # a first byte of a number or a bool
_MAY_START[list(b"+-.0123456789iItTfF")] = True
_MAY_END = np.zeros(256, dtype=bool)  # a last byte of one: digit, 5., inf, infinity, true, false
_MAY_END[list(b"0123456789.fFyYeE")] = True


def _arrow_distinct(array, needed: list[tuple[int, int]]) -> _Distinct:
    """A dictionary-encoded chunked pyarrow column as :class:`_Distinct`: the dictionaries of its
    chunks one after the other, a missing value last. Only the blocks that overlap the ``needed``
    row ranges are read (the others' rows are coded missing)."""
    values, kinds, pieces, base, row = [], [], [], 0, 0
    for chunk in array.chunks:
        length = len(chunk)
        if not length or not any(start < row + length and row < stop for start, stop in needed):
            pieces.append(None if not length else length)
            row += length
            continue
        row += length
        words = chunk.dictionary
        count = len(words)
        if count:
            _, offsets, data = words.buffers()
            offsets = np.frombuffer(offsets, dtype=np.int32)[words.offset:words.offset + count + 1]
            data = np.frombuffer(data, dtype=np.uint8)
            starts, ends = offsets[:-1], offsets[1:]
            if not (ends > starts).all():
                raise NotPlain  # an empty string that is not missing: cannot be
            first, last = data[starts], data[ends - 1]
            if (_EDGE_SPACE[first] | _EDGE_SPACE[last]).any():
                raise NotPlain
            chunk_values = words.to_pylist()
            chunk_kinds = np.full(count, _TEXT, dtype=np.int8)
            for i in np.flatnonzero(_MAY_START[first] & _MAY_END[last]).tolist():
                chunk_kinds[i] = _kind(chunk_values[i])
            values += chunk_values
            kinds.append(chunk_kinds)
        indices = chunk.indices
        validity, data = indices.buffers()[:2]
        codes = np.frombuffer(data, dtype=np.int32)[indices.offset:indices.offset + length] + np.int32(base)
        if chunk.null_count:
            codes[~_bits(validity, indices.offset, length)] = -1
        pieces.append(codes)
        base += count
    codes = np.concatenate([np.full(p, -1, dtype=np.int32) if isinstance(p, int) else p
                            for p in pieces if p is not None]) if pieces else np.empty(0, dtype=np.int32)
    codes[codes < 0] = base
    values.append(None)
    kinds.append(np.array([_NULL], dtype=np.int8))
    return _Distinct(values, np.concatenate(kinds), codes)
