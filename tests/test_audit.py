"""The audit as a library: check syntax, roiloss.audit() results, statistics and reports."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import roiloss
from roiloss.checks import Audit, CheckError, default_checks, parse_check, parse_checks
from roiloss.audit_report import SCHEMA

from conftest import VAL, VAL_BOXES


def test_check_syntax():
    c = parse_check("roialign p95 lost_frac <= 0.05")
    assert (c.method, c.statistic, c.metric, c.limit, c.strict) == ("roialign", "p95", "lost_frac", 0.05, False)
    c = parse_check("gained_frac < 2")
    assert (c.method, c.statistic, c.metric, c.strict) == (None, "max", "gained_frac", True)
    assert len(parse_checks(["roipool mean shift_px <= 8; sub_cell_share <= 0.01", "invalid_share <= 0"])) == 3
    for bad in ["roialign p95 lost <= 1", "foo p95 lost_frac <= 1", "lost_frac <= x", "lost_frac >= 1",
                "roialign sub_cell_share <= 0.1"]:
        with pytest.raises(CheckError):
            parse_check(bad)


def test_invalid_share_is_always_checked_unless_given():
    assert [c.text for c in default_checks("mean lost_frac <= 1")] == [
        "mean lost_frac <= 1", "invalid_share <= 0.0"]
    assert [c.text for c in default_checks(["invalid_share <= 0.2"], 0.5)] == ["invalid_share <= 0.2"]
    with pytest.raises(CheckError, match="max_invalid_share"):
        default_checks([], 1.5)


def test_audit_result_by_hand():
    # one 64 px box and one 8 px box at stride 16: half the boxes are sub-cell
    result = roiloss.audit([(0, 0, 64, 64), (0, 0, 8, 8)], "sub_cell_share <= 0.1", stride=16)
    assert isinstance(result, Audit) and result.passed is False
    assert [(r.name, r.value, r.passed) for r in result.results] == [
        ("sub_cell_share <= 0.1", 0.5, False), ("invalid_share <= 0", 0.0, True)]
    assert result.results[0].worst[0]["value"] == 8.0 and result.results[0].remedy == "stride 8 would pass (sub-cell share 0.0000)"


def test_a_check_on_one_method_adds_it_and_a_bare_check_runs_per_method():
    result = roiloss.audit([(0, 0, 64, 64)], ["roialign-legacy max shift_px <= 8", "max lost_frac <= 1"],
                           methods="roipool", stride=16)
    assert result.methods == ["roipool", "roialign-legacy"]
    assert [r.name for r in result.results] == ["roialign-legacy max shift_px <= 8", "roipool max lost_frac <= 1",
                                                "roialign-legacy max lost_frac <= 1", "invalid_share <= 0"]
    # the legacy RoI Align samples half a cell (8 px) down-right of the box
    assert result.results[0].value == 8.0 and result.passed


def test_statistics_and_breakdowns():
    result = roiloss.audit(roiloss.read_boxes(VAL), "roialign p95 lost_frac <= 1")
    stats = result.statistics()
    assert list(stats.method) == ["roipool", "roiwarp", "roialign"] and (stats.boxes == VAL_BOXES).all()
    lost = result.rows[result.rows.method == "roialign"].lost_frac
    assert stats.set_index("method").loc["roialign", "lost_frac_p95"] == pytest.approx(np.percentile(lost, 95), rel=1e-6)
    by_size = result.breakdown("size")
    assert set(by_size["size"]) == {"small", "medium", "large"}
    assert by_size[by_size.method == "roialign"].boxes.sum() == VAL_BOXES


def test_reports_render_the_same_audit():
    result = roiloss.audit([(0, 0, 64, 64), (0, 0, 8, 8)], "sub_cell_share <= 0.1", stride=16, source="two boxes")
    document = json.loads(result.to_json())
    assert document["schema"] == SCHEMA == "roiloss.audit/2"
    assert document["input"] == "two boxes" and document["boxes"] == 2 and document["passed"] is False
    assert document["semantics"] == json.loads(json.dumps(result.semantics.to_dict()))
    assert [c["value"] for c in document["checks"]] == [0.5, 0.0]
    markdown = result.to_markdown().decode()
    assert markdown.startswith("## roiloss audit: FAILED") and "two boxes: 2 boxes;" in markdown
    assert "| sub_cell_share &lt;= 0.1 | 0.5000 | 0.1 | **FAIL** |" in markdown
    junit = ET.fromstring(result.to_junit())
    assert junit.find("testsuite").get("failures") == "1" and len(junit.findall(".//testcase")) == 2
    assert result.to_json() == result.to_json()  # deterministic


def test_markdown_escapes_user_strings():
    boxes = [{"x1": 0, "y1": 0, "x2": 4, "y2": 4, "category": "a|b <i>"}]
    markdown = roiloss.audit(boxes, "sub_cell_share <= 0", stride=16, source="x|y").to_markdown().decode()
    assert "a\\|b &lt;i&gt;" in markdown and "x\\|y" in markdown and "<i>" not in markdown
