"""`roiloss audit`: exit codes, worst boxes and remedies, reports, determinism, config precedence."""

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import EXAMPLE, VAL, VAL_BOXES, flat


def test_passing_audit_exits_0(tmp_path, run):
    result = run("audit", EXAMPLE, "--stride", "32", "--pool", "3", "--check", "roialign max shift_px <= 0", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "audit passed: 2 of 2 checks pass" in result.stdout


def test_failing_audit_on_coco_exits_1_with_worst_boxes_and_remedy(tmp_path, run):
    report = tmp_path / "r.json"
    result = run("audit", VAL, "--check", "roialign p95 lost_frac <= 0.01; sub_cell_share <= 0.1",
                 "--report", report, cwd=tmp_path)
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "remedy:" in result.stdout
    assert "audit FAILED: 1 of 3 checks pass" in result.stdout
    data = json.loads(report.read_text())
    assert data["schema"] == "roiloss.audit/2" and data["passed"] is False and data["boxes"] == VAL_BOXES
    assert data["invalid"] == 0 and data["input"] == str(VAL)
    by_name = {c["check"]: c for c in data["checks"]}
    lost = by_name["roialign p95 lost_frac <= 0.01"]
    assert lost["passed"] is False and lost["value"] > 0.01 and len(lost["worst"]) == 5
    assert lost["worst"][0]["value"] >= lost["worst"][-1]["value"]
    assert "sampling ratio 0" in lost["remedy"] or "pool" in lost["remedy"]
    sub = by_name["sub_cell_share <= 0.1"]
    assert sub["remedy"].startswith("stride 8 would pass")
    assert sub["worst"][0]["value"] <= sub["worst"][-1]["value"]  # the shortest sides first
    assert {"category", "size"} <= set(data["breakdowns"])
    sizes = {(r["method"], r["size"]): r["boxes"] for r in data["breakdowns"]["size"]}
    assert sum(v for (m, _), v in sizes.items() if m == "roialign") == VAL_BOXES
    semantics = data["semantics"]
    assert {k: semantics[k] for k in ("methods", "stride", "pool", "sampling_ratio", "sample_placement", "preset",
                                      "arithmetic")} == {
        "methods": ["roipool", "roiwarp", "roialign"], "stride": 16.0, "pool": [7, 7], "sampling_ratio": 2,
        "sample_placement": "centered", "preset": None, "arithmetic": "float32"}
    assert semantics["resize"]["rule"] == "none"
    assert semantics["summary"].startswith("methods roipool,roiwarp,roialign | stride 16 | pool 7x7")


def test_remedy_is_true(tmp_path, run):
    """The stride the remedy names really passes, and the current one really fails."""
    result = run("audit", VAL, "--check", "roipool mean gained_frac <= 1", "--report", tmp_path / "r.json", cwd=tmp_path)
    remedy = json.loads((tmp_path / "r.json").read_text())["checks"][0]["remedy"]
    stride = [p for p in remedy.split("; ") if p.startswith("stride")][0].split()[1]
    again = run("audit", VAL, "--check", "roipool mean gained_frac <= 1", "--stride", stride, cwd=tmp_path)
    assert result.exit_code == 1 and again.exit_code == 0


def test_invalid_boxes_fail_the_default_gate(tmp_path, run):
    path = tmp_path / "b.csv"
    path.write_text("x1,y1,x2,y2\n0,0,32,32\n5,5,1,9\n")
    result = run("audit", path, cwd=tmp_path)
    assert result.exit_code == 1 and "invalid_share <= 0" in result.stdout
    assert "fix or remove the 1 invalid box(es)" in flat(result.stdout)
    assert run("audit", path, "--max-invalid-share", "0.5", cwd=tmp_path).exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["--check", "roialign p95 lost <= 1"], "unknown metric 'lost'"),
    (["--check", "lost_frac >= 1"], "expected '[METHOD] [STATISTIC] METRIC <= LIMIT'"),
    (["--max-invalid-share", "2"], "max-invalid-share"),
    (["--report", "r.txt"], ".json, .md or .xml"),
])
def test_usage_errors_exit_2(args, message, tmp_path, run):
    result = run("audit", EXAMPLE, *args, cwd=tmp_path)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_reports_parse_back_and_are_deterministic(tmp_path, run):
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


def test_audit_with_a_preset_reports_its_levels(tmp_path, run):
    report = tmp_path / "r.json"
    result = run("audit", VAL, "--preset", "torchvision", "--report", report, "--quiet")
    assert result.exit_code == 0
    data = json.loads(report.read_text())
    assert data["semantics"]["mapper"] == "torchvision" and data["semantics"]["strides"] == [4, 8, 16, 32]
    assert data["semantics"]["methods"] == ["roialign-legacy"] and data["semantics"]["preset"] == "torchvision"
    assert data["semantics"]["resize"] == {"rule": "torchvision", "short": [800], "max_size": 1333, "size": None,
                                           "pad_divisor": 32}
    levels = {(r["method"], r["level"]): r["boxes"] for r in data["breakdowns"]["level"]}
    assert sum(levels.values()) == VAL_BOXES and {k for _, k in levels} <= {2, 3, 4, 5}


def test_config_precedence_defaults_then_file_then_command_line(tmp_path, run):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.roiloss]\nstride = 32\npool = "3"\n\n[tool.roiloss.audit]\n'
        'check = ["roialign max shift_px <= 0", "roipool max lost_frac <= 0.0"]\n')
    # from the file: stride 32, pool 3, and the roipool check fails on the example
    result = run("audit", EXAMPLE, "-v", cwd=tmp_path)
    assert "stride 32 | pool 3x3" in flat(result.stdout) and result.exit_code == 1
    assert f"config: {tmp_path / 'pyproject.toml'}" in result.stderr
    # the command line wins: only its check runs
    result = run("audit", EXAMPLE, "--check", "roialign max shift_px <= 0", "--stride", "8", cwd=tmp_path)
    assert result.exit_code == 0 and "stride 8 | pool 3x3" in flat(result.stdout)
    # the audit table applies to audit only
    result = run("analyze", EXAMPLE, "--format", "csv", cwd=tmp_path)
    assert result.exit_code == 0
    # without a config file, the defaults
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = run("analyze", EXAMPLE, cwd=other)
    assert "stride 16 | pool 7x7" in flat(result.stdout)
