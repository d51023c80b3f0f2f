"""The pandas-free path of the command line: BoxTable, columns read without pandas, rows and
summaries as plain values. Each gives what the pandas-based library calls give; and `roiloss
analyze` really runs without importing pandas."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, VAL

import roiloss
from roiloss import plain_csv
from roiloss.analysis import analyze_rows
from roiloss.box_table import BoxTable, missing, numbers
from roiloss.boxes import from_columns, from_frame, normalise, normalise_columns
from roiloss.readers import iter_box_tables, iter_boxes
from roiloss.semantics import resolve
from roiloss.stats import Accumulator


def test_box_table_columns_slices_and_pandas():
    table = BoxTable({"x1": np.array([1.0, 2.0, 3.0]), "label": np.array(["a", None, "c"], dtype=object)},
                     objects=["label"])
    table["source"] = "f.csv"
    assert len(table) == 3 and table.columns == ["x1", "label", "source"] and "x1" in table
    assert table.slice(1, 3)["x1"].tolist() == [2.0, 3.0]
    assert table.take(np.array([True, False, True]))["label"].tolist() == ["a", "c"]
    assert BoxTable.concat([table.slice(0, 1), table.slice(1, 3)])["label"].tolist() == ["a", None, "c"]
    frame = table.to_pandas()
    assert list(frame.columns) == ["x1", "label", "source"] and frame["label"].dtype == object
    assert BoxTable.of(frame)["x1"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="has 2 values, the table 3 rows"):
        table["y1"] = [1.0, 2.0]


def test_missing_and_numbers_of_numpy_and_pandas_arrays():
    assert missing(np.array(["", None, float("nan"), "x"], dtype=object)).tolist() == [False, True, True, False]
    assert missing(np.array(["", pd.NA], dtype=object)).tolist() == [False, True]
    assert missing(np.array([1, 2])).tolist() == [False, False]
    assert np.isnan(numbers(pd.array([1, None], dtype="Int64"))).tolist() == [False, True]


FRAMES = {
    "numbers": pd.DataFrame({"x1": [1, 2], "y1": [1.5, 2.0], "x2": [9, 8], "y2": [9.5, 7.0], "label": ["a", "b"]}),
    "text coordinates": pd.DataFrame({"xmin": ["1", "x1", " ", "2"], "ymin": [1.0, 1.0, 1.0, 1.0],
                                      "xmax": ["5", "x2", "5", "oops"], "ymax": [4, 4, 4, 4], "id": [7, 8, 9, 10]}),
    "xywh with sizes and crowd": pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0], "w": [3.0, 4.0], "h": [3.0, 4.0],
                                               "image_width": [640, -1], "image_height": ["480", "x"],
                                               "iscrowd": [1, None], "score": [0.5, "high"]}),
    "bool coordinates": pd.DataFrame({"x1": [True, False], "y1": [1, 1], "x2": [5, 5], "y2": [5, 5]}),
    "bbox lists": pd.DataFrame({"bbox": [[1, 2, 3, 4], "[1, 2, 3]", None], "category": ["a", "b", "c"]}),
}


@pytest.mark.parametrize("name", FRAMES)
def test_columns_read_without_pandas_give_the_frame_reader_table(name):
    frame = FRAMES[name]
    raw = BoxTable({c: frame[c].to_numpy() for c in frame.columns})  # what a pandas-free reader holds
    table = from_columns(raw, source="t").to_pandas()
    expected = from_frame(frame, source="t")
    pd.testing.assert_frame_equal(table, expected)
    assert table["invalid"].tolist() != [] and table["invalid"].dtype == object


def test_normalise_columns_equals_normalise():
    frame = from_frame(FRAMES["text coordinates"], source="t")
    frame.loc[0, "invalid"] = None
    columns = normalise_columns(BoxTable.of(frame.copy()), image_size=(640, 480)).to_pandas()
    pd.testing.assert_frame_equal(columns, normalise(frame, image_size=(640, 480)))


@pytest.mark.parametrize("options", [
    {},
    {"preset": "detectron2", "min_size": (600, 800)},  # a resize at two input scales, with a pyramid
    {"preset": "mmdet"},
])
def test_rows_records_are_the_frame_rows(options):
    table = pd.concat(iter_boxes(VAL).chunks, ignore_index=True)
    semantics = resolve(**options)
    rows = analyze_rows(BoxTable.of(table), semantics)
    frame = rows.frame(limit=50)
    records = rows.records(limit=50)
    assert len(records) == len(frame) == 50 and list(records[0]) == list(frame.columns)
    for record, (_, expected) in zip(records, frame.iterrows()):
        for name, value in record.items():
            want = expected[name]
            if want is pd.NA or (isinstance(want, float) and np.isnan(want)):
                assert value is None or value != value, name
            else:
                assert value == want, name
    whole = rows.frame()  # the documented types: integers that may be missing as Int64, labels as categories
    assert whole["empty_bins"].dtype == "Int64" and whole["sampling_ratio"].dtype == "Int64"
    assert list(whole["method"].cat.categories) == list(semantics.methods)
    assert whole["pool"].dtype == "category" and whole["flags"].dtype == "category"
    if semantics.pyramid is not None:
        assert whole["level"].dtype == "Int64" and whole["mapper"].dtype == "category"
    assert len(whole) == len(table) * len(rows.scales) * len(semantics.methods)


def test_accumulator_records_are_the_summary_rows():
    table = next(iter_box_tables(VAL).chunks)
    accumulator = Accumulator()
    accumulator.add(analyze_rows(table, resolve()))
    records = accumulator.records()
    assert [r["method"] for r in records] == ["roipool", "roiwarp", "roialign"]
    frame = analyze_rows(table, resolve()).frame()
    for record in records:  # against numpy on the per-row frame (float32 kept values: 7 digits)
        rows = frame[frame["method"] == record["method"]]
        lost = rows["lost_frac"].dropna().to_numpy()
        assert record["boxes"] == len(table) and record["measured"] == len(lost)
        assert record["lost_any_share"] == np.count_nonzero(lost > 0) / len(lost)
        gained = rows["gained_frac"].dropna().to_numpy()
        np.testing.assert_allclose([record["gained_frac_mean"], record["gained_frac_median"], record["gained_frac_p95"]],
                                   [gained.mean(), np.median(gained), np.percentile(gained, 95)], rtol=1e-6)


def test_plain_and_pandas_csv_readers_give_the_same_frames(tmp_path):
    """A comment line sends a file to pandas' reader: the columns and their types stay the same."""
    text = ('x1,y1,x2,y2,image_id,category,score\n1,2,30,40,a7,cat,0.5\n5,6,70,80,007,dog,\n'
            '3,3,9,9,,NA,1e-3\n')
    plain, commented = tmp_path / "plain.csv", tmp_path / "commented.csv"
    plain.write_text(text)
    commented.write_text("# exported boxes\n" + text)
    assert plain_csv.read_plain_csv(str(plain), "plain.csv", ",", 100) is not None
    assert plain_csv.read_plain_csv(str(commented), "commented.csv", ",", 100) is None
    pd.testing.assert_frame_equal(roiloss.read_boxes(plain), roiloss.read_boxes(commented))
    pd.testing.assert_frame_equal(roiloss.analyze(roiloss.read_boxes(plain)), roiloss.analyze(roiloss.read_boxes(commented)))


def test_coco_frames_keep_object_categories():
    frame = roiloss.read_boxes(VAL)
    assert frame["category"].dtype == object and frame["invalid"].dtype == object


def test_box_tables_hold_the_file_boxes_in_chunks():
    expected = pd.read_csv(EXAMPLE)
    tables = list(iter_box_tables(EXAMPLE, chunk_rows=3).chunks)
    assert [len(t) for t in tables] == [3, 3, 1]
    table = BoxTable.concat(tables)
    for column in ("x1", "y1", "x2", "y2", "image_width", "image_height"):
        assert table[column].tolist() == expected[column].astype(float).tolist()
    assert table["roi_id"].tolist() == expected["id"].tolist() and table["position"].tolist() == list(range(7))
    coco = json.loads(VAL.read_text())
    boxes = [a["bbox"] for a in coco["annotations"]]
    table = BoxTable.concat(list(iter_box_tables(VAL, chunk_rows=100).chunks))
    assert table["x2"].tolist() == [x + w for x, _, w, _ in boxes] and len(table) == len(boxes)


SNIPPET = """
import sys
from roiloss.cli import main
main.main(args={args!r}, standalone_mode=False)
sys.stderr.write("MODULES " + json.dumps(sorted(m for m in ("pandas", "pyarrow") if m in sys.modules)))
"""


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
@pytest.mark.parametrize("path", [EXAMPLE, VAL])
def test_analyze_runs_without_pandas(path, fmt, tmp_path):
    """Every output of a plain CSV or a COCO file: CSV goes through Arrow, whose ``pyarrow.array``
    would import pandas (roiloss builds its arrays from buffers), JSON from the arrays."""
    out = tmp_path / "rows.csv"
    code = "import json\n" + SNIPPET.format(args=["analyze", str(path), "--format", fmt] + (["-o", str(out)] if fmt != "table" else []))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() if fmt == "table" else out.read_text().count("\n") > 1
    modules = json.loads(result.stderr.rsplit("MODULES ", 1)[1])
    assert "pandas" not in modules
