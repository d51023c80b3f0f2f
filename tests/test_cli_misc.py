"""`roiloss methods`, `roiloss presets`, --help, --version, and user strings shown literally (no rich markup)."""

import json
import os
import subprocess
import sys

import pytest

import roiloss
from roiloss.presets import PRESETS

from conftest import flat, invoke, parse_output


def test_methods_lists_every_method():
    result = invoke("methods", "--format", "csv")
    frame = parse_output(result.stdout, "csv")
    assert list(frame.method)[:5] == ["roipool", "roipool-floor", "roiwarp", "roialign", "roialign-legacy"]
    assert list(frame.kind)[:5] == ["window", "window", "sample", "sample", "sample"]
    assert len(frame) == 15 and frame.set_index("method").loc["prroipool", "kind"] == "integral"
    openvino = frame.set_index("method").loc["roialign-openvino", "reproduces"]
    assert "asymmetric mode = roialign-legacy" in openvino and "half_pixel_for_nn = roialign" in openvino
    assert frame.set_index("method").loc["roialign", "reproduces"].startswith("Detectron2 ROIAlignV2")
    table = invoke("methods")
    assert table.exit_code == 0 and "roialign-legacy" in table.stdout


def test_presets_command_lists_all():
    frame = parse_output(invoke("presets", "--format", "csv").stdout, "csv")
    assert list(frame.preset) == list(PRESETS)
    assert frame.set_index("preset").loc["mnc", "method"] == "roiwarp"
    records = json.loads(invoke("presets", "--format", "json").stdout)
    detectron2 = {r["preset"]: r for r in records}["detectron2"]
    assert detectron2["levels"] == "P2-P5 detectron2" and detectron2["resize"] == "detectron2 short 800 max 1333, pad to /32"
    assert {r["preset"]: r for r in records}["fast-rcnn"]["sampling_ratio"] is None  # RoI Pool has no sampling


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "roiloss", "methods"], capture_output=True, text=True)
    assert out.returncode == 0 and "roialign-legacy" in out.stdout


NUMPY_THREADS = """
import os, sys
from roiloss.cli import main
try:
    main.main(["methods", "--help"], standalone_mode=False)  # the group's start, then the help
except SystemExit:
    pass
assert "numpy" not in sys.modules
count = lambda: len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0
before = count()
import numpy
print(os.environ.get("OPENBLAS_NUM_THREADS"), count() - before)
"""


@pytest.mark.parametrize("preset,expected", [(None, "1"), ("3", "3")])
def test_the_command_line_asks_numpy_for_one_blas_thread_unless_told(preset, expected):
    """Set before numpy is imported, one BLAS thread means no OpenBLAS pool (whose idle workers
    would spin on the other core); a value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", NUMPY_THREADS], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    value, started = out.stdout.split()[-2:]
    assert value == expected
    if preset is None:
        assert started == "0"  # threads numpy's import started (0 also where /proc is missing)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"roiloss, version {roiloss.__version__}"


@pytest.mark.parametrize("command,groups,example", [
    ("analyze", ["Input:", "Pooling:", "Feature pyramid:", "Model input (resize and padding):", "Output:"],
     "roiloss analyze data/example.csv --stride 32 --pool 3"),
    ("grid", ["Input:", "Pooling:", "Feature pyramid:", "Output:"], "roiloss grid --box 296,192,496,337"),
    ("audit", ["Input:", "Pooling:", "Checks:", "Output:"], "roiloss audit instances.json --check"),
])
def test_help_shows_option_groups_and_an_example(command, groups, example):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = result.stdout
    for group in groups:
        assert f"\n{group}\n" in text, group
    assert "Example" in text and example in text
    assert f"Python: roiloss.{command}()" in flat(text)
    # each option under its group: --stride under Pooling, --strides under Feature pyramid
    start = text.index("\nPooling:\n")
    pooling = text[start:text.index("\n\n", start + 1)]
    assert "--stride PX" in pooling and "--strides" not in pooling
    # the argument is in the usage line, not listed as an option
    assert "Other options:\n  INPUT" not in text and "Other options:\n  [INPUT]" not in text


def test_main_help_lists_the_commands():
    text = invoke("--help").stdout
    for command in ("analyze", "audit", "grid", "methods", "presets"):
        assert f"  {command}" in text


# --- user strings are text, never rich markup ----------------------------------------------------

MARKUP = ["[/]", "[unlabeled]", "[bold red]x[/bold red]", "[link=http://x]y"]


def markup_csv(folder):
    (folder / "[").mkdir(exist_ok=True)
    path = folder / "[" / "] [unlabeled] boxes.csv"  # the path reads .../[/] [unlabeled] boxes.csv
    lines = ["x1,y1,x2,y2,image_id,category"]
    lines += [f"0,0,{8 + 40 * i},{8 + 40 * i},\"{m}.jpg\",\"{m}\"" for i, m in enumerate(MARKUP)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_analyze_table_shows_markup_literally(tmp_path):
    path = markup_csv(tmp_path)
    result = invoke("analyze", path, "--stride", "16", "--wide", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert str(path) in out
    for text in MARKUP:
        assert text in out, text
        assert f"{text}.jpg" in out


def test_audit_table_shows_markup_literally(tmp_path):
    path = markup_csv(tmp_path)
    result = invoke("audit", path, "--check", "sub_cell_share <= 0", "--stride", "16", env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.stderr  # the 8 px box is sub-cell: the worst-boxes table lists it
    out = result.stdout
    assert str(path) in out and "[/].jpg" in out and "[/]" in out.split("worst boxes")[1]
    bad = tmp_path / "[" / "] bad [unlabeled].csv"
    bad.write_text("x1,y1,x2,y2,category\n5,0,1,8,[unlabeled]\n")
    result = invoke("audit", bad, env={"COLUMNS": "200"})
    assert result.exit_code == 1 and str(bad) in result.stdout
    assert "[unlabeled]" in result.stdout.split("worst boxes")[1]


def test_markup_in_errors_and_grid_is_literal(tmp_path):
    missing = tmp_path / "[bold]missing[/bold].csv"
    result = invoke("analyze", missing)
    assert result.exit_code == 2 and f"{missing}: no such file" in result.stderr
    path = markup_csv(tmp_path)
    result = invoke("grid", path, "--roi", "0", "--detail", "bins", "--methods", "roialign", "--pool", "1")
    assert result.exit_code == 0 and str(path) in flat(result.stdout)
