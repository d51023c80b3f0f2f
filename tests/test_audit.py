"""`roiloss audit`: checks, config precedence, reports, determinism, exit codes."""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from roiloss.audit import CheckError, parse_check, parse_checks
from roiloss.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "example.csv"
VAL = ROOT.parent / "shared" / "data" / "coco-mini" / "instances_val2017_subset.json"


def run(*args, cwd=None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


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


def test_passing_audit_exits_0(tmp_path):
    result = run("audit", EXAMPLE, "--stride", "32", "--pool", "3", "--check", "roialign max shift_px <= 0", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "audit passed: 2 of 2 checks pass" in result.stdout


def test_failing_audit_on_coco_exits_1_with_worst_boxes_and_remedy(tmp_path):
    report = tmp_path / "r.json"
    result = run("audit", VAL, "--check", "roialign p95 lost_frac <= 0.01; sub_cell_share <= 0.1",
                 "--report", report, cwd=tmp_path)
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "remedy:" in result.stdout
    data = json.loads(report.read_text())
    assert data["schema"] == "roiloss.audit/1" and data["passed"] is False and data["boxes"] == 624
    by_name = {c["check"]: c for c in data["checks"]}
    lost = by_name["roialign p95 lost_frac <= 0.01"]
    assert lost["passed"] is False and lost["value"] > 0.01 and len(lost["worst"]) == 5
    assert lost["worst"][0]["value"] >= lost["worst"][-1]["value"]
    assert "sampling ratio 0" in lost["remedy"] or "pool" in lost["remedy"]
    sub = by_name["sub_cell_share <= 0.1"]
    assert sub["remedy"].startswith("stride 8 would pass")
    assert {"category", "size"} <= set(data["breakdowns"])
    sizes = {(r["method"], r["size"]): r["boxes"] for r in data["breakdowns"]["size"]}
    assert sum(v for (m, _), v in sizes.items() if m == "roialign") == 624
    semantics = data["semantics"]
    assert {k: semantics[k] for k in ("methods", "stride", "pool", "sampling_ratio", "sample_placement", "preset")} == {
        "methods": ["roipool", "roiwarp", "roialign"], "stride": 16.0, "pool": [7, 7], "sampling_ratio": 2,
        "sample_placement": "centered", "preset": None}
    assert semantics["summary"].startswith("methods roipool,roiwarp,roialign | stride 16 | pool 7x7")


def test_remedy_is_true(tmp_path):
    """The stride the remedy names really passes, and the current one really fails."""
    result = run("audit", VAL, "--check", "roipool mean gained_frac <= 1", "--report", tmp_path / "r.json", cwd=tmp_path)
    remedy = json.loads((tmp_path / "r.json").read_text())["checks"][0]["remedy"]
    stride = [p for p in remedy.split("; ") if p.startswith("stride")][0].split()[1]
    again = run("audit", VAL, "--check", "roipool mean gained_frac <= 1", "--stride", stride, cwd=tmp_path)
    assert result.exit_code == 1 and again.exit_code == 0


def test_invalid_boxes_fail_the_default_gate(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("x1,y1,x2,y2\n0,0,32,32\n5,5,1,9\n")
    result = run("audit", path, cwd=tmp_path)
    assert result.exit_code == 1 and "invalid_share <= 0" in result.stdout
    assert run("audit", path, "--max-invalid-share", "0.5", cwd=tmp_path).exit_code == 0


def test_reports_parse_back_and_are_deterministic(tmp_path):
    outputs = []
    for run_number in range(2):
        folder = tmp_path / str(run_number)
        folder.mkdir()
        paths = [folder / "r.json", folder / "r.md", folder / "r.xml"]
        args = ["audit", VAL, "--check", "roialign p95 lost_frac <= 0.01", "--quiet"]
        for p in paths:
            args += ["--report", p]
        result = run(*args, cwd=tmp_path)
        assert result.exit_code == 1 and result.stdout == ""
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1]
    json_doc, markdown, junit = outputs[0]
    assert json.loads(json_doc)["checks"][0]["metric"] == "lost_frac"
    assert markdown.startswith(b"## roiloss audit: FAILED") and b"| check | value | limit | result |" in markdown
    root = ET.fromstring(junit)
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["roialign p95 lost_frac <= 0.01", "invalid_share <= 0"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert root.find("testsuite").get("failures") == "1"


def test_config_precedence_defaults_then_file_then_command_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.roiloss]\nstride = 32\npool = "3"\n\n[tool.roiloss.audit]\n'
        'check = ["roialign max shift_px <= 0", "roipool max lost_frac <= 0.0"]\n')
    # from the file: stride 32, pool 3, and the roipool check fails on the example
    result = run("audit", EXAMPLE, "-v", cwd=tmp_path)
    assert "stride 32 | pool 3x3" in result.stdout and result.exit_code == 1
    assert f"config: {tmp_path / 'pyproject.toml'}" in result.stderr
    # the command line wins: only its check runs
    result = run("audit", EXAMPLE, "--check", "roialign max shift_px <= 0", "--stride", "8", cwd=tmp_path)
    assert result.exit_code == 0 and "stride 8 | pool 3x3" in result.stdout
    # without a config file, the defaults
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = run("analyze", EXAMPLE, cwd=other)
    assert "stride 16 | pool 7x7" in result.stdout


def test_config_file_option_unknown_keys_and_wrong_types(tmp_path):
    config = tmp_path / "roiloss.toml"
    config.write_text('stride = 8\ncolour = "blue"\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 0 and "stride 8" in result.stdout
    assert "unknown setting(s) ignored: colour" in result.stderr
    config.write_text('stride = "fast"\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "stride" in result.stderr.lower()
    config.write_text('stride = [\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
