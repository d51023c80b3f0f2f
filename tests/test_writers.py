"""Machine output: CSV, JSON and JSON Lines writers, atomic -o, unwritable outputs."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roiloss.writers import TableWriter, atomic_output, write_frame

from conftest import EXAMPLE, VAL, invoke, parse_output

FRAME = pd.DataFrame({"roi_id": [1, 2, 3], "image_id": pd.Series([7, "a.jpg", None], dtype=object),
                      "x": [0.5, np.nan, np.inf], "level": pd.array([2, None, 5], dtype="Int64"),
                      "method": pd.Categorical(["roialign", "roipool", "roialign"]), "ok": [True, False, True]})


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_chunks_write_one_document(fmt):
    stream = io.BytesIO()
    writer = TableWriter(stream, fmt)
    writer.write(FRAME.iloc[:2])
    writer.write(FRAME.iloc[2:])
    writer.close()
    text = stream.getvalue().decode()
    back = parse_output(text, fmt)
    assert back.roi_id.tolist() == [1, 2, 3] and back.method.tolist() == ["roialign", "roipool", "roialign"]
    assert back.level.tolist()[0] == 2 and pd.isna(back.level.tolist()[1])
    assert back.x.tolist()[0] == 0.5 and pd.isna(back.x.tolist()[1])
    # mixed ids become text in CSV, stay as written in JSON
    assert [str(v) for v in back.image_id.tolist()[:2]] == ["7", "a.jpg"]
    if fmt == "csv":
        assert text.count("roi_id") == 1  # one header for all chunks
    if fmt == "json":
        assert json.loads(text)[0] == {"roi_id": 1, "image_id": 7, "x": 0.5, "level": 2, "method": "roialign", "ok": True}
        assert json.loads(text)[2]["x"] is None  # inf is not JSON: null
    if fmt == "jsonl":
        assert len(text.splitlines()) == 3


@pytest.mark.parametrize("fmt,expected", [("csv", ""), ("json", "[\n]\n"), ("jsonl", "")])
def test_empty_output_is_a_valid_document(fmt, expected):
    stream = io.BytesIO()
    writer = TableWriter(stream, fmt)
    writer.close()
    assert stream.getvalue().decode() == expected


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        TableWriter(io.BytesIO(), "xml")


def test_atomic_output_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous complete output\n")
    with pytest.raises(RuntimeError):
        with atomic_output(str(target)) as stream:
            stream.write("half")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "previous complete output\n"
    assert not list(tmp_path.glob(".out.csv.*"))
    write_frame(FRAME, str(target), "csv")
    assert parse_output(target.read_text(), "csv").roi_id.tolist() == [1, 2, 3]
    assert (target.stat().st_mode & 0o777) == 0o644


def test_output_file_matches_stdout(tmp_path):
    for fmt in ("csv", "json", "jsonl"):
        target = tmp_path / f"out.{fmt}"
        result = invoke("analyze", EXAMPLE, "--format", fmt, "-o", target)
        assert result.exit_code == 0 and result.stdout == ""
        assert target.read_text() == invoke("analyze", EXAMPLE, "--format", fmt).stdout
    table = tmp_path / "table.txt"
    assert invoke("analyze", EXAMPLE, "-o", table).exit_code == 0
    assert table.read_text() == invoke("analyze", EXAMPLE).stdout


def test_atomic_output_survives_a_failure_of_the_command(tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("previous complete output\n")
    import roiloss.analysis

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(roiloss.analysis, "analyze_chunks", explode)
    result = invoke("analyze", EXAMPLE, "--format", "csv", "-o", out)
    assert result.exit_code == 2 and "internal error" in result.stderr
    assert out.read_text() == "previous complete output\n"
    assert not list(tmp_path.glob(".out.csv.*"))


def test_a_failure_on_the_writer_thread_leaves_no_partial_file(tmp_path, monkeypatch):
    from roiloss.writers import TableWriter

    out = tmp_path / "out.csv"

    def fails(self, chunk):
        raise OSError("No space left on device")
    monkeypatch.setattr(TableWriter, "_write", fails)
    result = invoke("analyze", EXAMPLE, "--format", "csv", "-o", out)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))


@pytest.mark.parametrize("args,message", [
    (["analyze", EXAMPLE, "--format", "csv", "-o", "{missing}/out.csv"], "out.csv: cannot write"),
    (["analyze", EXAMPLE, "-o", "{tmp}"], "is a directory, not a file"),
    (["grid", "--box", "0,0,50,50", "--plot", "{missing}/x.png", "--format", "csv", "-o", "{tmp}/cells.csv"],
     "x.png: cannot write"),
    (["grid", "--box", "0,0,50,50", "--plot", "{tmp}/x.jpg"], "--plot takes a .png or .svg"),
    (["audit", EXAMPLE, "--report", "{missing}/r.json"], "r.json: cannot write"),
    (["audit", EXAMPLE, "--report", "{tmp}/r.txt"], ".json, .md or .xml"),
])
def test_unwritable_outputs_exit_2_naming_the_file(args, message, tmp_path):
    args = [str(a).format(missing=tmp_path / "missing", tmp=tmp_path) for a in args]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing half-done before the error


@settings(max_examples=200, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["float", "int", "bool", "text", "mixed"]))
def test_arrow_arrays_from_buffers_equal_pyarrow_array(data, kind):
    """Arrays built without ``pyarrow.array`` (which imports pandas) are the ones it builds."""
    import pyarrow as pa

    from roiloss.arrow_arrays import column_array, index_array, number_array, string_array

    n = data.draw(st.integers(0, 30))
    if kind == "float":
        column = np.array(data.draw(st.lists(st.floats(allow_infinity=True), min_size=n, max_size=n)), dtype=float)
        assert number_array(column).equals(pa.array(column, from_pandas=True))
        whole = np.where(np.isfinite(column), np.round(np.clip(column, -1e15, 1e15)), np.nan)
        missing = np.isnan(whole)
        want = pa.array(np.where(missing, 0, whole).astype(np.int64), mask=missing)
        assert number_array(whole, integer=True).equals(want)
    elif kind == "int":
        column = np.array(data.draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n)), dtype=np.int64)
        assert column_array(column).equals(pa.array(column, from_pandas=True))
        assert index_array(column).equals(pa.array(column))
    elif kind == "bool":
        column = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        assert column_array(column).equals(pa.array(column, from_pandas=True))
    else:
        values = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))), st.none(), st.just(float("nan")))
        if kind == "mixed":
            values = st.one_of(values, st.integers(0, 9))
        column = np.array(data.draw(st.lists(values, min_size=n, max_size=n)) + [None], dtype=object)[:-1]
        texts_only = all(v is None or isinstance(v, str) or v != v for v in column)
        built = column_array(column)
        if texts_only:
            assert built.equals(pa.array(column, from_pandas=True, type=pa.string()))
            strings = [v for v in column if isinstance(v, str)]
            assert string_array(strings).equals(pa.array(strings, type=pa.string()))
        else:
            assert built is None  # left to pyarrow.array


@pytest.mark.parametrize("preset", [None, "torchvision", "detectron2"])
def test_json_records_from_the_arrays_equal_the_frames(preset, tmp_path):
    """JSON and JSON Lines rows made from the arrays (no pandas) are those of ``Rows.frame()``:
    integers that may be missing, labels, passed-through text, numbers and booleans."""
    from roiloss.analysis import analyze_rows
    from roiloss.readers import iter_box_tables
    from roiloss.semantics import resolve
    from roiloss.writers import _encoder, records, rows_records

    mixed = tmp_path / "mixed.csv"
    mixed.write_text('x1,y1,x2,y2,category,score,note,flag,image_id\n0,0,40,30,dog,0.5,"a ""q"" note",true,7\n'
                     '10,10,20,25,,NaN,é,false,8\n5,5,1,1,cat,1e-5,,true,x9\n-3,2,600,500,"a,b",3,line,false,\n')
    semantics = resolve(preset=preset, methods="all") if preset else resolve(methods="all")
    for path in (EXAMPLE, mixed, VAL):
        for table in iter_box_tables([path]).chunks:
            rows = analyze_rows(table, semantics)
            plain, framed = rows_records(rows), records(rows.frame())
            assert plain is not None
            assert [_encoder().encode(r) for r in plain] == [_encoder().encode(r) for r in framed]
            if path == mixed:  # what the file says, independent of both paths
                by_method = {r["method"]: r for r in plain[:len(semantics.methods)]}
                assert [r["category"] for r in plain[::len(semantics.methods)]] == ["dog", None, "cat", "a,b"]
                assert [r["image_id"] for r in plain[::len(semantics.methods)]] == ["7", "8", "x9", None]  # mixed: text
                assert by_method["roipool"]["sampling_ratio"] is None  # window methods take no samples
                assert all(type(r["empty_bins"]) is int for r in plain if r["empty_bins"] is not None)
                assert all(r["score"] is None for r in plain[len(semantics.methods):2 * len(semantics.methods)])
