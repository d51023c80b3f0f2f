"""`roiloss sweep` / `roiloss.sweep`: every setting equals its own analysis, the cost, the cheapest
setting that passes, the command line = the library."""

import io
import json

import numpy as np
import pandas as pd
import pytest

import roiloss
from conftest import EXAMPLE, VAL, invoke

STATS = ["lost_frac_mean", "lost_frac_p95", "gained_frac_mean", "gained_frac_p95", "outside_weight_mean",
         "outside_weight_p95", "lost_any_share"]


@pytest.fixture(scope="module")
def boxes():
    return roiloss.read_boxes(str(VAL)).iloc[:200].reset_index(drop=True)


def test_every_setting_equals_a_separate_analysis(boxes):
    table = roiloss.sweep(boxes, stride=[8, 32], pool="5,14x7", sampling_ratio=[0, 2], methods="roipool,roialign,roiwarp",
                          statistics=STATS + ["shift_px_max", "sub_cell_share"])
    # window and warp methods ignore the sampling ratio: one row per (stride, pool); roialign one per ratio
    assert len(table) == 2 * 2 * (1 + 2 + 1)
    assert table.loc[table.method == "roipool", "sampling_ratio"].isna().all()
    for row in table.itertuples():
        ratio = None if pd.isna(row.sampling_ratio) else int(row.sampling_ratio)
        rows = roiloss.analyze(boxes, methods=row.method, stride=row.stride, pool=row.pool, sampling_ratio=ratio)
        summary = roiloss.summarize(rows).iloc[0]
        for name in STATS + ["shift_px_max"]:
            assert getattr(row, name) == summary[name], (row, name)
        assert row.sub_cell_share == summary["sub_cell"] / summary["measured"]
        assert row.boxes == summary["boxes"] == len(boxes)


def test_a_preset_pyramid_is_swept_as_such(boxes):
    table = roiloss.sweep(boxes, pool=[7, 14], sampling_ratio=[0, 2], preset="torchvision")
    assert list(table.levels.unique()) == ["P2-P5"] and table.stride.isna().all()
    for row in table.itertuples():
        rows = roiloss.analyze(boxes, preset="torchvision", pool=row.pool, sampling_ratio=int(row.sampling_ratio))
        summary = roiloss.summarize(rows).iloc[0]
        assert row.lost_frac_p95 == summary["lost_frac_p95"] and row.outside_weight_mean == summary["outside_weight_mean"]


def test_cost_is_the_sampling_points_per_box():
    # (0, 0, 64, 32) at stride 16: 4 x 2 cells; pool 2
    table = roiloss.sweep([(0, 0, 64, 32)], stride=16, pool=2, sampling_ratio=[2, 0], image_size=(128, 128),
                          methods="roipool,roiwarp,roialign")
    cost = {(r.method, None if pd.isna(r.sampling_ratio) else int(r.sampling_ratio)): r.cost for r in table.itertuples()}
    # RoI Pool: x cells 0..4 (end cell included), bins [0,3) and [2,5): 6; y cells 0..2, bins [0,2), [1,3): 4
    assert cost[("roipool", None)] == 6 * 4
    assert cost[("roiwarp", None)] == 4  # one sample per bin
    assert cost[("roialign", 2)] == 4 * 2 * 2
    assert cost[("roialign", 0)] == (2 * 2) * (2 * 1)  # adaptive: ceil(2 cells) x ceil(1 cell) per bin


def test_cheapest_passing_setting_on_a_hand_built_case():
    # A 64 x 64 box. At stride 16 (4 x 4 cells) a 2 x 2 pool with one sample per bin reads every cell
    # (each sample sits between two cells); at stride 8 (8 x 8 cells) it misses cells 0, 3, 4 and 7.
    table = roiloss.sweep([(0, 0, 64, 64)], stride=[8, 16], pool=[4, 2], sampling_ratio=[2, 1], methods="roialign",
                          image_size=(128, 128), check="max lost_frac <= 0")
    best = table[table.cheapest]
    assert len(best) == 1
    assert best.iloc[0][["stride", "pool", "sampling_ratio", "cost"]].tolist() == [16.0, "2x2", 1, 4.0]
    cheap = table[(table.stride == 8) & (table.pool == "2x2") & (table.sampling_ratio == 1)].iloc[0]
    assert cheap.cost == 4.0 and not cheap.passed and cheap.lost_frac_mean > 0
    # by brute force: the least cost among the passing settings (ties: larger stride first)
    passing = table[table.passed].sort_values(["cost", "stride"], ascending=[True, False], kind="stable")
    assert passing.index[0] == best.index[0]


def test_a_check_naming_a_method_only_passes_that_method():
    table = roiloss.sweep([(0, 0, 64, 64)], stride=16, pool=2, sampling_ratio=1, methods="roipool",
                          image_size=(128, 128), check="roialign max lost_frac <= 0")
    assert list(table.method) == ["roipool", "roialign"]  # the check's method is added
    assert table.set_index("method").loc["roipool", "failed"] == "roialign max lost_frac <= 0"
    assert table.set_index("method").loc["roialign", "cheapest"]


def test_bad_values_name_the_parameter():
    with pytest.raises(ValueError, match="statistic"):
        roiloss.sweep([(0, 0, 10, 10)], statistics="p99 lost_frac")
    with pytest.raises(ValueError, match="sampling_ratio"):
        roiloss.sweep([(0, 0, 10, 10)], sampling_ratio="a")
    with pytest.raises(ValueError, match="pool"):
        roiloss.sweep([(0, 0, 10, 10)], pool="0")


ARGS = ["--stride", "16,32", "--pool", "3,7", "--sampling-ratio", "0,2", "--methods", "roipool,roialign"]


def test_cli_equals_the_library(tmp_path):
    expected = roiloss.sweep(roiloss.read_boxes(str(EXAMPLE)), stride="16,32", pool="3,7", sampling_ratio="0,2",
                             methods="roipool,roialign", check="roialign p95 lost_frac <= 0.3")
    check = ["--check", "roialign p95 lost_frac <= 0.3"]
    csv = invoke("sweep", EXAMPLE, *ARGS, *check, "--format", "csv")
    assert csv.exit_code == 0, csv.stderr
    got = pd.read_csv(io.StringIO(csv.stdout), keep_default_na=False, na_values=[""])
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        if not pd.api.types.is_numeric_dtype(expected[column]) or pd.api.types.is_bool_dtype(expected[column]):
            assert got[column].fillna("").astype(str).tolist() == expected[column].fillna("").astype(str).tolist()
        else:
            assert np.allclose(got[column].astype(float), expected[column].astype(float), rtol=1e-12, equal_nan=True)
    js = invoke("sweep", EXAMPLE, *ARGS, *check, "--format", "json")
    records = json.loads(js.stdout)
    assert len(records) == len(expected) and sum(r["cheapest"] for r in records) == 1
    table = invoke("sweep", EXAMPLE, *ARGS, *check, env={"COLUMNS": "80"})
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in table.stdout  # nothing truncated
    from roiloss.sweeps import describe_setting
    assert f"cheapest passing: {describe_setting(expected[expected.cheapest].iloc[0])}" in " ".join(table.stdout.split())


def test_cli_exit_1_when_no_setting_passes_and_plot(tmp_path):
    plot = tmp_path / "sweep.png"
    result = invoke("sweep", EXAMPLE, *ARGS, "--check", "max lost_frac <= 0", "--plot", plot)
    assert result.exit_code == 1
    assert "no setting passes every check" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "again.png"
    invoke("sweep", EXAMPLE, *ARGS, "--check", "max lost_frac <= 0", "--plot", again)
    assert again.read_bytes() == plot.read_bytes()
    bad = invoke("sweep", EXAMPLE, "--statistics", "lost_frac_p99")
    assert bad.exit_code == 2 and "unknown statistic" in bad.stderr
