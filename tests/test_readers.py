"""Reading boxes: COCO JSON (and LVIS), CSV variants, stdin, streaming; bad input never crashes,
never loses a box (roiloss.read_boxes / iter_boxes, and the same through `roiloss analyze`)."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roiloss
from roiloss.errors import InputError
from roiloss.readers import iter_boxes, parse_columns, place, sniff_delimiter, sniff_format

from conftest import EXAMPLE, EXAMPLE_BOXES, VAL, VAL_BOXES, VAL_CROWD, invoke, parse_output


def csv_rows(result):
    assert result.exit_code == 0, result.stderr
    return parse_output(result.stdout, "csv")


@pytest.mark.parametrize("which,boxes,crowd", [("val", VAL_BOXES, VAL_CROWD), ("generated", 739, 8)])
def test_coco_files_give_one_row_per_annotation_and_method(which, boxes, crowd, coco_generated):
    path = VAL if which == "val" else coco_generated
    coco = json.loads(path.read_text())
    assert len(coco["annotations"]) == boxes
    frame = csv_rows(invoke("analyze", path, "--format", "csv", "--methods", "all"))
    assert len(frame) == boxes * len(roiloss.METHODS)
    assert set(frame.roi_id) == {a["id"] for a in coco["annotations"]}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    first = coco["annotations"][0]
    row = frame[frame.roi_id == first["id"]].iloc[0]
    assert row.category == names[first["category_id"]]
    x, y, w, h = first["bbox"]
    assert (row.x1, row.y1, row.x2, row.y2) == pytest.approx((x, y, x + w, y + h))
    assert frame.iscrowd.sum() == crowd * len(roiloss.METHODS)
    assert not frame["flags"].fillna("").str.contains("no-image-size").any()  # sizes come from `images`


def test_read_boxes_gives_the_canonical_table_of_a_coco_file():
    coco = json.loads(VAL.read_text())
    table = roiloss.read_boxes(VAL)
    assert list(table.columns[:9]) == ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2", "image_width",
                                       "image_height"]
    assert {"iscrowd", "invalid", "position"} <= set(table.columns)
    assert len(table) == VAL_BOXES and (table.invalid == "").all() and table.iscrowd.sum() == VAL_CROWD
    assert table.position.tolist() == list(range(VAL_BOXES))
    sizes = {i["id"]: (i["width"], i["height"]) for i in coco["images"]}
    assert [tuple(v) for v in table[["image_width", "image_height"]].to_numpy()] == [
        sizes[a["image_id"]] for a in coco["annotations"]]
    skipped = roiloss.read_boxes(VAL, skip_crowd=True)
    assert len(skipped) == VAL_BOXES - VAL_CROWD and skipped.iscrowd.sum() == 0


def test_iter_boxes_streams_validated_chunks():
    source = iter_boxes(EXAMPLE, chunk_rows=3)
    assert source.format == "csv" and source.name == str(EXAMPLE)
    chunks = list(source.chunks)
    assert [len(c) for c in chunks] == [3, 3, EXAMPLE_BOXES - 6]
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, roiloss.read_boxes(EXAMPLE))
    assert whole.position.tolist() == list(range(EXAMPLE_BOXES))


def test_iter_boxes_image_size_fills_missing_sizes(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("x1,y1,x2,y2,image_width,image_height\n0,0,10,10,,\n0,0,10,10,100,50\n")
    a = pd.concat(iter_boxes(path, image_size="640x480").chunks)
    b = pd.concat(iter_boxes(path, image_size=(640, 480)).chunks)
    pd.testing.assert_frame_equal(a, b)
    assert a[["image_width", "image_height"]].to_numpy().tolist() == [[640, 480], [100, 50]]
    with pytest.raises(ValueError, match="image_size"):
        iter_boxes(path, image_size="5x")


def test_coco_image_sizes_set_the_map(tmp_path):
    # the same box at the right edge of a 100 px image and of an unknown-size image
    coco = {"images": [{"id": 1, "width": 100, "height": 100}],
            "annotations": [{"id": 7, "image_id": 1, "category_id": 3, "bbox": [90, 0, 30, 20], "iscrowd": 0}],
            "categories": [{"id": 3, "name": "kite"}]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(coco))
    frame = csv_rows(invoke("analyze", path, "--format", "csv", "--stride", "16"))
    assert frame["flags"].iloc[0] == "outside-image"
    assert frame.category.iloc[0] == "kite"


def test_skip_crowd_counts_what_it_skipped():
    result = invoke("analyze", VAL, "--format", "csv", "--skip-crowd")
    assert len(csv_rows(result)) == (VAL_BOXES - VAL_CROWD) * 3
    assert f"{VAL_CROWD} crowd boxes skipped" in result.stderr


def test_lvis_layout_is_read(tmp_path):
    lvis = {"images": [{"id": 1, "width": 640, "height": 480, "neg_category_ids": [2], "not_exhaustive_category_ids": []}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "area": 2000.0,
                             "segmentation": [[10, 10, 60, 10, 60, 50]]}],
            "categories": [{"id": 1, "name": "aerosol_can", "synset": "aerosol.n.02", "frequency": "c"}]}
    path = tmp_path / "lvis.json"
    path.write_text(json.dumps(lvis))
    frame = csv_rows(invoke("analyze", path, "--format", "csv"))
    assert len(frame) == 3 and frame.category.iloc[0] == "aerosol_can" and frame.iscrowd.iloc[0] == 0


@pytest.mark.parametrize("text", [
    "x1,y1,x2,y2\n0,0,32,32\n10,10,50,70\n",
    "x1\ty1\tx2\ty2\n0\t0\t32\t32\n10\t10\t50\t70\n",
    "x1;y1;x2;y2\n0;0;32;32\n10;10;50;70\n",
    "\ufeffxmin,ymin,xmax,ymax\n0,0,32,32\n10,10,50,70\n",
    "x,y,w,h\n0,0,32,32\n10,10,40,60\n",
    "XMin, YMin, XMax, YMax\n0, 0, 32, 32\n10, 10, 50, 70\n",
])
def test_csv_variants_give_the_same_boxes(text, tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_bytes(text.encode("utf-8"))
    frame = csv_rows(invoke("analyze", path, "--format", "csv", "--methods", "roialign"))
    assert frame[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[0, 0, 32, 32], [10, 10, 50, 70]]
    assert roiloss.read_boxes(path)[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[0, 0, 32, 32], [10, 10, 50, 70]]


def test_columns_option_maps_unusual_headers(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("left,top,right,bottom,file,kind\n0,0,32,32,a.jpg,cat\n")
    frame = csv_rows(invoke("analyze", path, "--format", "csv", "--columns",
                            "x1=left,y1=top,x2=right,y2=bottom,image_id=file,category=kind"))
    assert frame.iloc[0][["image_id", "category", "x2"]].tolist() == ["a.jpg", "cat", 32]
    result = invoke("analyze", path, "--columns", "x1=nope")
    assert result.exit_code == 2 and "nope" in result.stderr
    table = roiloss.read_boxes(path, columns={"x1": "left", "y1": "top", "x2": "right", "y2": "bottom"})
    assert table[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[0, 0, 32, 32]]
    assert parse_columns("x1=left, id=key") == {"x1": "left", "roi_id": "key"}
    with pytest.raises(ValueError, match="NAME=HEADER"):
        parse_columns("colour=red")


def test_stdin_sniffs_the_format():
    frame = csv_rows(invoke("analyze", "-", "--format", "csv", input=VAL.read_bytes()))
    assert len(frame) == VAL_BOXES * 3
    frame = csv_rows(invoke("analyze", "-", "--format", "csv", input="x1,y1,x2,y2\n0,0,10,10\n"))
    assert len(frame) == 3


def test_sniffers():
    assert sniff_format(b"\xef\xbb\xbf  \n{\"annotations\": []}") == "coco" and sniff_format(b"x1,y1\n") == "csv"
    assert sniff_delimiter("a;b;c") == ";" and sniff_delimiter("a\tb") == "\t" and sniff_delimiter("a") == ","


BAD_FILES = {
    "empty.csv": (b"", "the file is empty"),
    "blank.csv": (b"\n\n  \n", "the file is empty"),
    "binary.csv": (bytes(range(256)) * 4, "not UTF-8"),
    "nocolumns.csv": (b"a,b,c\n1,2,3\n", "columns are: a, b, c; expected x1,y1,x2,y2"),
    "syntax.json": (b'{\n  "annotations": [\n    {"bbox": [1, 2, 3,]}\n  ]\n}', "line 3, column"),
    "truncated.json": (b'{"images": [], "annotations": [{"id": 1', "not valid JSON"),
    "noannotations.json": (b'{"images": [], "categories": []}', "$.annotations is missing"),
    "wrongtype.json": (b'{"annotations": 3}', "not a COCO annotation file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_inputs_exit_2_naming_the_file_and_write_nothing(name, tmp_path):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out.csv"
    result = invoke("analyze", path, "--format", "csv", "-o", out)
    assert result.exit_code == 2
    assert str(path) in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))
    with pytest.raises(InputError, match=message.replace("$", r"\$").replace("(", r"\(")):
        roiloss.read_boxes(path)


def test_missing_file_and_directory(tmp_path):
    for path, message in [(tmp_path / "nope.csv", "no such file"), (tmp_path, "is a directory")]:
        result = invoke("analyze", path)
        assert result.exit_code == 2 and message in result.stderr
        with pytest.raises(InputError, match=message):
            roiloss.read_boxes(path)


def test_a_row_longer_than_the_header_is_a_flagged_box(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"x1,y1,x2,y2\n0,0,1,1\n1,2,3,4,5,6\n")
    result = invoke("analyze", path, "--format", "csv", "--methods", "roialign")
    frame = csv_rows(result)
    assert frame["flags"].tolist()[1] == "invalid:row has 6 fields, the header 4"
    assert "1 of 2 boxes are invalid" in result.stderr
    with pytest.raises(InputError, match="line 3: invalid box \\(row has 6 fields, the header 4\\)"):
        roiloss.read_boxes(path, strict=True)


BAD_CSV = """id,x1,y1,x2,y2
1,0,0,32,32
2,abc,0,32,32
3,0,0,,32
4,nan,0,32,32
5,0,0,inf,32
6,40,0,32,32
7,0,40,32,32
8,0,0,32,32
9,0,0,1e-9,32
"""
REASONS = {9: "side below 1e-6 px", 2: "non-numeric x1", 3: "missing/NaN x2", 4: "missing/NaN x1", 5: "non-finite",
           6: "x2<=x1", 7: "y2<=y1"}


def test_bad_boxes_keep_their_rows_flagged(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)
    result = invoke("analyze", path, "--format", "csv")
    frame = csv_rows(result).drop_duplicates("roi_id").set_index("roi_id")
    assert len(frame) == 9
    for roi, reason in REASONS.items():
        assert frame.loc[roi, "flags"] == f"invalid:{reason}"
        assert np.isnan(frame.loc[roi, "lost_frac"])
    assert frame.loc[1, "lost_frac"] == 0
    assert "7 of 9 boxes are invalid" in result.stderr
    table = roiloss.read_boxes(path).set_index("roi_id")
    assert {roi: table.loc[roi, "invalid"] for roi in REASONS} == REASONS


def test_strict_names_the_csv_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)
    out = tmp_path / "out.csv"
    result = invoke("analyze", path, "--strict", "--format", "csv", "-o", out)
    assert result.exit_code == 2
    assert f"{path}: line 3: invalid box (non-numeric x1)" in result.stderr
    assert not out.exists()
    with pytest.raises(InputError, match="line 3: invalid box \\(non-numeric x1\\)"):
        roiloss.read_boxes(path, strict=True)


def test_strict_in_a_later_chunk_names_the_line_in_the_file(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("x1,y1,x2,y2\n" + "0,0,8,8\n" * 7 + "9,0,1,8\n")
    with pytest.raises(InputError, match="line 9: invalid box \\(x2<=x1\\)"):
        list(iter_boxes(path, strict=True, chunk_rows=3).chunks)
    table = pd.concat(iter_boxes(path, chunk_rows=3).chunks, ignore_index=True)
    assert place(table, 7, "csv") == "line 9" and place(table, 7, "coco") == "$.annotations[7].bbox"


@pytest.mark.parametrize("annotation,image,reason,where", [
    ({"bbox": [1, 2, 3]}, None, "bbox not 4 numbers", "$.annotations[1].bbox"),
    ({"bbox": ["a", 2, 3, 4]}, None, "bbox not 4 numbers", "$.annotations[1].bbox"),
    ({"bbox": None}, None, "bbox not 4 numbers", "$.annotations[1].bbox"),
    ({"bbox": [1, 2, -3, 4]}, None, "x2<=x1", "$.annotations[1].bbox"),
    ({"bbox": [1, 2, 3, 4], "image_id": 99}, None, "unknown-image", "$.annotations[1].image_id"),
    ({"bbox": [1, 2, 3, 4]}, {"width": -5, "height": 10}, "bad image size", "$.annotations[1].image_id"),
])
def test_bad_coco_boxes(annotation, image, reason, where, tmp_path):
    good = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40]}
    coco = {"images": [{"id": 1, "width": 64, "height": 64, **(image or {})}],
            "annotations": [good, {"id": 2, "image_id": 1, "category_id": 1, **annotation}],
            "categories": [{"id": 1, "name": "x"}]}
    if image:
        coco["images"].append({"id": 2, "width": 64, "height": 64})
        good["image_id"] = 2
    path = tmp_path / "c.json"
    path.write_text(json.dumps(coco))
    frame = csv_rows(invoke("analyze", path, "--format", "csv"))
    assert len(frame) == 6
    assert set(frame[frame.roi_id == 2]["flags"]) == {f"invalid:{reason}"}
    result = invoke("analyze", path, "--strict")
    assert result.exit_code == 2 and f"{path}: {where}: invalid box ({reason})" in result.stderr


# --- fuzzing ---------------------------------------------------------------------------------

def check_cli_on(content: bytes, tmp_path, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    result = invoke("analyze", path, "--format", "csv", "--methods", "roipool,roialign")
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    if result.exit_code == 0:
        return parse_output(result.stdout, "csv")
    return None


csv_cell = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.sampled_from(["", "abc", "1e400", "-0", " 3 ", "NaN", "\"5\""]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(csv_cell, min_size=4, max_size=4), max_size=20),
       header=st.sampled_from(["x1,y1,x2,y2", "xmin,ymin,xmax,ymax", "x,y,w,h"]))
def test_fuzzed_csv_boxes_are_all_accounted_for(rows, header, tmp_path):
    text = header + "\n" + "".join(",".join(r) + "\n" for r in rows)
    out = check_cli_on(text.encode(), tmp_path, ".csv")
    if out is not None:
        assert len(out) == len(rows) * 2  # every box: a row per method, measured or flagged


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_fuzzed_bytes_never_crash(data, tmp_path):
    check_cli_on(data, tmp_path, ".csv")
    check_cli_on(b"{" + data, tmp_path, ".json")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000), byte=st.integers(0, 255))
def test_truncated_and_garbled_coco_never_crashes(cut, flip, byte, tmp_path):
    original = VAL.read_bytes()[:20000]
    garbled = bytearray(original[: len(original) - cut])
    if garbled:
        garbled[flip % len(garbled)] = byte
    check_cli_on(bytes(garbled), tmp_path, ".json")


annotation = st.fixed_dictionaries({
    "id": st.integers(0, 100),
    "image_id": st.sampled_from([1, 2, 3, "x", None]),
    "category_id": st.sampled_from([1, 2, None, "cat"]),
    "bbox": st.one_of(st.lists(st.one_of(st.floats(-1e6, 1e6), st.integers(-10**9, 10**9), st.text(max_size=2)),
                               max_size=5), st.none(), st.integers()),
    "iscrowd": st.sampled_from([0, 1, True, None]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(annotations=st.lists(annotation, max_size=12),
       sizes=st.lists(st.tuples(st.integers(-5, 2000), st.one_of(st.integers(-5, 2000), st.none())), min_size=2, max_size=2))
def test_fuzzed_coco_boxes_are_all_accounted_for(annotations, sizes, tmp_path):
    coco = {"images": [{"id": i + 1, "width": w, "height": h} for i, (w, h) in enumerate(sizes)],
            "annotations": annotations, "categories": [{"id": 1, "name": "a"}]}
    out = check_cli_on(json.dumps(coco).encode(), tmp_path, ".json")
    assert out is not None
    assert len(out) == len(annotations) * 2
