"""Every box format (issue 15): the same made-up boxes through each give identical rows; each
format's bad input is a named InputError or a flagged row; CLI = library."""

import bz2
import gzip
import json
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roiloss
from roiloss.errors import InputError
from roiloss.readers import iter_boxes

from box_formats import BOXES, CATEGORIES, IMAGES, compress, png_header, write_all, write_csv, write_voc, write_yolo
from conftest import ROOT, invoke, parse_output

SEMANTICS = dict(methods="roipool,roialign", stride=16, pool=3)
COMPARED = ["category", "x1", "y1", "x2", "y2", "method", "lost_frac", "gained_frac", "outside_weight", "iou",
            "shift_px", "empty_bins", "flags"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    paths = write_all(folder)
    paths["sizes"] = folder / "openimages-sizes.csv"
    paths["gt"] = folder / "instances.json"
    return paths


def options(name, files):
    return {"openimages": {"image_sizes": files["sizes"]}, "coco-results": {"images": files["gt"]}}.get(name, {})


def rows_of(path, **kwargs):
    table = roiloss.read_boxes(path, **kwargs)
    rows = roiloss.analyze(table, **SEMANTICS)
    return table, rows


def expected_rows(tmp_path):
    return rows_of(write_csv(tmp_path / "reference.csv"))[1][COMPARED]


FORMATS = {"csv": "csv", "coco": "coco", "voc": "voc", "yolo": "yolo", "openimages": "openimages",
           "coco-results": "coco-results", "jsonl": "jsonl", "parquet": "parquet", "arrow": "arrow",
           "xywh": "csv", "bbox": "csv", "utf16": "csv"}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_the_same_boxes_through_every_format_give_identical_rows(name, files, tmp_path):
    table, rows = rows_of(files[name], **options(name, files))
    assert iter_boxes(files[name], **options(name, files)).format == FORMATS[name]
    assert (table["invalid"] == "").all(), table["invalid"].tolist()
    assert table[["image_width", "image_height"]].values.tolist() == [list(IMAGES[b[0]]) for b in BOXES]
    pd.testing.assert_frame_equal(rows[COMPARED].reset_index(drop=True), expected_rows(tmp_path),
                                  check_dtype=False, check_categorical=False)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
@pytest.mark.parametrize("name", ["csv", "coco", "jsonl", "parquet", "openimages", "utf16"])
def test_compressed_files_are_detected_by_their_magic_bytes(name, suffix, files, tmp_path):
    packed = compress(files[name], suffix)
    renamed = packed.rename(tmp_path / f"no-extension-{name}")  # the magic bytes, not the name, tell
    for path in (packed if packed.exists() else renamed, renamed):
        table, rows = rows_of(path, **options(name, files))
        pd.testing.assert_frame_equal(rows[COMPARED].reset_index(drop=True), expected_rows(tmp_path),
                                      check_dtype=False, check_categorical=False)


def test_a_compressed_voc_file_and_a_comment_in_csv(tmp_path):
    voc = write_voc(tmp_path / "voc")
    single = compress(voc / "img1.xml", ".gz")
    table = roiloss.read_boxes(single)
    assert len(table) == 4 and table.x1.tolist() == [32, 0, 200, 5]
    path = tmp_path / "commented.csv"
    path.write_text("# exported by hand\nx1,y1,x2,y2\n# a note between rows\n0,0,10,10\n  # indented\n1,2,x,4\n")
    table = roiloss.read_boxes(path)
    assert table.invalid.tolist() == ["", "non-numeric x2"]
    with pytest.raises(InputError, match="line 6: invalid box"):
        roiloss.read_boxes(path, strict=True)


def test_a_hash_line_inside_a_quoted_value_is_not_a_comment(tmp_path):
    """The fuzzer's find: a label holding a line break then ``#`` lost its box."""
    path = tmp_path / "quoted.csv"
    path.write_text('# a note\nx1,y1,x2,y2,label\n1,2,30,40,"first\n# still the label"\n'
                    '  # a comment "with a quote\n5,6,70,80,"x""y"\n# "\n0,0,9,9,z\n')
    table = roiloss.read_boxes(path)
    assert table.category.tolist() == ["first\n# still the label", 'x"y', "z"]
    assert table.x1.tolist() == [1, 5, 0] and table.invalid.tolist() == ["", "", ""]
    with pytest.raises(InputError, match="line 9: invalid box"):
        roiloss.read_boxes(path.parent / _with_bad_last(path), strict=True)


def _with_bad_last(path):
    bad = path.with_name("bad.csv")
    bad.write_text(path.read_text() + "1,2,x,4,w\n")
    return bad.name


def test_truncated_and_corrupt_compressed_files_are_named_errors(files, tmp_path):
    data = gzip.compress(files["csv"].read_bytes() * 50)
    for name, content, message in [("cut.csv.gz", data[: len(data) // 2], "truncated gzip file"),
                                   ("cut.json.bz2", bz2.compress(b"{}" * 999)[:40], "truncated bzip2 file"),
                                   ("bad.csv.gz", data[:30] + b"\x00" * 40 + data[70:], "corrupt gzip data")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError, match=f"{name}: {message}"):
            roiloss.read_boxes(path)
        result = invoke("analyze", path, "--format", "csv", "-o", tmp_path / "out.csv")
        assert result.exit_code == 2 and name in result.stderr and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out.csv").exists()


# --- Pascal VOC -------------------------------------------------------------------------------

def voc_file(tmp_path, objects, size="<size><width>64</width><height>32</height></size>", name="a.xml"):
    path = tmp_path / name
    path.write_text(f"<annotation><filename>a.jpg</filename>{size}{objects}</annotation>")
    return path


def test_voc_is_one_based_inclusive_converted_as_detectron2(tmp_path):
    path = voc_file(tmp_path, "<object><name>x</name><difficult>1</difficult><truncated>1</truncated>"
                              "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>64</xmax><ymax>32</ymax></bndbox></object>")
    table = roiloss.read_boxes(path)
    assert table[["x1", "y1", "x2", "y2", "image_width", "image_height"]].values.tolist() == [[0, 0, 64, 32, 64, 32]]
    assert table.difficult.tolist() == [1] and table.truncated.tolist() == [1] and table.image_id.tolist() == ["a.jpg"]
    rows = parse_output(invoke("analyze", path, "--format", "csv", "--methods", "roialign").stdout, "csv")
    assert rows.difficult.tolist() == [1] and rows["flags"].isna().all()  # not outside the image


def test_voc_bad_boxes_are_flagged_rows(tmp_path):
    path = voc_file(tmp_path, "<object><name>a</name></object>"
                              "<object><name>b</name><bndbox><xmin>x</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
                              "<object><name>c</name><bndbox><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
                              "<object><name>d</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>",
                    size="")
    table = roiloss.read_boxes(path)
    assert table.invalid.tolist() == ["missing bndbox", "non-numeric xmin", "missing/NaN xmin", "x2<=x1"]
    assert table.image_width.isna().all()  # no <size>: unknown, not guessed
    with pytest.raises(InputError, match=r"a\.xml: object 1: invalid box \(missing bndbox\)"):
        roiloss.read_boxes(path, strict=True)


@pytest.mark.parametrize("content,message", [
    ("<annotation><object></annotation>", r"line 1, column \d+: not well-formed XML"),
    ("<annotation>\n<object>\n<name>a</name>", r"line 3, column \d+: not well-formed XML"),
    ("<html><body/></html>", "not a Pascal VOC annotation: the root element is <html>"),
    ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><annotation>&e;</annotation>',
     "refused: the XML declares entities"),
])
def test_broken_voc_files_are_named_errors(content, message, tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text(content)
    with pytest.raises(InputError, match=f"broken.xml: {message}"):
        roiloss.read_boxes(path)


def test_an_entity_expansion_attack_is_refused_quickly(tmp_path):
    entities = "".join(f'<!ENTITY lol{k} "{("&lol" + str(k - 1) + ";") * 10}">' for k in range(1, 10))
    path = tmp_path / "laughs.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY lol0 "lol">{entities}]>'
                    "<annotation><object><name>&lol9;</name></object></annotation>")
    start = time.perf_counter()
    result = invoke("analyze", path, "--format", "csv")
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2 and "laughs.xml: refused: the XML declares entities" in result.stderr
    assert "Traceback" not in result.stderr


# --- YOLO -------------------------------------------------------------------------------------

def test_yolo_bad_lines_are_flagged_rows_and_the_class_names_come_from_data_yaml(tmp_path):
    folder = write_yolo(tmp_path / "ds")
    (folder / "labels" / "img1.txt").write_text("0 0.25 0.375 0.25 0.5\n1 0.5 0.5 0.2\n2 1.5 0.5 0.2 0.2\n"
                                                "x 0.5 0.5 0.2 0.2\n1.5 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.5 0.5 0.75\n")
    table = roiloss.read_boxes(folder / "labels" / "img1.txt")
    assert table.invalid.tolist() == ["", "line has 4 values, expected 5 (class xc yc w h)",
                                      "normalised value beyond [0, 1]", "non-numeric value",
                                      "class not a whole number", ""]
    assert table.category.tolist()[:1] == ["cat"] and table.score.isna().tolist() == [True] * 5 + [False]
    with pytest.raises(InputError, match=r"img1\.txt: line 2: invalid box \(line has 4 values"):
        roiloss.read_boxes(folder, strict=True)
    assert len(roiloss.read_boxes(folder)) == 6 + 2  # and img2's boxes


def test_yolo_image_size_comes_from_the_image_header_else_an_option_never_a_guess(tmp_path):
    folder = write_yolo(tmp_path / "ds", images=False)
    with pytest.raises(InputError, match=r"img1\.txt: no image beside it .*image_size=WxH"):
        roiloss.read_boxes(folder)
    result = invoke("analyze", folder)
    assert result.exit_code == 2 and "img1.txt: no image beside it" in result.stderr
    assert roiloss.read_boxes(folder, image_size="256x128").image_width.tolist() == [256] * 6
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("image_id,width,height\nimg1,256,128\nimg2,512,256\n")
    assert roiloss.read_boxes(folder, image_sizes=sizes).image_width.tolist() == [256] * 4 + [512] * 2
    (folder / "images" / "img1.jpg").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"img1\.jpg: cannot read the image size from its header"):
        roiloss.read_boxes(folder, image_size="256x128")


def test_yolo_with_labels_and_images_side_by_side_and_a_broken_yaml(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (flat / "a.png").write_bytes(png_header(40, 20))
    (flat / "classes.txt").write_text("thing\n")
    table = roiloss.read_boxes(flat)
    assert table[["category", "x1", "y1", "x2", "y2", "image_width"]].values.tolist() == [["thing", 10, 5, 30, 15, 40]]
    (flat / "data.yaml").write_text("names: [a, b\n  c: d\n")
    with pytest.raises(InputError, match=r"data\.yaml: line \d+, column \d+: not valid YAML"):
        roiloss.read_boxes(flat)


# --- Open Images, COCO results ----------------------------------------------------------------

def test_open_images_reads_columns_by_name_and_needs_image_sizes(tmp_path):
    path = tmp_path / "oi.csv"
    path.write_text("ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf\nimg1,/m/01,0.25,0.5,0.125,0.75,1\n"
                    "img1,/m/01,0.25,1.25,0,1,0\nimg9,/m/02,0,1,0,1,0\n")
    with pytest.raises(InputError, match=r"oi\.csv: Open Images boxes are normalised"):
        roiloss.read_boxes(path)
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("ImageID,width,height\nimg1,256,128\n")
    table = roiloss.read_boxes(path, image_sizes=sizes)
    assert table[["x1", "x2", "y1", "y2"]].values.tolist()[0] == [64, 128, 16, 96]  # XMin, XMax, YMin, YMax
    assert table.invalid.tolist() == ["", "normalised value beyond [0, 1]", "unknown-image"]
    assert table.iscrowd.tolist() == [1, 0, 0]
    assert roiloss.read_boxes(path, image_size="100x100").invalid.tolist()[2] == ""
    bad_sizes = tmp_path / "bad.csv"
    bad_sizes.write_text("image_id,width,height\nimg1,256,-1\n")
    with pytest.raises(InputError, match=r"bad\.csv: line 2: image size must be two positive numbers"):
        roiloss.read_boxes(path, image_sizes=bad_sizes)


def test_coco_results_keep_the_score_and_skip_below_min_score(files, tmp_path):
    rows = roiloss.analyze(roiloss.read_boxes(files["coco-results"], images=files["gt"]), methods="roialign")
    assert rows.score.tolist() == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    assert list(rows.columns[-2:]) == ["score", "flags"]
    result = invoke("analyze", files["coco-results"], "--images", files["gt"], "--min-score", "0.55",
                    "--methods", "roialign", "--format", "csv")
    cli = parse_output(result.stdout, "csv")
    assert cli.score.tolist() == [0.9, 0.8, 0.7, 0.6] and "2 boxes scoring below --min-score skipped" in result.stderr
    library = roiloss.analyze(roiloss.read_boxes(files["coco-results"], images=files["gt"], min_score=0.55),
                              methods="roialign")
    assert cli.lost_frac.tolist() == pytest.approx(library.lost_frac.tolist())
    assert roiloss.read_boxes(files["coco-results"]).category.tolist()[:2] == [1, 2]  # no --images: ids
    path = tmp_path / "res.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5},
                                {"image_id": 99, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5},
                                {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5], "score": 0.5}]))
    table = roiloss.read_boxes(path, images=files["gt"])
    assert table.invalid.tolist() == ["", "unknown-image", "bbox not 4 numbers"]
    with pytest.raises(InputError, match=r"res\.json: \$\[1\]\.image_id: invalid box \(unknown-image\)"):
        roiloss.read_boxes(path, images=files["gt"], strict=True)
    with pytest.raises(InputError, match="not a COCO results file"):
        path.write_text("[1, 2]")
        roiloss.read_boxes(path)


# --- Parquet, Arrow, JSON Lines ---------------------------------------------------------------

def test_parquet_is_streamed_by_row_groups_and_wrong_types_flag_boxes(files, tmp_path):
    assert [len(c) for c in iter_boxes(files["parquet"], chunk_rows=4).chunks] == [4, 2]
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"x1": ["0", "a", None], "y1": [True, False, True], "x2": [5.0, 5.0, 5.0],
                             "y2": [5, 5, 5]}), path)
    table = roiloss.read_boxes(path)
    assert table.invalid.tolist() == ["non-numeric y1", "non-numeric x1", "missing/NaN x1"]
    listed = tmp_path / "listed.parquet"
    pq.write_table(pa.table({"bbox": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]]}), listed)
    assert roiloss.read_boxes(listed).invalid.tolist() == ["", "bbox not 4 numbers"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(files["parquet"].read_bytes()[:200])
    with pytest.raises(InputError, match=r"broken\.parquet: not a readable Parquet file"):
        roiloss.read_boxes(broken)
    nobox = tmp_path / "nobox.parquet"
    pq.write_table(pa.table({"a": [1]}), nobox)
    with pytest.raises(InputError, match="no box columns found; columns are: a"):
        roiloss.read_boxes(nobox)
    with pytest.raises(InputError, match=r"typed\.parquet: row 1: invalid box \(non-numeric y1\)"):
        roiloss.read_boxes(path, strict=True)


def test_json_lines_bad_lines_are_flagged_with_their_line(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"x1": 0, "y1": 0, "x2": 5, "y2": 5}\n\nnot json\n[1, 2]\n{"x1": 0, "y1": 0, "x2": "a", "y2": 5}\n')
    table = roiloss.read_boxes(path)
    assert table.invalid.tolist() == ["", "line is not a JSON object", "line is not a JSON object", "non-numeric x2"]
    with pytest.raises(InputError, match=r"b\.jsonl: line 3: invalid box"):
        roiloss.read_boxes(path, strict=True)
    path.write_text("[1]\n")
    with pytest.raises(InputError, match="not a COCO results file"):
        roiloss.read_boxes(path)


def test_arrow_stream_and_file(files, tmp_path):
    import pyarrow as pa

    table = pa.Table.from_pandas(roiloss.read_boxes(files["csv"])[["x1", "y1", "x2", "y2"]])
    stream = tmp_path / "boxes.arrows"
    with pa.OSFile(str(stream), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    assert roiloss.read_boxes(stream).x2.tolist() == [b[4] for b in BOXES]


# --- CSV variants, detection, forcing ---------------------------------------------------------

def test_csv_variants(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text('image_id,width,height,bbox\na,64,64,"[1, 2, 3, 4]"\na,64,64,"[1, 2]"\na,64,64,\n')
    table = roiloss.read_boxes(path)
    assert table.invalid.tolist() == ["", "bbox not 4 numbers", "missing/NaN bbox"]
    assert table[["x2", "y2", "image_width"]].values.tolist()[0] == [4, 6, 64]  # width/height: the image's
    path.write_text("xmin,ymin,width,height\n1,2,3,4\n")
    assert roiloss.read_boxes(path)[["x2", "y2"]].values.tolist() == [[4, 6]]  # beside xmin/ymin: the box's
    path.write_bytes("x1\ty1\tx2\ty2\n1\t2\t3\t4\n".encode("utf-16"))
    assert roiloss.read_boxes(path).x2.tolist() == [3]


def test_detection_forcing_and_unknown_formats(files, tmp_path):
    renamed = tmp_path / "data.bin"
    renamed.write_bytes(files["jsonl"].read_bytes())
    assert iter_boxes(renamed).format == "jsonl"
    assert len(roiloss.read_boxes(files["csv"], format="csv")) == 6
    with pytest.raises(InputError, match="unknown input format 'pascal'; the formats understood are: csv, coco, "
                                         "coco-results, voc, yolo, openimages, jsonl, parquet, arrow"):
        roiloss.read_boxes(files["csv"], format="pascal")
    result = invoke("analyze", files["csv"], "--input-format", "pascal")
    assert result.exit_code == 2 and "coco-results" in result.stderr
    forced = invoke("analyze", files["coco-results"], "--input-format", "coco", "--format", "csv")
    assert forced.exit_code == 0 and len(parse_output(forced.stdout, "csv")) == 6 * 3  # a list: results


@pytest.mark.parametrize("name", ["voc", "yolo", "parquet", "openimages"])
def test_cli_equals_library(name, files):
    extra = {"openimages": ["--image-sizes", files["sizes"]]}.get(name, [])
    result = invoke("analyze", files[name], *extra, "--methods", "roipool,roialign", "--stride", "16", "--pool", "3",
                    "--format", "csv")
    assert result.exit_code == 0, result.stderr
    cli = parse_output(result.stdout, "csv")
    library = rows_of(files[name], **options(name, files))[1]
    assert len(cli) == len(library)
    for column in ("x1", "y1", "x2", "y2", "lost_frac", "gained_frac", "outside_weight", "iou", "shift_px"):
        assert np.allclose(cli[column].to_numpy(float), library[column].to_numpy(float), equal_nan=True), column
    assert cli.category.tolist() == library.category.tolist()
    assert CATEGORIES  # names resolved the same way


def test_the_committed_fixtures_are_what_the_generator_writes(tmp_path):
    committed = ROOT / "tests" / "data" / "formats"
    generated = write_all(tmp_path)
    for name, path in generated.items():
        twin = committed / path.relative_to(tmp_path)
        kwargs = {"openimages": {"image_sizes": committed / "openimages-sizes.csv"},
                  "coco-results": {"images": committed / "instances.json"},
                  "detections": {"images": committed / "instances.json"}}.get(name, {})
        pd.testing.assert_frame_equal(roiloss.read_boxes(twin, **kwargs), roiloss.read_boxes(path, **{
            k: tmp_path / v.relative_to(committed) for k, v in kwargs.items()}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from([b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"PAR1", b"ARROW1",
                               b"\xff\xff\xff\xff", b"<", b"<annotation>", b"[", b"{", b"\xff\xfe", b"0 0.5 0.5 "]),
       data=st.binary(max_size=200))
def test_garbage_behind_every_format_signature_is_a_named_error_or_flagged_rows(prefix, data, tmp_path):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(prefix + data)
    result = invoke("analyze", path, "--format", "csv", "--methods", "roialign", "--image-size", "64x64")
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
