"""``roiloss compare`` / ``roiloss.compare`` (docs/semantics.md §14)."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import VAL, invoke

import roiloss
from roiloss.comparison import SpecError, parse_spec

BOXES = roiloss.read_boxes(VAL).head(120)


def test_identical_specs_exit_0_with_zero_differences():
    result = invoke("compare", VAL, "--a", "preset:detectron2", "--b", "detectron2", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert len(rows) == 624 and (rows["max_weight_diff"] == 0).all()
    assert (rows["cells_only_a"] == 0).all() and (rows["cells_only_b"] == 0).all() and not rows["differs"].any()
    assert (rows[["d_lost_frac", "d_gained_frac", "d_outside_weight"]] == 0).all().all()


def max_difference_from_coefficients(boxes, a, b):
    """Independently: the largest |weight| difference per box from roiloss.coefficients of both sides."""
    ca = roiloss.coefficients(boxes, semantics=a).set_index(["roi_id", "bin_y", "bin_x", "cell_y", "cell_x"])["weight"]
    cb = roiloss.coefficients(boxes, semantics=b).set_index(["roi_id", "bin_y", "bin_x", "cell_y", "cell_x"])["weight"]
    both = pd.concat([ca.rename("a"), cb.rename("b")], axis=1).fillna(0.0)
    return (both["a"] - both["b"]).abs().groupby(level="roi_id").max()


def test_torchvision_legacy_vs_aligned_every_box_differs_by_the_coefficients():
    a, b = "preset:torchvision", "preset:torchvision,method=roialign"
    result = roiloss.compare(BOXES, a, b)
    assert not result.passed and result.rows["differs"].all()
    expected = max_difference_from_coefficients(BOXES, parse_spec(a), parse_spec(b))
    got = result.rows.set_index("roi_id")["max_weight_diff"]
    np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert (result.rows["level_a"] == result.rows["level_b"]).all()


def test_command_exits_1_when_boxes_differ_and_prints_the_summary():
    result = invoke("compare", VAL, "--a", "preset:torchvision", "--b", "preset:torchvision,method=roialign",
                    env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "compare FAILED: 624 of 624 boxes" in result.stdout
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) <= 80
    for title in ("Summary", "By size", "By level of a", "Worst boxes"):
        assert title in result.stdout


def test_other_levels_share_no_cell():
    """A box pooled from P2 on one side and P3 on the other: every weight of both sides differs."""
    a = "method:roialign,strides=4,8,16,32,mapper=torchvision"
    with pytest.raises(SpecError):  # strides needs its commas: one option per comma
        parse_spec(a)
    result = roiloss.compare([(0, 0, 112, 112)], "method:roialign,levels=2-5,mapper=torchvision",
                             "method:roialign,levels=2-5,mapper=tensorrt", image_size=(1344, 1344))
    row = result.rows.iloc[0]
    assert (row.level_a, row.level_b) == (3, 2)
    assert row.cells_both == 0 and row.cells_only_a > 0 and row.cells_only_b > 0


@pytest.mark.parametrize("spec, message", [
    ("preset:nope", "preset must be one of"),
    ("method:roialign,foo=1", "unknown option 'foo=1'"),
    ("method:roialign,sampling_ratio=x", "sampling_ratio must be a number"),
    ("roialign,roipool", "unknown option 'roipool'"),
    ("wat:roialign", "is not preset:NAME"),
    ("method:nope", "unknown method nope"),
])
def test_bad_specs_exit_2_naming_the_problem(spec, message):
    result = invoke("compare", VAL, "--a", spec, "--b", "method:roialign")
    assert result.exit_code == 2, result.output
    assert message in result.output and "--a" in result.output


def test_different_pools_cannot_be_compared():
    result = invoke("compare", VAL, "--a", "preset:detectron2", "--b", "preset:detectron2,pool=14")
    assert result.exit_code == 2 and "different bin grids" in result.output


def test_csv_rows_and_plot(tmp_path):
    plot = tmp_path / "worst.png"
    result = invoke("compare", VAL, "--a", "preset:detectron2", "--b", "preset:detectron2,method=roialign-openvino",
                    "--format", "csv", "--plot", str(plot))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith('"roi_id","image_id","category","x1"')
    assert plot.stat().st_size > 1000


def test_summary_breakdowns():
    result = roiloss.compare(BOXES, "preset:torchvision", "preset:tensorrt-detectron2")
    summary = result.summary()
    assert summary["compared"] == 120 and 0 < summary["differing_share"] <= 1
    sizes = result.breakdown("size")
    assert sizes["boxes"].sum() == 120 and set(sizes["size"]) <= {"small", "medium", "large"}
    assert result.breakdown("level")["boxes"].sum() == 120
    assert json.dumps(result.to_dict())
