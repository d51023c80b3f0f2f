"""Every command is a library call first: the CLI's machine output, parsed back, equals the library's
result (analyze, grid at each detail, audit reports, methods, presets), in csv, json and jsonl, with
and without a preset and a pyramid."""

import numpy as np
import pandas as pd
import pytest

import roiloss
import roiloss.boxes
from roiloss.methods import methods_frame
from roiloss.presets import presets_frame

from conftest import EXAMPLE, VAL, invoke, parse_output

FORMATS = ["csv", "json", "jsonl"]
# (command-line options, the same semantics as library keywords)
SEMANTICS = {
    "defaults": ([], {}),
    "preset torchvision": (["--preset", "torchvision"], {"preset": "torchvision"}),
    "pyramid": (["--strides", "4,8,16,32", "--level-mapper", "detectron2", "--methods", "roialign,roipool"],
                {"pyramid": roiloss.Pyramid(levels=(2, 3, 4, 5), mapper="detectron2"), "methods": "roialign,roipool"}),
    "explicit": (["--stride", "32", "--pool", "3x2", "--sampling-ratio", "0", "--methods", "all",
                  "--sample-placement", "thirds", "--arithmetic", "exact"],
                 {"stride": 32, "pool": (3, 2), "sampling_ratio": 0, "methods": "all", "sample_placement": "thirds",
                  "arithmetic": "exact"}),
}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: numbers (ints, bools, floats, nullable ints) as float64 with NaN, everything else
    as text with missing (and the empty string, which CSV cannot tell from missing) as None."""
    out = {}
    for name in frame.columns:
        column = frame[name].astype(object)
        column = column.where(column.notna() & (column.astype(str) != ""), None)
        numbers = pd.to_numeric(column, errors="coerce")
        if column.isna().all():
            out[name] = pd.Series([None] * len(column), dtype=object)
        elif (numbers.notna() == column.notna()).all() and not column.map(lambda v: isinstance(v, str)).any():
            out[name] = numbers.astype(float)
        else:
            out[name] = column.map(lambda v: None if v is None else str(v))
    return pd.DataFrame(out)


def assert_same(cli: pd.DataFrame, library: pd.DataFrame) -> None:
    assert list(cli.columns) == list(library.columns)
    assert len(cli) == len(library) > 0
    pd.testing.assert_frame_equal(comparable(cli), comparable(library), check_exact=True)


def cli_frame(*args, fmt):
    result = invoke(*args, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    return parse_output(result.stdout, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("semantics", sorted(SEMANTICS))
@pytest.mark.parametrize("path", [EXAMPLE, VAL], ids=["csv-input", "coco-input"])
def test_analyze(path, semantics, fmt):
    options, keywords = SEMANTICS[semantics]
    image = ["--image-size", "512x512"] if path == EXAMPLE else []
    cli = cli_frame("analyze", path, *options, *image, fmt=fmt)
    library = roiloss.analyze(roiloss.read_boxes(path), image_size=(512, 512) if image else None, **keywords)
    assert_same(cli, library)


def test_analyze_multi_scale_resize():
    options = ["--resize", "detectron2", "--min-size", "400,800", "--methods", "roialign"]
    cli = cli_frame("analyze", VAL, *options, fmt="csv")
    semantics = roiloss.resolve(resize="detectron2", min_size="400,800", methods="roialign")
    library = roiloss.analyze(roiloss.read_boxes(VAL), semantics=semantics)
    assert set(library.short_side) == {400.0, 800.0}
    assert_same(cli, library)


GRID_INPUTS = {
    "article": (["--box", "296,192,496,337", "--box", "40,60,60,75", "--image-size", "512x512"],
                lambda: roiloss.boxes.normalise([(296, 192, 496, 337), (40, 60, 60, 75)], image_size=(512, 512))),
    "coco rois": ([VAL, "--roi", "80342", "--roi", "1966294", "--roi", "1378088"],
                  lambda: (lambda t: t[t.roi_id.isin([80342, 1966294, 1378088])].reset_index(drop=True))(
                      roiloss.read_boxes(VAL))),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("detail", ["bins", "samples", "cells"])
@pytest.mark.parametrize("semantics", sorted(SEMANTICS))
@pytest.mark.parametrize("boxes", sorted(GRID_INPUTS))
def test_grid(boxes, semantics, detail, fmt):
    options, keywords = SEMANTICS[semantics]
    args, table = GRID_INPUTS[boxes]
    cli = cli_frame("grid", *args, *options, "--detail", detail, fmt=fmt)
    library = roiloss.grid(table(), detail=detail, **keywords)
    assert_same(cli, library)


@pytest.mark.parametrize("semantics", sorted(SEMANTICS))
def test_audit_reports_are_the_library_reports_byte_for_byte(semantics, tmp_path):
    options, keywords = SEMANTICS[semantics]
    checks = "roialign p95 lost_frac <= 0.01; sub_cell_share <= 0.1; mean gained_frac <= 1"
    paths = {ext: tmp_path / f"report{ext}" for ext in (".json", ".md", ".xml")}
    args = ["audit", VAL, *options, "--check", checks, "--quiet"]
    for path in paths.values():
        args += ["--report", path]
    result = invoke(*args)
    library = roiloss.audit(roiloss.read_boxes(VAL), checks, source=str(VAL), **keywords)
    assert result.exit_code == (0 if library.passed else 1)
    assert paths[".json"].read_bytes() == library.to_json()
    assert paths[".md"].read_bytes() == library.to_markdown()
    assert paths[".xml"].read_bytes() == library.to_junit()


def test_audit_table_shows_the_library_values():
    checks = "roialign p95 lost_frac <= 0.01; sub_cell_share <= 0.1"
    out = invoke("audit", VAL, "--check", checks, env={"COLUMNS": "200"}).stdout
    library = roiloss.audit(roiloss.read_boxes(VAL), checks)
    for r in library.results:
        assert any(line.split()[:len(r.name.split())] == r.name.split() and f"{r.value:.4f}" in line
                   for line in out.splitlines()), r.name
        if not r.passed:
            assert f"remedy: {r.remedy}" in out


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("command,frame", [("methods", methods_frame), ("presets", presets_frame)])
def test_methods_and_presets(command, frame, fmt):
    assert_same(cli_frame(command, fmt=fmt), frame())


def test_comparable_is_strict():
    """The comparison itself: a changed value, a missing row or a renamed column fail it."""
    base = roiloss.analyze([(0, 0, 32, 32), (5, 5, 40, 50)], image_size=(64, 64))
    changed = base.copy()
    changed.loc[1, "gained_frac"] = np.nextafter(changed.loc[1, "gained_frac"], 2)
    for other in (changed, base.iloc[:-1], base.rename(columns={"iou": "IoU"})):
        with pytest.raises(AssertionError):
            assert_same(other, base)
