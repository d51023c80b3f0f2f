"""Hostile input through every command and format: never a traceback or an internal error, exit
codes exact, every box in the output or in the invalid count, no partial output file.

Hand-written cases cover what real files get wrong; hypothesis adds random CSV and COCO files.
"""

import json
import string

import pytest
from conftest import invoke, parse_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HEADER = "x1,y1,x2,y2,category\n"
GOOD = "10,10,50,50,cat\n"

# (name, content, boxes it holds or None when the file is unreadable as a whole)
CSV_CASES = [
    ("markup in a category", HEADER + "1,2,30,40,[/]\n" + "1,2,30,40,[bold]x[/bold]\n", 2),
    ("markup like tags", HEADER + "1,2,30,40,[unlabeled]\n1,2,30,40,[ignore]\n", 2),
    ("too many fields", HEADER + GOOD + "1,2,30,40,a,b,c\n" + GOOD, 3),
    ("too few fields", HEADER + GOOD + "1,2\n", 2),
    ("blank lines", HEADER + "\n\n" + GOOD + "\n" + GOOD, 2),
    ("multi-line quoted field", HEADER + '1,2,30,40,"a\nb"\n' + GOOD, 2),
    ("repeated header", HEADER + GOOD + HEADER + GOOD, 3),
    ("nan and inf", HEADER + "nan,2,30,40,a\n1,inf,30,40,a\n1,2,-inf,40,a\n", 3),
    ("huge numbers", HEADER + "1e308,2,1e309,40,a\n99999999999999999999999,2,3,4,a\n", 2),
    ("negative size", HEADER + "50,50,10,10,a\n", 1),
    ("zero size", HEADER + "10,10,10,50,a\n", 1),
    ("text in numbers", HEADER + "one,2,3,4,a\n1,2,3,four,a\n", 2),
    ("empty cells", HEADER + ",,,,\n1,,3,4,\n", 2),
    ("quotes and commas", HEADER + '1,2,30,40,"a, ""quoted"" name"\n', 1),
    ("bom", "\ufeff" + HEADER + GOOD, 1),
    ("semicolons", HEADER.replace(",", ";") + GOOD.replace(",", ";"), 1),
    ("tabs", HEADER.replace(",", "\t") + GOOD.replace(",", "\t"), 1),
    ("crlf", (HEADER + GOOD + GOOD).replace("\n", "\r\n"), 2),
    ("no trailing newline", HEADER + GOOD.rstrip("\n"), 1),
    ("unicode categories", HEADER + "1,2,30,40,ネコ\n1,2,30,40,😺\n", 2),
    ("control characters", HEADER + "1,2,30,40,a\x07b\x1b[31m\n", 1),
    ("header only", HEADER, 0),
    ("xywh", "x,y,w,h\n1,2,3,4\n1,2,-3,4\n", 2),
    ("image sizes bad", "x1,y1,x2,y2,image_width,image_height\n1,2,3,4,0,10\n1,2,3,4,-5,10\n1,2,3,4,abc,10\n", 3),
    ("ids mixed", "id,x1,y1,x2,y2\n7,1,2,30,40\nabc,1,2,30,40\n99999999999999999999999,1,2,30,40\n", 3),
    ("empty file", "", None),
    ("only whitespace", "   \n\n", None),
    ("no box columns", "a,b,c\n1,2,3\n", None),
    ("binary", "\x00\x01\x02garbage", None),
    ("latin-1", "x1,y1,x2,y2,category\n1,2,30,40,caf\xe9\n", None),
]

COCO_IMAGE = {"id": 1, "width": 640, "height": 480}


def coco(annotations, images=(COCO_IMAGE,), categories=({"id": 1, "name": "[/]cat"},)):
    return json.dumps({"images": list(images), "annotations": annotations, "categories": list(categories)})


def ann(i, bbox, **extra):
    return {"id": i, "image_id": 1, "category_id": 1, "bbox": bbox, **extra}


COCO_CASES = [
    ("clean", coco([ann(1, [1, 2, 30, 40])]), 1),
    ("nan infinity 1e400", coco([ann(1, [1, 2, 30, 40])]).replace("[1, 2, 30, 40]", "[NaN, 2, Infinity, 1e400]"), 1),
    ("strings and booleans", coco([ann(1, ["1", "2", "3", "4"]), ann(2, [True, 1, 2, 3]), ann(3, [1, 2, 3, 4])]), 3),
    ("short and long bbox", coco([ann(1, [1, 2, 3]), ann(2, [1, 2, 3, 4, 5]), ann(3, None), ann(4, {})]), 4),
    ("missing bbox", coco([{"id": 1, "image_id": 1}]), 1),
    ("unknown image", coco([{**ann(1, [1, 2, 3, 4]), "image_id": 99}]), 1),
    ("bad image size", coco([ann(1, [1, 2, 3, 4])], images=({"id": 1, "width": 0, "height": "x"},)), 1),
    ("huge id", coco([ann(10 ** 30, [1, 2, 3, 4]), ann(2, [1, 2, 3, 4])]), 2),
    ("string ids", coco([{**ann("a", [1, 2, 3, 4]), "image_id": "img"}], images=({"id": "img", "width": 9, "height": 9},)), 1),
    ("markup everywhere", coco([{**ann("[/]", [1, 2, 3, 4]), "image_id": "[b]"}],
                                images=({"id": "[b]", "width": 64, "height": 64},)), 1),
    ("crowd values", coco([ann(1, [1, 2, 3, 4], iscrowd="yes"), ann(2, [1, 2, 3, 4], iscrowd=None)]), 2),
    ("no annotations key", json.dumps({"images": []}), None),
    ("annotations not a list", json.dumps({"annotations": 5}), None),
    ("a bare list", json.dumps([1, 2, 3]), None),
    ("truncated", coco([ann(1, [1, 2, 3, 4])])[:-7], None),
    ("trailing garbage", coco([ann(1, [1, 2, 3, 4])]) + "}}", None),
    ("latin-1 name", coco([ann(1, [1, 2, 3, 4])]).replace("[/]cat", "caf\xe9"), None),
]

FORMATS = ["table", "csv", "json", "jsonl"]


def check(tmp_path, name, content, boxes, command, fmt):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1") if "\xe9" in content else content.encode("utf-8"))
    out = tmp_path / f"out.{fmt}"
    args = [command, path, "--methods", "roipool,roialign"]
    if command == "audit":
        args += ["--report", out.with_suffix(".json")]
    else:
        args += ["--format", fmt, "-o", out]
    result = invoke(*args)
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text
    written = out.with_suffix(".json") if command == "audit" else out
    if boxes is None:
        assert result.exit_code == 2, text
        assert text.count("roiloss: error:") == 1 and path.name in text
        assert not written.exists()
        return
    if boxes == 0:
        assert result.exit_code == (2 if command == "audit" else 0), text
        return
    assert result.exit_code in ((0, 1) if command == "audit" else (0,)), text
    if command == "analyze" and fmt != "table":
        rows = parse_output(written.read_text(), fmt)
        assert len(rows) == boxes * 2  # every box, valid or flagged, once per method
    if command == "audit":
        report = json.loads(written.read_text())
        assert report["boxes"] == boxes


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name,content,boxes", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_malformed_csv_through_analyze(tmp_path, name, content, boxes, fmt):
    check(tmp_path, "in.csv", content, boxes, "analyze", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name,content,boxes", COCO_CASES, ids=[c[0] for c in COCO_CASES])
def test_malformed_coco_through_analyze(tmp_path, name, content, boxes, fmt):
    check(tmp_path, "in.json", content, boxes, "analyze", fmt)


@pytest.mark.parametrize("command", ["grid", "audit"])
@pytest.mark.parametrize("name,content,boxes", CSV_CASES + COCO_CASES, ids=[c[0] for c in CSV_CASES + COCO_CASES])
def test_malformed_input_through_grid_and_audit(tmp_path, name, content, boxes, command):
    suffix = "json" if (name, content, boxes) in COCO_CASES else "csv"
    check(tmp_path, f"in.{suffix}", content, boxes, command, "csv")


def test_markup_is_shown_as_text(tmp_path):
    path = tmp_path / "[bold red]odd.csv"
    path.write_text(HEADER + "1,2,30,40,[/]\n1,2,30,40,[unlabeled]\n")
    shown = invoke("analyze", path, "--wide", env={"COLUMNS": "160"})
    assert shown.exit_code == 0
    assert "[bold red]odd.csv" in shown.stdout and "[unlabeled]" in shown.stdout and "[/]" in shown.stdout
    missing = invoke("analyze", tmp_path / "[/]nope.csv")
    assert missing.exit_code == 2 and "[/]nope.csv: no such file" in missing.stderr


cell = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.text(string.printable, max_size=6), st.just(""))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=5, max_size=5), max_size=8))
def test_random_csv_cells(tmp_path, rows):
    lines = [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows]
    check(tmp_path, "in.csv", HEADER + "".join(line + "\n" for line in lines), len(rows), "analyze", "csv")


number = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                   st.text(max_size=3), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bboxes=st.lists(st.one_of(st.lists(number, max_size=6), number), max_size=8))
def test_random_coco_bboxes(tmp_path, bboxes):
    content = coco([ann(i, b) for i, b in enumerate(bboxes)])
    check(tmp_path, "in.json", content, len(bboxes), "analyze", "jsonl")
