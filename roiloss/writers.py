"""Machine output: CSV, JSON and JSON Lines, streamed chunk by chunk, written atomically.

Nothing but data goes to these streams: no markup, no wrapping, no messages.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from collections import deque
from pathlib import Path

import numpy as np

from .csvtext import SharedLead, csv_bytes, no_rows
from .errors import OutputError

MACHINE_FORMATS = ("csv", "json", "jsonl")


@contextlib.contextmanager
def atomic_output(path: str | None, binary: bool = False):
    """Yield a stream for ``path`` (``None`` or ``-`` = stdout).

    A regular file is written to a temporary sibling and renamed over ``path`` only when the block
    ends without an exception, so a failed or interrupted run never leaves a partial file; a
    symbolic link is written through (its target is replaced, the link stays). Devices, pipes and
    ``/dev/stdout`` are streamed to, never replaced.
    """
    if path in (None, "-"):
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    mode = "wb" if binary else "w"
    text = {} if binary else {"encoding": "utf-8", "newline": ""}
    try:
        kind = os.stat(path).st_mode  # follows links: /dev/stdout is the pipe or terminal behind it
    except OSError:
        kind = None
    if kind is not None and stat.S_ISDIR(kind):
        raise OutputError(f"{path}: is a directory, not a file")
    if kind is not None and not stat.S_ISREG(kind):  # a device, a FIFO, the terminal
        try:
            sink = open(path, mode, **text)
        except OSError as error:
            raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None
        with sink:
            yield sink
        return
    import tempfile

    real = Path(os.path.realpath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, mode, **text) as stream:
            yield stream
        os.chmod(temp, 0o644 & ~_umask())
        os.replace(temp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _column_values(series) -> list:
    """A column as plain Python values, missing -> None."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float)
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out.tolist()
    return series.astype(object).where(series.notna(), None).tolist()


def arrow_table(frame):
    """A DataFrame as an Arrow table for Arrow's CSV writer (about 8x faster than ``DataFrame.to_csv``).

    Columns of mixed Python types (ids that are numbers in one row and names in another) become text.
    """
    import pyarrow as pa

    arrays = []
    for name in frame.columns:
        column = frame[name]
        try:
            arrays.append(pa.array(column, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            import pandas as pd

            arrays.append(pa.array([None if pd.isna(v) else str(v) for v in column], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def records(frame) -> list[dict]:
    """The rows of a DataFrame (or of an analysis, :class:`~roiloss.analysis.Rows`, without pandas
    where :func:`rows_records` can) as dicts of plain Python values, missing values as ``None``."""
    if not hasattr(frame, "iloc"):
        plain = rows_records(frame)
        if plain is not None:
            return plain
        frame = frame.frame()
    names = list(frame.columns)
    columns = [_column_values(frame[name]) for name in names]
    return [dict(zip(names, row)) for row in zip(*columns)]


def rows_records(rows) -> list[dict] | None:
    """:func:`records` of ``rows.frame()`` built from the arrays of an analysis
    (:class:`~roiloss.analysis.Rows`), the same values without pandas; ``None`` when a column holds
    a type this does not convert (then the DataFrame does)."""
    from .analysis import NULLABLE_INTEGERS, Coded
    from .box_table import missing

    values = []
    columns = rows.columns()
    for name, column in columns.items():
        if isinstance(column, Coded):
            column = column.values()
        if not isinstance(column, np.ndarray):
            return None
        if name in NULLABLE_INTEGERS and column.dtype.kind == "f":
            gone = np.isnan(column)
            plain = np.where(gone, 0, column).astype(np.int64).astype(object)
        elif column.dtype.kind in "iub":
            gone, plain = None, column.astype(object)
        elif column.dtype.kind == "f":
            gone, plain = np.isnan(column), column.astype(object)
        elif column.dtype == object:
            gone = missing(column)
            kinds = set(map(type, column[~gone]))
            if not kinds <= {str, int, float, bool}:
                return None
            plain = column.copy()
        else:
            return None
        if gone is not None and gone.any():
            plain[gone] = None
        values.append(plain.tolist())
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*values)]


def _encode(value):
    if isinstance(value, np.generic):
        return value.item()
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


@functools.cache
def _encoder():
    import msgspec

    return msgspec.json.Encoder(enc_hook=_encode)


ENCODERS = min(os.cpu_count() or 1, 2)  # threads that encode chunks in the background
SLICE_ROWS = 1 << 16  # CSV rows per encoded piece (about 10 MB): one chunk's pieces are encoded in parallel
PENDING_CHUNKS = 2  # chunks being encoded or written at once: bounds the memory held for the stream


class TableWriter:
    """Write chunks (DataFrames; for CSV also Arrow tables and :class:`~roiloss.csvtext.SharedLead`)
    to a binary stream as one CSV, JSON array or JSON Lines document.

    Each chunk is encoded in memory, then written; the stream receives the chunks in the order of
    :meth:`write` calls, the CSV header once before the first. With ``background=True`` that work
    is done on threads while the caller computes the next chunk: ``threads`` encode (Arrow's CSV
    writer releases the GIL; a CSV chunk in pieces of ``SLICE_ROWS`` rows, encoded in parallel)
    and one writes the pieces in order. :meth:`write` waits while ``PENDING_CHUNKS`` chunks are
    in flight. An error on a thread is raised by a later :meth:`write` or by :meth:`close`, and
    nothing is written after it, so :func:`atomic_output` leaves no file.
    """

    def __init__(self, stream, fmt: str, background: bool = False, threads: int = ENCODERS):
        if fmt not in MACHINE_FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.stream, self.fmt, self.rows, self.header_written = stream, fmt, 0, False
        from concurrent.futures import ThreadPoolExecutor

        self._encoders = ThreadPoolExecutor(threads) if background else None
        self._writer = ThreadPoolExecutor(1) if background else None  # one thread: writes in order
        self._pending: deque[list] = deque()  # per chunk in flight, the Futures writing its pieces
        self._failed = False

    def write(self, chunk) -> None:
        """Add ``chunk`` to the document."""
        self._wait(PENDING_CHUNKS - 1)
        self._write(chunk)

    def _write(self, chunk) -> None:
        """Encode and write ``chunk``, now or on the threads."""
        pieces = self._pieces(chunk)
        if self._encoders is None:
            for encode in pieces:
                self.stream.write(encode())
        else:
            self._pending.append([self._writer.submit(self._write_piece, self._encoders.submit(encode))
                                  for encode in pieces])

    def _pieces(self, chunk) -> list:
        """Functions returning the bytes of ``chunk``'s part of the document, in order."""
        first, self.header_written = not self.header_written, True
        if self.fmt != "csv":
            encode = _jsonl_bytes if self.fmt == "jsonl" else functools.partial(_json_bytes, first=self.rows == 0)
            self.rows += len(chunk)
            return [functools.partial(encode, chunk)]
        table = arrow_table(chunk) if hasattr(chunk, "iloc") else chunk  # a DataFrame
        self.rows += table.num_rows
        group = table.per_lead if isinstance(table, SharedLead) else 1  # a piece holds whole leads
        step = max(SLICE_ROWS // group, 1) * group
        pieces = [functools.partial(csv_bytes, table.slice(start, step)) for start in range(0, table.num_rows, step)]
        return ([functools.partial(csv_bytes, no_rows(table), header=True)] if first else []) + pieces

    def _write_piece(self, encoding) -> None:
        if self._failed:
            return
        try:
            self.stream.write(encoding.result())
        except BaseException:
            self._failed = True
            raise

    def _wait(self, in_flight: int) -> None:
        """Forget the written chunks at the head of the queue, waiting until at most ``in_flight``
        remain; on an error cancel the rest and raise it."""
        while self._pending and (len(self._pending) > in_flight or all(f.done() for f in self._pending[0])):
            try:
                for future in self._pending.popleft():
                    future.result()
            except BaseException:
                self._failed = True
                for chunk in self._pending:
                    for future in chunk:
                        future.cancel()
                self._pending.clear()
                raise

    def close(self) -> None:
        """Finish the document; waits for the threads and raises their error, if any."""
        try:
            self._wait(0)
        finally:
            for pool in (self._encoders, self._writer):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
        if self.fmt == "json":
            self.stream.write(b"[\n]\n" if self.rows == 0 else b"\n]\n")


def _jsonl_bytes(frame) -> bytes:
    lines = [_encoder().encode(r) for r in records(frame)]
    return b"\n".join(lines) + b"\n" if lines else b""


def _json_bytes(frame, first: bool) -> bytes:
    """The records of ``frame`` as array elements: ``[`` before the first record of the document."""
    return b"".join((b"[\n" if first and i == 0 else b",\n") + _encoder().encode(r) for i, r in enumerate(records(frame)))


def write_frame(frame, path: str | None, fmt: str) -> None:
    """Write one whole DataFrame atomically."""
    with atomic_output(path, binary=True) as stream:
        writer = TableWriter(stream, fmt)
        writer.write(frame)
        writer.close()
