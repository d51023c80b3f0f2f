"""Feature pyramids and presets (SPEC §7)."""

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from roiloss.cli import main
from roiloss.pyramid import PRESETS, Pyramid, parse_levels, parse_strides

VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-mini" / "instances_val2017_subset.json"

# SPEC §7 boundary table, square boxes of this side, levels 2-5
BOUNDARIES = {
    111.99: {"torchvision": 2, "detectron2": 2, "mmdet": 2, "matterport": 3},
    112.0: {"torchvision": 3, "detectron2": 3, "mmdet": 3, "matterport": 3},
    158.5: {"torchvision": 3, "detectron2": 3, "mmdet": 3, "matterport": 4},
    223.9999: {"torchvision": 4, "detectron2": 3},
    224.0: {"torchvision": 4, "detectron2": 4, "mmdet": 4, "matterport": 4},
    448.0: {"torchvision": 5, "detectron2": 5, "mmdet": 5, "matterport": 5},
}


@pytest.mark.parametrize("side", sorted(BOUNDARIES))
def test_boundary_table(side):
    for mapper, level in BOUNDARIES[side].items():
        assert Pyramid(mapper=mapper).assign(np.array([side]))[0] == level, (mapper, side)


def reference_level(mapper, r):
    """Each framework's formula, written out independently, one box at a time."""
    if mapper == "torchvision":
        k = math.floor(4 + math.log2(r / 224) + 1e-6)
    elif mapper == "detectron2":
        k = math.floor(4 + math.log2(r / 224 + 1e-8))
    elif mapper == "mmdet":
        k = 2 + min(max(math.floor(math.log2(r / 56 + 1e-6)), 0), 3)
    else:
        k = min(max(4 + round(math.log2(r / 224)), 2), 5)  # Python's round is half to even
    return min(max(k, 2), 5)


@settings(max_examples=300, deadline=None)
@given(sides=st.lists(st.floats(0.5, 3000, allow_nan=False), min_size=1, max_size=20),
       mapper=st.sampled_from(["torchvision", "detectron2", "mmdet", "matterport"]))
def test_random_boxes_against_each_mappers_formula(sides, mapper):
    got = Pyramid(mapper=mapper).assign(np.array(sides))
    assert got.tolist() == [reference_level(mapper, r) for r in sides]


def test_level_parsing():
    assert parse_strides("4,8,16,32") == (2, 3, 4, 5) == parse_levels("2-5") == parse_levels("2,3,4,5")
    with pytest.raises(ValueError):
        parse_strides("4,12")
    with pytest.raises(ValueError):
        Pyramid(levels=(2, 4))


def csv_rows(*args):
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))


def test_each_box_is_analysed_at_its_levels_stride():
    frame = csv_rows("analyze", VAL, "--strides", "4,8,16,32", "--level-mapper", "detectron2", "--methods", "roialign")
    side = np.sqrt((frame.x2 - frame.x1) * (frame.y2 - frame.y1))
    expected = [reference_level("detectron2", r) for r in side]
    assert frame.level.tolist() == expected
    assert (frame.stride == 2.0 ** frame.level).all()
    sub_cell = (np.minimum(frame.x2 - frame.x1, frame.y2 - frame.y1) < frame.stride)
    assert (frame["flags"].fillna("").str.contains("sub-cell") == sub_cell).all()


def test_per_level_counts_add_up_to_the_box_count():
    result = CliRunner().invoke(main, ["analyze", str(VAL), "--preset", "detectron2"], catch_exceptions=False)
    assert "Summary per method and pyramid level" in result.stdout
    counts = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) > 3 and cells[0] == "roialign" and cells[1] in "2345" and len(cells[1]) == 1:
            counts[int(cells[1])] = int(cells[2])
    assert set(counts) == {2, 3, 4, 5} and sum(counts.values()) == 624


def test_preset_resolves_to_the_documented_settings():
    frame = csv_rows("analyze", VAL, "--preset", "torchvision")
    assert set(frame.method) == {"roialign-legacy"} and set(frame.sampling_ratio) == {2}
    assert set(frame.pool) == {"7x7"} and set(frame.mapper) == {"torchvision"} and set(frame.preset) == {"torchvision"}
    assert set(frame.level) <= {2, 3, 4, 5}
    mask = csv_rows("analyze", VAL, "--preset", "mmdet", "--head", "mask")
    assert set(mask.pool) == {"14x14"} and set(mask.method) == {"roialign"} and set(mask.sampling_ratio) == {0}
    assert set(mask.mapper) == {"mmdet"}
    fast = csv_rows("analyze", VAL, "--preset", "fast-rcnn")
    assert set(fast.method) == {"roipool"} and set(fast.stride) == {16.0} and "level" not in fast.columns
    mnc = csv_rows("analyze", VAL, "--preset", "mnc")
    assert set(mnc.method) == {"roiwarp"} and set(mnc.pool) == {"14x14"}


def test_explicit_options_override_a_preset():
    frame = csv_rows("analyze", VAL, "--preset", "detectron2", "--sampling-ratio", "2", "--pool", "5",
                     "--methods", "roialign,roipool", "--level-mapper", "torchvision")
    assert set(frame.method) == {"roialign", "roipool"} and set(frame.pool) == {"5x5"}
    assert set(frame.dropna(subset=["sampling_ratio"]).sampling_ratio) == {2} and set(frame.mapper) == {"torchvision"}
    single = csv_rows("analyze", VAL, "--preset", "detectron2", "--stride", "16")
    assert set(single.stride) == {16.0} and "level" not in single.columns


def test_every_output_states_the_resolved_semantics(tmp_path):
    result = CliRunner().invoke(main, ["analyze", str(VAL), "--preset", "detectron2", "--rows", "0"])
    assert ("preset detectron2 (box head) | methods roialign | levels P2-P5 (strides 4,8,16,32) | mapper detectron2 "
            "(224 px at level 4) | pool 7x7 | sampling ratio adaptive | placement centered | aligned=True") in result.stdout
    report = tmp_path / "r.json"
    CliRunner().invoke(main, ["audit", str(VAL), "--preset", "torchvision", "--report", str(report), "--quiet"])
    data = json.loads(report.read_text())
    assert data["semantics"]["mapper"] == "torchvision" and data["semantics"]["strides"] == [4, 8, 16, 32]
    assert data["semantics"]["methods"] == ["roialign-legacy"]
    levels = {(r["method"], r["level"]): r["boxes"] for r in data["breakdowns"]["level"]}
    assert sum(levels.values()) == 624


def test_grid_and_figure_use_the_boxs_level(tmp_path):
    frame = csv_rows("grid", "--box", "10,10,60,70", "--preset", "torchvision", "--level", "bins")
    # sqrt(50 * 60) = 54.8 px -> P2, stride 4
    assert set(frame.level) == {2} and set(frame.stride) == {4.0}
    assert frame.x0.min() == pytest.approx(10 / 4 + 0.5)  # legacy: half a cell off, at stride 4
    big = csv_rows("grid", "--box", "0,0,500,500", "--preset", "torchvision", "--level", "bins")
    assert set(big.level) == {5}
    plot = tmp_path / "p.png"
    result = CliRunner().invoke(main, ["grid", "--box", "10,10,60,70", "--preset", "torchvision", "--plot", str(plot),
                                       "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 0 and plot.stat().st_size > 0


def test_presets_command_lists_all():
    frame = csv_rows("presets")
    assert list(frame.preset) == list(PRESETS)
    assert frame.set_index("preset").loc["mnc", "method"] == "roiwarp"


def test_python_api_takes_a_pyramid():
    import roiloss
    frame = roiloss.analyze([(0, 0, 50, 60), (0, 0, 500, 500)], methods="roialign", pyramid=roiloss.Pyramid(mapper="detectron2"))
    assert frame.level.tolist() == [2, 5] and frame.stride.tolist() == [4.0, 32.0]
