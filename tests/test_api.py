"""The Python API: every box form accepted everywhere, image sizes, clear errors naming the
parameter, presets equal to their explicit semantics."""

import re

import numpy as np
import pandas as pd
import pytest

import roiloss
from roiloss.api import semantics_of

from conftest import ARTICLE_BOX, VAL

BOXES = [(296, 192, 496, 337), (40, 60, 60, 75), (0, 0, 32, 32)]
CALLS = {
    "analyze": lambda boxes, **kw: roiloss.analyze(boxes, **kw),
    "grid": lambda boxes, **kw: roiloss.grid(boxes, detail="bins", **kw),
    "coefficients": lambda boxes, methods=None, **kw: roiloss.coefficients(boxes, method=methods, **kw),
    "audit": lambda boxes, **kw: roiloss.audit(boxes, "mean lost_frac <= 1", **kw).rows,
}
IDENTITY = ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2"]


def box_forms():
    array = np.array(BOXES, dtype=float)
    return {
        "array": array,
        "list of tuples": BOXES,
        "list of lists": [list(b) for b in BOXES],
        "DataFrame": pd.DataFrame(array, columns=["x1", "y1", "x2", "y2"]),
        "DataFrame xywh": pd.DataFrame({"x": array[:, 0], "y": array[:, 1], "w": array[:, 2] - array[:, 0],
                                        "h": array[:, 3] - array[:, 1]}),
        "list of dicts": [dict(zip(["xmin", "ymin", "xmax", "ymax"], b)) for b in BOXES],
        "canonical table": roiloss.read_boxes.__globals__["_boxes"].normalise(array),
    }


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("form", sorted(box_forms()))
def test_every_box_form_gives_the_same_result(call, form):
    kwargs = dict(stride=32, pool=3, image_size=(512, 512))
    expected = CALLS[call](np.array(BOXES, dtype=float), **kwargs)
    got = CALLS[call](box_forms()[form], **kwargs)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert len(got) > 0


@pytest.mark.parametrize("call", sorted(CALLS))
def test_torchvision_rois_take_the_batch_index_as_image_id(call):
    rois = np.array([[0, *BOXES[0]], [1, *BOXES[1]], [1, *BOXES[2]]], dtype=float)
    got = CALLS[call](rois, stride=32, pool=3, image_size=(512, 512))
    plain = CALLS[call](np.array(BOXES, dtype=float), stride=32, pool=3, image_size=(512, 512))
    if "image_id" in got.columns:
        assert got.drop_duplicates("roi_id").image_id.tolist() == [0, 1, 1]
        pd.testing.assert_frame_equal(got.drop(columns="image_id"), plain.drop(columns="image_id"), check_dtype=False)
    else:
        pd.testing.assert_frame_equal(got, plain, check_dtype=False)


def test_dataframe_keeps_ids_images_and_categories():
    frame = pd.DataFrame({"id": [10, 11], "image": ["a.jpg", "b.jpg"], "label": ["cat", "dog"],
                          "xmin": [0, 5], "ymin": [0, 5], "xmax": [32, 40], "ymax": [32, 50]})
    rows = roiloss.analyze(frame, methods="roialign")
    assert rows[IDENTITY].values.tolist() == [[10, "a.jpg", "cat", 0, 0, 32, 32], [11, "b.jpg", "dog", 5, 5, 40, 50]]
    dicts = roiloss.analyze(frame.to_dict("records"), methods="roialign")
    pd.testing.assert_frame_equal(dicts, rows, check_dtype=False)


def test_one_box_and_no_boxes():
    one = roiloss.analyze(ARTICLE_BOX, methods="roipool", stride=32, pool=3, image_size=(512, 512))
    assert len(one) == 1 and one.gained_frac[0] == pytest.approx(0.4830, abs=5e-5)
    none = roiloss.analyze([], methods="roipool")
    assert len(none) == 0 and list(none.columns[:7]) == IDENTITY


@pytest.mark.parametrize("call", sorted(CALLS))
def test_image_size_as_tuple_or_text(call):
    results = [CALLS[call](BOXES, stride=32, pool=3, image_size=size)
               for size in ((512, 512), "512x512", [512, 512], "512X512", np.array([512, 512]), (512.0, 512.0))]
    for other in results[1:]:
        pd.testing.assert_frame_equal(other, results[0])


def test_image_size_fills_only_missing_sizes():
    frame = pd.DataFrame({"x1": [0, 0], "y1": [0, 0], "x2": [10, 10], "y2": [10, 10],
                          "image_width": [100, np.nan], "image_height": [50, np.nan]})
    rows = roiloss.analyze(frame, methods="roialign", image_size="640x480")
    assert rows["flags"].tolist() == ["sub-cell", "sub-cell"]
    table = roiloss.read_boxes.__globals__["_boxes"].normalise(frame, image_size="640x480")
    assert table[["image_width", "image_height"]].values.tolist() == [[100, 50], [640, 480]]


BAD_ARGUMENTS = [
    (dict(stride="abc"), ValueError, "stride"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=True), TypeError, "stride"),
    (dict(pool=(3,)), ValueError, "pool"),
    (dict(pool="3x"), ValueError, "pool"),
    (dict(pool=0), ValueError, "pool"),
    (dict(pool=2.5), TypeError, "pool"),
    (dict(image_size="5x"), ValueError, "image_size"),
    (dict(image_size="big"), ValueError, "image_size"),
    (dict(image_size=(0, 5)), ValueError, "image_size"),
    (dict(image_size=5), TypeError, "image_size"),
    (dict(methods=5), TypeError, "methods"),
    (dict(methods="roifoo"), ValueError, "method"),
    (dict(sampling_ratio=-1), ValueError, "sampling_ratio"),
    (dict(sampling_ratio=1.5), ValueError, "sampling_ratio"),
    (dict(sample_placement="middle"), ValueError, "sample_placement"),
    (dict(arithmetic="float16"), ValueError, "arithmetic"),
    (dict(preset="yolo"), ValueError, "preset"),
    (dict(preset=3), TypeError, "preset"),
    (dict(head="tail"), ValueError, "head"),
    (dict(resize="bicubic"), ValueError, "resize"),
    (dict(resize=3), TypeError, "resize"),
    (dict(pyramid="fpn"), TypeError, "pyramid"),
    (dict(pyramid=roiloss.Pyramid(), stride=16), ValueError, "stride"),
    (dict(semantics="torchvision"), TypeError, "semantics"),
    (dict(semantics=roiloss.resolve(), stride=16), ValueError, "semantics"),
]


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("kwargs,error,name", BAD_ARGUMENTS, ids=[str(a[0]) for a in BAD_ARGUMENTS])
def test_bad_arguments_raise_naming_the_parameter(call, kwargs, error, name):
    if call == "coefficients" and name == "methods":
        name = "method"  # coefficients takes one method
    with pytest.raises(error) as caught:
        CALLS[call](BOXES, **kwargs)
    message = str(caught.value)
    assert re.search(rf"\b{name}\b", message), message
    assert "--" not in message  # a library message names parameters, not command-line flags


@pytest.mark.parametrize("boxes,error,text", [
    ("0,0,10,10", TypeError, "got str"),
    (b"0,0,10,10", TypeError, "got bytes"),
    (5, TypeError, "got int"),
    ({"x1": 0, "y1": 0, "x2": 1, "y2": 1}, TypeError, "got dict"),
    ([[1, 2, 3]], ValueError, "shape (N, 4) or (N, 5)"),
    (np.zeros((2, 6)), ValueError, "shape (N, 4) or (N, 5)"),
    ([["a", "b", "c", "d"]], ValueError, "must hold numbers"),
    (pd.DataFrame({"a": [1], "b": [2]}), ValueError, "no box columns found"),
])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_bad_boxes_raise_naming_boxes(call, boxes, error, text):
    with pytest.raises(error) as caught:
        CALLS[call](boxes)
    message = str(caught.value)
    assert message.startswith("boxes") and text in message and "--" not in message


def test_coefficients_takes_one_method():
    with pytest.raises(ValueError, match="method must be one method name"):
        roiloss.coefficients(BOXES, method="all")
    with pytest.raises(ValueError, match="method must be one method name"):
        roiloss.coefficients(BOXES, method="roialign,roipool")
    pd.testing.assert_frame_equal(roiloss.coefficients(BOXES, method=["roipool"]), roiloss.coefficients(BOXES, "roipool"))


def test_no_library_message_mentions_a_command_line_flag():
    """Every error text the library can raise, read from the source: none names a --flag."""
    from pathlib import Path

    package = Path(roiloss.__file__).parent
    library = [p for p in package.glob("*.py") if p.name not in ("cli.py", "commands.py", "__main__.py")]
    offenders = []
    for path in library:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"raise \w+(Error|Exception)\(.*--[a-z]", line) or re.search(r"f?\".*--[a-z][a-z-]+.*\"", line) \
                    and "Error" in line:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


# --- presets -----------------------------------------------------------------------------------

EQUIVALENT = {
    "torchvision": dict(methods="roialign-legacy", sampling_ratio=2, pool=7,
                        pyramid=roiloss.Pyramid(mapper="torchvision"),
                        resize=roiloss.Resize("torchvision", short=(800,), max_size=1333, pad_divisor=32)),
    "detectron2": dict(methods="roialign", sampling_ratio=0, pool=7, pyramid=roiloss.Pyramid(mapper="detectron2"),
                       resize="detectron2"),
    "fast-rcnn": dict(methods="roipool", stride=16, pool=7, sampling_ratio=0, resize="fast-rcnn"),
    "mnc": dict(methods="roiwarp", stride=16, pool=14, sampling_ratio=0, resize="fast-rcnn"),
}


@pytest.fixture(scope="module")
def val_boxes():
    return roiloss.read_boxes(VAL).head(120)


@pytest.mark.parametrize("preset", sorted(EQUIVALENT))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_preset_equals_its_explicit_semantics(call, preset, val_boxes):
    explicit = dict(EQUIVALENT[preset])
    by_preset = CALLS[call](val_boxes, preset=preset)
    by_hand = CALLS[call](val_boxes, **explicit)
    pd.testing.assert_frame_equal(by_preset.drop(columns=["preset"], errors="ignore"), by_hand)
    assert len(by_hand) > 0
    if call == "analyze":
        assert set(by_preset.preset) == {preset}


@pytest.mark.parametrize("preset", sorted(EQUIVALENT))
def test_preset_resolves_to_the_same_semantics(preset):
    from dataclasses import replace

    by_preset = semantics_of(preset=preset)
    by_hand = semantics_of(**EQUIVALENT[preset])
    assert by_preset.preset == preset and by_hand.preset is None
    assert replace(by_preset, preset=None) == by_hand


def test_preset_audit_equals_explicit_audit(val_boxes):
    a = roiloss.audit(val_boxes, "roialign p95 gained_frac <= 0.5", preset="detectron2")
    b = roiloss.audit(val_boxes, "roialign p95 gained_frac <= 0.5", **EQUIVALENT["detectron2"])
    assert [(r.name, r.value, r.passed, r.worst, r.remedy) for r in a.results] == [
        (r.name, r.value, r.passed, r.worst, r.remedy) for r in b.results]
    assert a.semantics.to_dict()["preset"] == "detectron2"


def test_explicit_settings_win_over_a_preset(val_boxes):
    rows = roiloss.analyze(val_boxes, preset="detectron2", pool=5, sampling_ratio=2, methods="roialign,roipool")
    assert set(rows["pool"]) == {"5x5"} and set(rows.method) == {"roialign", "roipool"}
    assert set(rows.dropna(subset=["sampling_ratio"]).sampling_ratio) == {2} and set(rows.mapper) == {"detectron2"}
    single = roiloss.analyze(val_boxes, preset="detectron2", stride=16)
    assert set(single.stride) == {16.0} and "level" not in single.columns
    mask = roiloss.analyze(val_boxes, preset="mmdet", head="mask")
    assert set(mask["pool"]) == {"14x14"}


def test_semantics_object_equals_keywords():
    semantics = roiloss.resolve(methods="roialign", stride=32, pool=3, sampling_ratio=0)
    a = roiloss.analyze(BOXES, semantics=semantics, image_size=(512, 512))
    b = roiloss.analyze(BOXES, methods="roialign", stride=32, pool=3, sampling_ratio=0, image_size=(512, 512))
    pd.testing.assert_frame_equal(a, b)


def test_analyze_columns_in_the_documented_order():
    rows = roiloss.analyze(roiloss.read_boxes(VAL).head(3), preset="torchvision")
    assert list(rows.columns) == IDENTITY + [
        "short_side", "model_width", "model_height", "scale_x", "scale_y", "level", "stride", "preset", "method",
        "pool", "sampling_ratio", "mapper", "lost_frac", "gained_frac", "outside_weight", "iou", "shift_px",
        "empty_bins", "iscrowd", "flags"]
    plain = roiloss.analyze(BOXES)
    assert list(plain.columns) == IDENTITY + ["stride", "method", "pool", "sampling_ratio", "lost_frac", "gained_frac",
                                              "outside_weight", "iou", "shift_px", "empty_bins", "flags"]
