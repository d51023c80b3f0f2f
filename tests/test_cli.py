"""`roiloss analyze` and `roiloss methods` through click's CliRunner."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from roiloss.cli import main

EXAMPLE = str(Path(__file__).parent.parent / "data" / "example.csv")
BOXES = len(pd.read_csv(EXAMPLE))


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_table_shows_semantics_summary_and_rows():
    result = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "stride 32 | pool 3x3 | sampling ratio 2 | placement centered" in out
    assert "Summary per method" in out and "roipool" in out and "roialign" in out
    assert f"Per-box rows (20 of {BOXES * 3}" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_machine_formats_read_back_to_boxes_times_methods(fmt, tmp_path):
    result = run("analyze", EXAMPLE, "--stride", "32", "--pool", "3", "--methods", "all", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(text))
    elif fmt == "json":
        frame = pd.DataFrame(json.loads(text))
    else:
        frame = pd.DataFrame([json.loads(line) for line in text.splitlines()])
    assert len(frame) == BOXES * 5
    assert list(frame.columns[:9]) == ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2", "stride", "method"]
    article = frame[(frame.roi_id == 1) & (frame.method == "roipool")].iloc[0]
    assert article.gained_frac == pytest.approx(0.48303, abs=1e-5)
    assert "[" not in "".join(frame["flags"].fillna("").astype(str))  # no markup


def test_output_file_matches_stdout(tmp_path):
    target = tmp_path / "out.csv"
    result = run("analyze", EXAMPLE, "--format", "csv", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text() == run("analyze", EXAMPLE, "--format", "csv").stdout


def test_stdin_with_input_format():
    text = Path(EXAMPLE).read_text()
    result = run("analyze", "-", "--input-format", "csv", "--format", "csv", input=text)
    assert result.exit_code == 0
    assert len(pd.read_csv(io.StringIO(result.stdout))) == BOXES * 3


@pytest.mark.parametrize("args,message", [
    (["--stride", "0"], "stride"),
    (["--pool", "3x"], "pool"),
    (["--methods", "roifoo"], "unknown method roifoo"),
    (["--image-size", "big"], "image size"),
    (["--sampling-ratio", "-1"], "sampling-ratio"),
    (["--format", "xml"], "format"),
])
def test_usage_errors_exit_2_with_a_message(args, message):
    result = run("analyze", EXAMPLE, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_file_is_an_input_error():
    result = run("analyze", "no/such/file.csv")
    assert result.exit_code == 2
    assert "no/such/file.csv: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_methods_lists_every_method():
    result = run("methods", "--format", "csv")
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.method) == ["roipool", "roipool-floor", "roiwarp", "roialign", "roialign-legacy"]
    assert frame.set_index("method").loc["roialign", "reproduces"].startswith("Detectron2 ROIAlignV2")


def test_python_dash_m_runs():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "roiloss", "methods"], capture_output=True, text=True)
    assert out.returncode == 0 and "roialign-legacy" in out.stdout


def test_progress_goes_to_stderr_only():
    plain = run("analyze", EXAMPLE, "--format", "csv", "--no-progress").stdout
    shown = run("analyze", EXAMPLE, "--format", "csv", "--progress")
    assert shown.exit_code == 0 and shown.stdout == plain
