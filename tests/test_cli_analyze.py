"""`roiloss analyze`: the table view, machine formats, stdin, usage errors, progress, config files."""

import re

import pandas as pd
import pytest

from conftest import EXAMPLE, EXAMPLE_BOXES, VAL, VAL_BOXES, flat, parse_output
from roiloss.choices import METHOD_NAMES


def test_table_shows_semantics_summary_and_rows(run):
    result = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "stride 32 | pool 3x3 | sampling ratio 2 | placement centered | arithmetic float32" in flat(out)
    assert "Boxes per method" in out and "Metrics per method" in out and "roipool" in out and "roialign" in out
    assert re.search(rf"Per-box rows\W+20 of {EXAMPLE_BOXES * 3}\b", flat(out))
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_table_fits_80_columns_without_truncating(run):
    result = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3", "--methods", "all", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "…" not in result.stdout


def test_table_counts_per_method(run):
    out = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3", "--rows", "0").stdout
    counts = {}
    for line in out.splitlines():
        cells = line.split()
        if len(cells) == 5 and cells[0] in ("roipool", "roiwarp", "roialign"):
            counts[cells[0]] = cells[1:]
    # seven boxes; the README's counts: lost>0 share, one sub-cell box, none invalid
    assert counts == {"roipool": ["7", "0.714", "1", "0"], "roiwarp": ["7", "1.000", "1", "0"],
                      "roialign": ["7", "0.286", "1", "0"]}
    assert "Per-box rows" not in out


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_machine_formats_read_back_to_boxes_times_methods(fmt, run):
    result = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3", "--methods", "all", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    frame = parse_output(result.stdout, fmt)
    assert len(frame) == EXAMPLE_BOXES * len(METHOD_NAMES)
    assert list(frame.columns[:9]) == ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2", "stride", "method"]
    article = frame[(frame.roi_id == 1) & (frame.method == "roipool")].iloc[0]
    assert article.gained_frac == pytest.approx(0.48303, abs=1e-5)
    assert "[" not in "".join(frame["flags"].fillna("").astype(str))  # no markup


def test_stdin_with_input_format(run):
    text = EXAMPLE.read_text()
    result = run("analyze", "-", "--input-format", "csv", "--format", "csv", input=text)
    assert result.exit_code == 0
    assert len(parse_output(result.stdout, "csv")) == EXAMPLE_BOXES * 3


@pytest.mark.parametrize("args,message", [
    (["--stride", "0"], "stride"),
    (["--pool", "3x"], "pool"),
    (["--methods", "roifoo"], "unknown method roifoo"),
    (["--image-size", "big"], "--image-size must be WxH"),
    (["--sampling-ratio", "-1"], "sampling-ratio"),
    (["--format", "xml"], "format"),
    (["--preset", "yolo"], "preset"),
    (["--strides", "4,12"], "powers of two"),
    (["--stride", "16", "--strides", "4,8"], "not both"),
    (["--resize", "bicubic"], "resize must be one of"),
    (["--arithmetic", "float16"], "arithmetic"),
    (["-o", "rows.csv"], "add --format csv"),
])
def test_usage_errors_exit_2_with_a_message(args, message, run):
    result = run("analyze", EXAMPLE, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_missing_file_is_an_input_error(run):
    result = run("analyze", "no/such/file.csv")
    assert result.exit_code == 2
    assert "no/such/file.csv: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_progress_goes_to_stderr_only(run):
    plain = run("analyze", EXAMPLE, "--format", "csv", "--no-progress").stdout
    shown = run("analyze", EXAMPLE, "--format", "csv", "--progress")
    assert shown.exit_code == 0 and shown.stdout == plain


def test_arithmetic_option_reaches_the_analysis(run):
    rows = {a: parse_output(run("analyze", VAL, "--arithmetic", a, "--methods", "roialign", "--sampling-ratio", "0",
                                "--format", "csv").stdout, "csv") for a in ("float32", "exact")}
    assert len(rows["exact"]) == len(rows["float32"]) == VAL_BOXES
    # exact arithmetic samples the box itself: IoU 1 everywhere; float32 rounds the box to float32
    assert (rows["exact"].iou == 1).all()
    assert rows["float32"].iou.min() > 1 - 1e-4 and (rows["float32"].iou < 1).any()


def test_config_precedence_defaults_then_file_then_command_line(tmp_path, run):
    (tmp_path / "pyproject.toml").write_text('[tool.roiloss]\nstride = 32\npool = "3"\nmethods = ["roialign"]\n')
    result = run("analyze", EXAMPLE, "-v", cwd=tmp_path)
    assert "methods roialign | stride 32 | pool 3x3" in flat(result.stdout)
    assert f"config: {tmp_path / 'pyproject.toml'}" in result.stderr
    result = run("analyze", EXAMPLE, "--stride", "8", cwd=tmp_path)
    assert "stride 8 | pool 3x3" in flat(result.stdout)
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = run("analyze", EXAMPLE, cwd=other)
    assert "methods roipool,roiwarp,roialign | stride 16 | pool 7x7" in flat(result.stdout)


def test_config_file_option_unknown_keys_and_wrong_types(tmp_path, run):
    config = tmp_path / "roiloss.toml"
    config.write_text("stride = 8\n")
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 0 and "stride 8" in flat(result.stdout)
    # an unknown key is an error naming it, with the closest known setting
    config.write_text('stride = 8\nsampling_rate = 2\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "unknown setting 'sampling_rate'" in result.stderr
    assert "did you mean 'sampling-ratio'?" in result.stderr and result.stdout == ""
    config.write_text('stride = 8\ncolour = "blue"\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "unknown setting 'colour'" in result.stderr
    config.write_text('stride = "fast"\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "stride" in result.stderr.lower()
    config.write_text('stride = [\n')
    result = run("analyze", EXAMPLE, "--config", config, cwd=tmp_path)
    assert result.exit_code == 2 and "not valid TOML" in result.stderr


def test_internal_error_is_one_line_without_traceback(run, monkeypatch):
    import roiloss.analysis

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(roiloss.analysis, "analyze_chunks", explode)
    result = run("analyze", EXAMPLE)
    assert result.exit_code == 2
    assert "internal error (a bug in roiloss, please report it): RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_python_dash_m_runs():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "roiloss", "analyze", str(EXAMPLE), "--format", "csv"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and len(pd.read_csv(__import__("io").StringIO(out.stdout))) == EXAMPLE_BOXES * 3
