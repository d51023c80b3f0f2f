"""Feature pyramids and presets (docs/semantics.md §7): boxes go to their level, every output states it.

The float32 level mappers themselves are pinned in test_mappers.py; here: the §7.2 boundary table
(in both arithmetics: none of its values changes), each mapper against its formula written out in
float64, and the levels as the command line and the library report them.
"""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import roiloss
from roiloss.presets import PRESETS
from roiloss.pyramid import Pyramid, parse_levels, parse_strides

from conftest import VAL, VAL_BOXES, flat, invoke

# docs/semantics.md §7.2, square boxes of this side, levels 2-5. Matterport normalises boxes by the
# model's image (here 1024 x 1024); its 158.5 px value moved with that (test_mappers.py has it).
BOUNDARIES = {
    111.99: {"torchvision": 2, "detectron2": 2, "mmdet": 2, "matterport": 3},
    112.0: {"torchvision": 3, "detectron2": 3, "mmdet": 3, "matterport": 3},
    158.5: {"torchvision": 3, "detectron2": 3, "mmdet": 3},
    223.9999: {"torchvision": 4, "detectron2": 3},
    224.0: {"torchvision": 4, "detectron2": 4, "mmdet": 4, "matterport": 4},
    448.0: {"torchvision": 5, "detectron2": 5, "mmdet": 5, "matterport": 5},
}
IMAGE = np.array([1024.0])


def assign(mapper, w, h=None, arithmetic="exact", image=IMAGE):
    w = np.atleast_1d(np.asarray(w, dtype=float))
    h = w if h is None else np.atleast_1d(np.asarray(h, dtype=float))
    zeros = np.zeros_like(w)
    size = np.broadcast_to(image, w.shape)
    return Pyramid(mapper=mapper).assign(zeros, zeros, w, h, arithmetic, size, size)


@pytest.mark.parametrize("arithmetic", ["float32", "exact"])
@pytest.mark.parametrize("side", sorted(BOUNDARIES))
def test_boundary_table(side, arithmetic):
    for mapper, level in BOUNDARIES[side].items():
        assert assign(mapper, side, arithmetic=arithmetic)[0] == level, (mapper, side, arithmetic)


def reference_level(mapper, w, h=None, image=1024.0):
    """Each framework's formula in float64, written out independently, one box at a time."""
    h = w if h is None else h
    r = math.sqrt(w * h)
    if mapper == "torchvision":
        k = math.floor(4 + math.log2(r / 224) + 1e-6)
    elif mapper == "detectron2":
        k = math.floor(4 + math.log2(r / 224 + 1e-8))
    elif mapper == "maskrcnn-benchmark":
        k = math.floor(4 + math.log2(math.sqrt((w + 1) * (h + 1)) / 224 + 1e-6))
    elif mapper == "mmdet":
        k = 2 + min(max(math.floor(math.log2(r / 56 + 1e-6)), 0), 3)
    else:  # matterport: boxes normalised by (x1 / (W - 1), (x2 - 1) / (W - 1)), Python's round is half to even
        nw, nh = (w - 1) / (image - 1), (h - 1) / (image - 1)
        k = min(max(4 + round(math.log2(math.sqrt(nw * nh) / (224 / image))), 2), 5)
    return min(max(k, 2), 5)


MAPPERS = ["torchvision", "detectron2", "maskrcnn-benchmark", "mmdet", "matterport"]


@settings(max_examples=300, deadline=None)
@given(sides=st.lists(st.tuples(st.floats(2, 3000, allow_nan=False), st.floats(2, 3000, allow_nan=False)),
                      min_size=1, max_size=20),
       mapper=st.sampled_from(MAPPERS))
def test_random_boxes_against_each_mappers_formula_in_exact_arithmetic(sides, mapper):
    w, h = (np.array(v) for v in zip(*sides))
    got = assign(mapper, w, h, image=np.array([4096.0]))
    assert got.tolist() == [reference_level(mapper, a, b, image=4096.0) for a, b in sides]


def test_levels_are_clamped_and_invalid_boxes_get_none():
    assert assign("torchvision", [1.0, 10000.0]).tolist() == [2, 5]
    assert Pyramid(levels=(3, 4)).assign(np.zeros(2), np.zeros(2), np.array([10.0, 10000.0]),
                                         np.array([10.0, 10000.0])).tolist() == [3, 4]
    assert assign("torchvision", [np.nan]).tolist() == [-1]


def test_level_parsing():
    assert parse_strides("4,8,16,32") == (2, 3, 4, 5) == parse_levels("2-5") == parse_levels("2,3,4,5")
    with pytest.raises(ValueError, match="powers of two"):
        parse_strides("4,12")
    with pytest.raises(ValueError, match="consecutive"):
        Pyramid(levels=(2, 4))
    with pytest.raises(ValueError, match="mapper"):
        Pyramid(mapper="yolo")
    assert Pyramid().strides == [4, 8, 16, 32]
    assert Pyramid().describe() == "levels P2-P5 (strides 4,8,16,32) | mapper torchvision (224 px at level 4)"


def csv_rows(*args):
    result = invoke(*args, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(__import__("io").StringIO(result.stdout))


@pytest.mark.parametrize("arithmetic", ["exact", "float32"])
def test_each_box_is_analysed_at_its_levels_stride(arithmetic):
    frame = csv_rows("analyze", VAL, "--strides", "4,8,16,32", "--level-mapper", "detectron2", "--methods", "roialign",
                     "--arithmetic", arithmetic)
    w, h = (frame.x2 - frame.x1).to_numpy(), (frame.y2 - frame.y1).to_numpy()
    expected = [reference_level("detectron2", a, b) for a, b in zip(w, h)]
    # no COCO box of the subset lies within float32 rounding of a level boundary: both arithmetics agree
    assert frame.level.tolist() == expected
    assert (frame.stride == 2.0 ** frame.level).all()
    sub_cell = (np.minimum(w, h) < frame.stride)
    assert (frame["flags"].fillna("").str.contains("sub-cell") == sub_cell).all()


def level_counts(stdout):
    counts = {}
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[0] in roiloss.METHODS and cells[1] in ("2", "3", "4", "5"):
            counts[int(cells[1])] = int(cells[2])
    return counts


def test_per_level_counts_add_up_to_the_box_count():
    result = invoke("analyze", VAL, "--preset", "detectron2", "--rows", "0")
    assert re.search(r"\bmethod +level +boxes\b", result.stdout)  # a table per method and level
    counts = level_counts(result.stdout)
    assert set(counts) == {2, 3, 4, 5} and sum(counts.values()) == VAL_BOXES
    rows = roiloss.analyze(roiloss.read_boxes(VAL), preset="detectron2")
    assert counts == rows.level.value_counts().to_dict()


def test_preset_resolves_to_the_documented_settings():
    frame = csv_rows("analyze", VAL, "--preset", "torchvision")
    assert set(frame.method) == {"roialign-legacy"} and set(frame.sampling_ratio) == {2}
    assert set(frame["pool"]) == {"7x7"} and set(frame.mapper) == {"torchvision"} and set(frame.preset) == {"torchvision"}
    assert set(frame.level) <= {2, 3, 4, 5}
    # short side 800 (floor(side * scale): 799 for 500 x 334) unless the long side would pass 1333
    short, long = frame[["model_width", "model_height"]].min(axis=1), frame[["model_width", "model_height"]].max(axis=1)
    assert set(frame.short_side) == {800.0} and (short.between(799, 800) | (long == 1333)).all()
    mask = csv_rows("analyze", VAL, "--preset", "mmdet", "--head", "mask")
    assert set(mask["pool"]) == {"14x14"} and set(mask.method) == {"roialign"} and set(mask.sampling_ratio) == {0}
    assert set(mask.mapper) == {"mmdet"}
    fast = csv_rows("analyze", VAL, "--preset", "fast-rcnn")
    assert set(fast.method) == {"roipool"} and set(fast.stride) == {16.0} and "level" not in fast.columns
    assert set(fast.short_side) == {600.0}
    mnc = csv_rows("analyze", VAL, "--preset", "mnc")
    assert set(mnc.method) == {"roiwarp"} and set(mnc["pool"]) == {"14x14"}


def test_explicit_options_override_a_preset():
    frame = csv_rows("analyze", VAL, "--preset", "detectron2", "--sampling-ratio", "2", "--pool", "5",
                     "--methods", "roialign,roipool", "--level-mapper", "torchvision")
    assert set(frame.method) == {"roialign", "roipool"} and set(frame["pool"]) == {"5x5"}
    assert set(frame.dropna(subset=["sampling_ratio"]).sampling_ratio) == {2} and set(frame.mapper) == {"torchvision"}
    single = csv_rows("analyze", VAL, "--preset", "detectron2", "--stride", "16")
    assert set(single.stride) == {16.0} and "level" not in single.columns


def test_every_output_states_the_resolved_semantics(tmp_path):
    result = invoke("analyze", VAL, "--preset", "detectron2", "--rows", "0")
    assert ("preset detectron2 (box head) | methods roialign | resize detectron2 short 800 max 1333, pad to /32 | "
            "levels P2-P5 (strides 4,8,16,32) | mapper detectron2 (224 px at level 4) | pool 7x7 | "
            "sampling ratio adaptive | placement centered | arithmetic float32 | aligned=True") in flat(result.stdout)
    report = tmp_path / "r.json"
    invoke("audit", VAL, "--preset", "torchvision", "--report", report, "--quiet")
    data = json.loads(report.read_text())
    assert data["semantics"]["mapper"] == "torchvision" and data["semantics"]["strides"] == [4, 8, 16, 32]
    assert data["semantics"]["methods"] == ["roialign-legacy"]
    levels = {(r["method"], r["level"]): r["boxes"] for r in data["breakdowns"]["level"]}
    assert sum(levels.values()) == VAL_BOXES


@pytest.mark.parametrize("model", [["--resize", "none"], ["--image-size", "800x800"]])
def test_grid_and_figure_use_the_boxs_level(tmp_path, model):
    # the box as given: no resize, or an 800 x 800 image that torchvision's transform keeps at scale 1
    frame = csv_rows("grid", "--box", "10,10,60,70", "--preset", "torchvision", *model, "--detail", "bins")
    # sqrt(50 * 60) = 54.8 px -> P2, stride 4
    assert set(frame.level) == {2} and set(frame.stride) == {4.0}
    assert frame.x0.min() == pytest.approx(10 / 4 + 0.5)  # legacy: half a cell off, at stride 4
    big = csv_rows("grid", "--box", "0,0,500,500", "--preset", "torchvision", *model, "--detail", "bins")
    assert set(big.level) == {5}
    plot = tmp_path / "p.png"
    result = invoke("grid", "--box", "10,10,60,70", "--preset", "torchvision", *model, "--plot", plot,
                    "--format", "csv", "-o", tmp_path / "x.csv")
    assert result.exit_code == 0 and plot.stat().st_size > 0


def test_presets_are_the_documented_frameworks():
    assert list(PRESETS) == ["torchvision", "detectron2", "mmdet", "maskrcnn-benchmark", "fast-rcnn", "mnc",
                             "tensorrt-detectron2"]
    assert {name: (p.method, p.pool_box, p.pool_mask) for name, p in PRESETS.items()} == {
        "torchvision": ("roialign-legacy", 7, 14), "detectron2": ("roialign", 7, 14), "mmdet": ("roialign", 7, 14),
        "maskrcnn-benchmark": ("roialign-legacy", 7, 14), "fast-rcnn": ("roipool", 7, 7), "mnc": ("roiwarp", 14, 14),
        "tensorrt-detectron2": ("trt-pyramid", 7, 14)}


def test_python_api_takes_a_pyramid():
    frame = roiloss.analyze([(0, 0, 50, 60), (0, 0, 500, 500)], methods="roialign",
                            pyramid=roiloss.Pyramid(mapper="detectron2"))
    assert frame.level.tolist() == [2, 5] and frame.stride.tolist() == [4.0, 32.0]
    via_resolve = roiloss.analyze([(0, 0, 50, 60), (0, 0, 500, 500)],
                                  semantics=roiloss.resolve(methods="roialign", levels="2-5", level_mapper="detectron2"))
    pd.testing.assert_frame_equal(frame, via_resolve)
