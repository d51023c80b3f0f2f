"""`roiloss grid`: the article's sample points, levels consistent with the engine, the figure."""

import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import roiloss
from cases import configurations
from roiloss.cli import main

ARTICLE = ["--box", "296,192,496,337", "--image-size", "512x512", "--stride", "32", "--pool", "3"]


def grid_csv(*args):
    result = CliRunner().invoke(main, ["grid", *ARTICLE, *args, "--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))


def test_article_figure_with_thirds_placement():
    samples = grid_csv("--methods", "roialign", "--sample-placement", "thirds", "--level", "samples")
    first_bin = samples[(samples.bin_y == 0) & (samples.bin_x == 0)]
    points = first_bin.drop_duplicates(["sample_y", "sample_x"])[["x", "y"]].round(2)
    assert sorted(map(tuple, points.to_numpy())) == [(9.94, 6.5), (9.94, 7.01), (10.64, 6.5), (10.64, 7.01)]
    first = first_bin[(first_bin.sample_y == 0) & (first_bin.sample_x == 0)]
    centres = sorted(zip(first.cell_center_x, first.cell_center_y))
    assert centres == [(9.5, 6.5), (9.5, 7.5), (10.5, 6.5), (10.5, 7.5)]
    assert first.weight.sum() == pytest.approx(1.0)

    bins = grid_csv("--methods", "roialign", "--sample-placement", "thirds", "--level", "bins")
    b = bins[(bins.bin_y == 0) & (bins.bin_x == 0)].iloc[0]
    assert (round(b.width, 2), round(b.height, 2)) == (2.08, 1.51)


def test_default_placement_is_at_quarters_of_the_bin():
    samples = grid_csv("--methods", "roialign", "--level", "samples")
    first_bin = samples[(samples.bin_y == 0) & (samples.bin_x == 0)]
    xs = sorted(first_bin.x.unique())
    bin_width = 6.25 / 3
    np.testing.assert_allclose(xs, [9.25 + bin_width / 4, 9.25 + 3 * bin_width / 4])


def test_cells_level_equals_onnxruntime():
    """The `cells` listing of `roiloss grid` (CLI, CSV) is what ONNX Runtime computes on a one-hot map."""
    from reference import max_roi_pool, roi_align
    from test_conformance import dense

    for config in list(configurations(seed=7, count=8)):
        geometry = ["--stride", str(config["stride"]), "--pool", "{}x{}".format(*config["pool"]),
                    "--sampling-ratio", str(config["ratio"]), "--image-size", "{:g}x{:g}".format(*config["image"])]
        boxes = [arg for box in config["boxes"] for arg in ("--box", ",".join(repr(float(v)) for v in box))]
        for method, aligned in [("roialign", True), ("roialign-legacy", False), ("roipool", None)]:
            result = CliRunner().invoke(main, ["grid", *boxes, *geometry, "--methods", method, "--level", "cells",
                                               "--format", "csv"], catch_exceptions=False)
            cells = pd.read_csv(io.StringIO(result.stdout))
            got = dense(cells, len(config["boxes"]), config["pool"], config["map_h"], config["map_w"])
            if aligned is None:
                expected = max_roi_pool(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["stride"])
                np.testing.assert_array_equal(got > 0, expected)
            else:
                expected = roi_align(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["ratio"],
                                     config["stride"], aligned)
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("ratio", [0, 1, 2, 3])
def test_sample_counts_per_bin_follow_the_sampling_ratio(ratio):
    boxes = [(10, 20, 300, 90), (0, 0, 7, 5), (100, 100, 612, 400)]
    pool = (2, 3)
    samples = roiloss.grid(boxes, methods="roialign", level="samples", stride=16, pool=pool,
                           sampling_ratio=ratio, image_size=(640, 480))
    counts = samples.drop_duplicates(["roi_id", "bin_y", "bin_x", "sample_y", "sample_x"]).groupby(
        ["roi_id", "bin_y", "bin_x"]).size()
    for roi, (x1, y1, x2, y2) in enumerate(boxes):
        gy = ratio or int(np.ceil((y2 - y1) / 16 / pool[0]))
        gx = ratio or int(np.ceil((x2 - x1) / 16 / pool[1]))
        assert (counts.loc[roi] == gy * gx).all()
    bins = roiloss.grid(boxes, methods="roialign", level="bins", stride=16, pool=pool, sampling_ratio=ratio,
                        image_size=(640, 480))
    merged = bins.set_index(["roi_id", "bin_y", "bin_x"])["samples"]
    assert (merged.loc[counts.index] == counts).all()


def test_invalid_samples_are_listed_without_cells():
    # a box hanging off the left of the map: samples left of t = -1 are invalid
    samples = roiloss.grid([(-100, 0, 40, 32)], methods="roialign", level="samples", stride=16, pool=(1, 4),
                           image_size=(64, 64))
    invalid = samples[~samples.valid]
    assert len(invalid) > 0 and invalid.cell_x.isna().all() and (invalid.weight == 0).all()
    assert not invalid.duplicated(["bin_y", "bin_x", "sample_y", "sample_x"]).any()


def colours(path):
    import matplotlib.image as mpimg
    image = mpimg.imread(path)[..., :3]
    return image, {tuple(np.round(c * 255).astype(int)) for c in image.reshape(-1, 3)}


def hex_rgb(value):
    return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))


def test_plot_shows_lost_and_gained_colours(tmp_path):
    from roiloss.plot import DPI, GAINED, LOST, PANEL_INCHES
    path = tmp_path / "floor.png"
    result = CliRunner().invoke(main, ["grid", *ARTICLE, "--methods", "roipool-floor", "--plot", str(path),
                                       "--format", "csv", "-o", str(tmp_path / "cells.csv")])
    assert result.exit_code == 0, result.stderr
    image, found = colours(path)
    assert image.shape[1] == PANEL_INCHES * DPI and image.shape[0] == (PANEL_INCHES + 1.0) * DPI
    assert hex_rgb(LOST) in found and hex_rgb(GAINED) in found

    aligned = tmp_path / "align.png"
    CliRunner().invoke(main, ["grid", *ARTICLE, "--methods", "roialign", "--plot", str(aligned), "-o", str(tmp_path / "x")])
    image, found = colours(aligned)
    # the legend shows the lost colour once; the panel itself must have none of it
    panel = image[: int(image.shape[0] * 0.85)]
    panel_colours = {tuple(np.round(c * 255).astype(int)) for c in panel.reshape(-1, 3)}
    assert hex_rgb(LOST) not in panel_colours and hex_rgb(GAINED) in panel_colours


def test_plot_is_deterministic_and_has_one_panel_per_method(tmp_path):
    from roiloss.plot import DPI, PANEL_INCHES
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        CliRunner().invoke(main, ["grid", *ARTICLE, "--methods", "roipool,roiwarp,roialign", "--plot", str(path),
                                  "-o", str(tmp_path / "x")])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    image, _ = colours(paths[0])
    assert image.shape[1] == 3 * PANEL_INCHES * DPI


def test_grid_needs_input_or_box():
    result = CliRunner().invoke(main, ["grid"])
    assert result.exit_code == 2 and "either INPUT or --box" in result.stderr
    result = CliRunner().invoke(main, ["grid", "--box", "1,2,3"])
    assert result.exit_code == 2 and "four numbers" in result.stderr


def test_roi_selection_from_a_file():
    from pathlib import Path
    example = str(Path(__file__).parent.parent / "data" / "example.csv")
    result = CliRunner().invoke(main, ["grid", example, "--roi", "6", "--level", "bins", "--format", "csv"])
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert set(frame.roi_id) == {6} and len(frame) == 49 * 3
    result = CliRunner().invoke(main, ["grid", example, "--roi", "999"])
    assert result.exit_code == 2 and "no box with roi_id 999" in result.stderr
