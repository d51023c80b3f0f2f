"""CSV encoded on threads: pieces in order, the header once, bounded chunks in flight, an error on
a thread leaves no file; a table with a shared lead writes the same bytes as the whole table."""

import io
import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

import roiloss
import roiloss.writers
from roiloss.analysis import analyze_rows, rows_arrow
from roiloss.csvtext import SharedLead, csv_bytes
from roiloss.row_tables import row_tables
from roiloss.writers import TableWriter

from conftest import EXAMPLE, VAL, invoke


def arrow_csv(table, header=True) -> bytes:
    """Arrow's own CSV of a whole table: the reference every path must equal."""
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue()


def numbered(n: int, start: int = 0):
    return pa.table({"i": np.arange(start, start + n), "text": pa.array([f'row "{i}", ok' for i in range(start, start + n)], pa.string())})


@pytest.mark.parametrize("background", [False, True])
def test_many_pieces_keep_their_order_and_one_header(monkeypatch, background):
    monkeypatch.setattr(roiloss.writers, "SLICE_ROWS", 7)
    chunks = [numbered(n, start) for n, start in ((50, 0), (0, 50), (3, 50), (101, 53))]
    stream = io.BytesIO()
    writer = TableWriter(stream, "csv", background=background)
    for chunk in chunks:
        writer.write(chunk)
    writer.close()
    assert stream.getvalue() == arrow_csv(pa.concat_tables(chunks))
    assert writer.rows == 154


def test_a_shared_lead_writes_the_bytes_of_the_whole_table():
    rng = np.random.default_rng(3)
    n, per = 40, 3
    lead = pa.table({"id": pa.array(rng.integers(0, 9, n), mask=rng.random(n) < 0.2),
                     "name": pa.array([None if i % 7 == 0 else f'a "b", c{i}' for i in range(n)]),
                     "x": rng.random(n) * 1e3})
    rest = pa.table({"m": pa.array(["p", "q", "r"] * n), "v": pa.array(rng.random(n * per), mask=rng.random(n * per) < 0.3)})
    rows = SharedLead(lead, rest, per)
    whole = rows.table()
    assert whole.column_names == ["id", "name", "x", "m", "v"] and whole.num_rows == n * per
    assert bytes(csv_bytes(rows)) == arrow_csv(whole, header=False)
    assert bytes(csv_bytes(rows, header=True)) == arrow_csv(whole)
    assert bytes(csv_bytes(rows.slice(6, 9))) == arrow_csv(whole.slice(6, 9), header=False)
    broken = SharedLead(lead.set_column(1, "name", pa.array(["two\nlines"] * n)), rest, per)  # lines can't be told apart
    assert bytes(csv_bytes(broken)) == arrow_csv(broken.table(), header=False)


@pytest.mark.parametrize("keywords", [{}, {"preset": "detectron2"}, {"preset": "torchvision", "min_size": "600,800"}],
                         ids=["defaults", "pyramid", "two-scales"])
def test_analysed_rows_through_the_threads_equal_arrow_on_the_whole_table(monkeypatch, keywords):
    monkeypatch.setattr(roiloss.writers, "SLICE_ROWS", 100)
    semantics = roiloss.resolve(**keywords)
    stream = io.BytesIO()
    writer = TableWriter(stream, "csv", background=True)
    tables = []
    for table in roiloss.iter_boxes(VAL, chunk_rows=150).chunks:
        rows = analyze_rows(table, semantics)
        tables.append(rows_arrow(rows))
        writer.write(row_tables(rows))
    writer.close()
    assert len(tables) > 3
    assert stream.getvalue() == arrow_csv(pa.concat_tables(tables))


def test_at_most_two_chunks_are_in_flight(monkeypatch):
    gate, started = threading.Event(), []

    def slow(table, header=False):
        started.append(table.num_rows)
        gate.wait(10)
        return csv_bytes(table, header)
    monkeypatch.setattr(roiloss.writers, "csv_bytes", slow)
    writer = TableWriter(io.BytesIO(), "csv", background=True)
    writer.write(numbered(2))
    writer.write(numbered(2))
    third = threading.Thread(target=writer.write, args=(numbered(2),))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # waits for the first chunk
    gate.set()
    third.join(10)
    writer.close()
    assert not third.is_alive()


def test_an_error_on_an_encoding_thread_is_raised_and_nothing_follows_it(monkeypatch):
    def fails_at_row_5(table, header=False):
        if table.num_rows and table["i"][0].as_py() == 5:
            raise OSError("No space left on device")
        return csv_bytes(table, header)
    monkeypatch.setattr(roiloss.writers, "SLICE_ROWS", 5)
    monkeypatch.setattr(roiloss.writers, "csv_bytes", fails_at_row_5)
    stream = io.BytesIO()
    writer = TableWriter(stream, "csv", background=True)
    with pytest.raises(OSError, match="No space left"):
        for start in range(0, 200, 10):
            writer.write(numbered(10, start))
        writer.close()
    writer.close()  # closing again after the error is harmless
    assert stream.getvalue() == arrow_csv(numbered(5))  # the header piece and the first piece only


def test_an_error_on_an_encoding_thread_leaves_no_file(tmp_path, monkeypatch):
    out = tmp_path / "out.csv"

    def fails(table, header=False):
        raise OSError("No space left on device")
    monkeypatch.setattr(roiloss.writers, "csv_bytes", fails)
    result = invoke("analyze", EXAMPLE, "--format", "csv", "-o", out)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))
