"""Tables designed for a real terminal: at 80 and 120 columns no line is wider than the terminal
and no cell is cut ("…"); COLUMNS is honoured when the output is piped."""

import pytest
from conftest import EXAMPLE, VAL, invoke

COMMANDS = [
    ["analyze", EXAMPLE, "--stride", "32", "--pool", "3"],
    ["analyze", EXAMPLE, "--methods", "all", "--rows", "50"],
    ["analyze", VAL, "--preset", "torchvision", "--methods", "all"],
    ["analyze", VAL, "--preset", "detectron2", "--head", "mask"],
    ["grid", "--box", "296,192,496,337", "--image-size", "512x512", "--stride", "32", "--pool", "3",
     "--methods", "roialign-legacy,roialign", "--detail", "samples"],
    ["grid", VAL, "--preset", "torchvision", "--detail", "bins", "--methods", "all"],
    ["grid", VAL, "--preset", "torchvision", "--detail", "cells"],
    ["audit", VAL, "--methods", "all", "--check", "p95 lost_frac <= 0.01; sub_cell_share <= 0"],
    ["methods"],
    ["presets"],
]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(str(v) for v in a[:3]))
def test_tables_fit_the_terminal_without_cutting_cells(args, width):
    result = invoke(*args, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    assert lines, "nothing printed"
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.stdout
    for name in ("roialign-legacy", "roipool-floor"):  # full method names, never cut or folded
        if name in " ".join(str(a) for a in args) or "all" in args:
            assert name in result.stdout


def test_wide_terminals_show_image_category_and_box():
    narrow = invoke("analyze", EXAMPLE, env={"COLUMNS": "80"}).stdout
    wide = invoke("analyze", EXAMPLE, env={"COLUMNS": "120"}).stdout
    assert "article.jpg" not in narrow and "article.jpg" in wide
    assert "296.0, 192.0, 496.0, 337.0" in wide
    forced = invoke("analyze", EXAMPLE, "--wide", env={"COLUMNS": "80"}).stdout
    assert "article.jpg" in forced and "…" not in forced
