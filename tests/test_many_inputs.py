"""Many inputs in one call (issue 15): several paths, globs and directories, a `source` column,
summaries across all and per source (`--by source`), the same through the library and the CLI."""

import pandas as pd
import pytest

import roiloss
from roiloss.errors import InputError
from roiloss.readers import iter_boxes

from box_formats import BOXES, write_coco, write_csv, write_jsonl, write_parquet, write_voc, write_yolo
from conftest import flat, invoke, parse_output


@pytest.fixture
def inputs(tmp_path):
    return {"csv": write_csv(tmp_path / "boxes.csv"), "coco": write_coco(tmp_path / "instances.json"),
            "voc": write_voc(tmp_path / "voc"), "yolo": write_yolo(tmp_path / "yolo"),
            "parquet": write_parquet(tmp_path / "boxes.parquet"), "jsonl": write_jsonl(tmp_path / "boxes.jsonl")}


def test_several_inputs_give_every_box_once_with_its_source(inputs):
    paths = [inputs["csv"], inputs["coco"], inputs["voc"], inputs["yolo"]]
    table = roiloss.read_boxes(paths)
    assert len(table) == 4 * len(BOXES)
    assert table.source.tolist() == [str(p) for p in paths for _ in BOXES]
    assert table.groupby("source", sort=False).position.apply(list).tolist() == [list(range(len(BOXES)))] * 4
    single = roiloss.read_boxes(inputs["csv"])
    assert "source" not in single.columns
    assert roiloss.read_boxes(inputs["csv"], source_column=True).source.unique().tolist() == [str(inputs["csv"])]
    source = iter_boxes(paths)
    list(source.chunks)
    assert source.format == "csv+coco+voc+yolo"


def test_mixed_formats_write_one_csv_with_the_same_columns_everywhere(inputs):
    result = invoke("analyze", inputs["voc"], inputs["coco"], inputs["parquet"], "--methods", "roialign",
                    "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = parse_output(result.stdout, "csv")
    assert len(rows) == 3 * len(BOXES)
    assert list(rows.columns[-6:]) == ["iscrowd", "difficult", "truncated", "score", "source", "flags"]
    assert rows.difficult.notna().tolist() == [True] * 6 + [False] * 12
    assert rows.iscrowd.notna().tolist() == [False] * 6 + [True] * 6 + [False] * 6
    library = roiloss.analyze(roiloss.read_boxes([inputs["voc"], inputs["coco"], inputs["parquet"]]), methods="roialign")
    assert rows.lost_frac.tolist() == pytest.approx(library.lost_frac.tolist(), nan_ok=True)
    assert rows.source.tolist() == library.source.tolist()


def test_globs_and_plain_directories_expand_to_their_files(inputs, tmp_path):
    voc = inputs["voc"]
    table = roiloss.read_boxes(str(voc / "*.xml"))
    assert table.source.unique().tolist() == [str(voc / "img1.xml"), str(voc / "img2.xml")]
    assert len(table) == len(BOXES)
    folder = tmp_path / "tables"
    folder.mkdir()
    write_csv(folder / "a.csv")
    write_jsonl(folder / "b.jsonl")
    (folder / "notes.md").write_text("not boxes")
    table = roiloss.read_boxes(folder)
    assert table.source.unique().tolist() == [str(folder / "a.csv"), str(folder / "b.jsonl")]
    result = invoke("analyze", str(tmp_path / "**" / "*.jsonl"), "--format", "csv", "--methods", "roialign")
    assert result.exit_code == 0 and len(parse_output(result.stdout, "csv")) == 2 * len(BOXES)


def test_by_source_counts_each_input_and_the_summary_covers_all(inputs):
    result = invoke("analyze", inputs["csv"], inputs["yolo"], "--methods", "roipool,roialign", "--by", "source",
                    "--rows", "0", env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "Boxes per method and source" in text
    assert "Boxes per method and source (in" in text  # the inputs' folder (wrapped when long), then their names
    assert "roipool boxes.csv 6" in text and "roialign yolo 6" in text
    assert "roipool 12" in text  # the summary over all inputs
    header = result.stdout.splitlines()[0]
    assert "csv+yolo" in flat(result.stdout)[:400] and header.startswith("roiloss")


def test_audit_takes_several_inputs(inputs, tmp_path):
    report = tmp_path / "r.json"
    result = invoke("audit", inputs["csv"], inputs["voc"], "--report", report)
    assert result.exit_code in (0, 1), result.stderr
    import json

    assert json.loads(report.read_text())["boxes"] == 2 * len(BOXES)


def test_a_bad_input_among_many_is_named_and_nothing_is_written(inputs, tmp_path):
    out = tmp_path / "out.csv"
    for args, message in [((inputs["csv"], tmp_path / "missing.csv"), "missing.csv: no such file"),
                          ((inputs["csv"], str(tmp_path / "none-*.xml")), "none-*.xml: no such file, and no file "
                                                                          "matches it as a pattern"),
                          (("-", "-"), "standard input can be read only once")]:
        result = invoke("analyze", *args, "--format", "csv", "-o", out)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
        assert not out.exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = invoke("analyze", inputs["csv"], broken, "--format", "csv", "-o", out)
    assert result.exit_code == 2 and "broken.json" in result.stderr and not out.exists()
    with pytest.raises(InputError, match="no such file"):
        roiloss.read_boxes([inputs["csv"], tmp_path / "missing.csv"])
    assert invoke("analyze").exit_code == 2  # INPUT is required


def test_strict_names_the_file_of_the_bad_box(inputs, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,y1,x2,y2\n0,0,5,5\n0,0,x,5\n")
    with pytest.raises(InputError, match=r"bad\.csv: line 3: invalid box"):
        roiloss.read_boxes([inputs["csv"], bad], strict=True)
    table = roiloss.read_boxes([inputs["csv"], bad])
    assert table.invalid.tolist()[-1] == "non-numeric x2" and isinstance(table, pd.DataFrame)
