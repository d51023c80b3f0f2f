"""`roiloss grid`: the article's sample points, --detail (and its hidden alias --level), the
cells against ONNX Runtime, box selection, the figure."""

import re

import numpy as np
import pandas as pd
import pytest

from cases import configurations
from conftest import ARTICLE_ARGS, EXAMPLE, flat, invoke, parse_output
from roiloss.choices import METHOD_NAMES


def grid_csv(*args):
    result = invoke("grid", *ARTICLE_ARGS, *args, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    return parse_output(result.stdout, "csv")


def test_article_figure_with_thirds_placement():
    samples = grid_csv("--methods", "roialign", "--sample-placement", "thirds", "--detail", "samples")
    first_bin = samples[(samples.bin_y == 0) & (samples.bin_x == 0)]
    points = first_bin.drop_duplicates(["sample_y", "sample_x"])[["x", "y"]].round(2)
    assert sorted(map(tuple, points.to_numpy())) == [(9.94, 6.5), (9.94, 7.01), (10.64, 6.5), (10.64, 7.01)]
    first = first_bin[(first_bin.sample_y == 0) & (first_bin.sample_x == 0)]
    centres = sorted(zip(first.cell_center_x, first.cell_center_y))
    assert centres == [(9.5, 6.5), (9.5, 7.5), (10.5, 6.5), (10.5, 7.5)]
    assert first.weight.sum() == pytest.approx(1.0)

    bins = grid_csv("--methods", "roialign", "--sample-placement", "thirds", "--detail", "bins")
    b = bins[(bins.bin_y == 0) & (bins.bin_x == 0)].iloc[0]
    assert (round(b.width, 2), round(b.height, 2)) == (2.08, 1.51)


def test_readme_samples_listing_in_exact_arithmetic():
    # README: the first sample of bin (0, 0) reads cell (6, 9) with weight 0.5536265432098763
    samples = grid_csv("--methods", "roialign", "--sample-placement", "thirds", "--detail", "samples",
                       "--arithmetic", "exact")
    first = samples.iloc[0]
    assert (first.y, first.x) == pytest.approx((6.503472222222222, 9.944444444444445), abs=1e-12)
    # by hand: sample at x = 9.25 + (6.25 / 3) / 3, y = 6 + (4.53125 / 3) / 3 (feature-area units); in index
    # coordinates t = u - 0.5 it lies between cells 9 and 10 (fx = 0.444) and rows 6 and 7 (fy = 0.0035)
    assert samples.weight.iloc[0] == pytest.approx(0.5536265432098763, abs=1e-12)
    fx, fy = 9.944444444444445 - 0.5 - 9, 6.503472222222222 - 0.5 - 6
    assert samples.weight.iloc[:4].tolist() == pytest.approx([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx],
                                                             abs=1e-12)


def test_default_placement_is_at_quarters_of_the_bin():
    samples = grid_csv("--methods", "roialign", "--detail", "samples")
    first_bin = samples[(samples.bin_y == 0) & (samples.bin_x == 0)]
    xs = sorted(first_bin.x.unique())
    bin_width = 6.25 / 3
    np.testing.assert_allclose(xs, [9.25 + bin_width / 4, 9.25 + 3 * bin_width / 4], rtol=0, atol=1e-6)
    exact = grid_csv("--methods", "roialign", "--detail", "samples", "--arithmetic", "exact")
    first_bin = exact[(exact.bin_y == 0) & (exact.bin_x == 0)]
    np.testing.assert_allclose(sorted(first_bin.x.unique()), [9.25 + bin_width / 4, 9.25 + 3 * bin_width / 4],
                               rtol=0, atol=1e-12)


def test_level_is_a_hidden_alias_of_detail():
    for detail in ("bins", "samples", "cells"):
        by_detail = grid_csv("--methods", "roialign,roipool", "--detail", detail)
        by_level = grid_csv("--methods", "roialign,roipool", "--level", detail)
        pd.testing.assert_frame_equal(by_detail, by_level)
    import re
    help_text = invoke("grid", "--help").stdout
    assert not re.search(r"--level\b(?!s|-)", help_text) and "--detail [bins|samples|cells]" in help_text
    default = grid_csv("--methods", "roialign")
    assert list(default.columns) == ["roi_id", "stride", "method", "bin_y", "bin_x", "cell_y", "cell_x", "weight"]


def test_grid_rows_carry_the_stride():
    bins = grid_csv("--methods", "all", "--detail", "bins")
    assert set(bins.stride) == {32.0} and list(bins.columns[:3]) == ["roi_id", "stride", "method"]
    assert len(bins) == len(METHOD_NAMES) * 9


def cli_dense(config, method, arithmetic):
    from test_conformance import dense

    geometry = ["--stride", str(config["stride"]), "--pool", "{}x{}".format(*config["pool"]),
                "--sampling-ratio", str(config["ratio"]), "--image-size", "{:g}x{:g}".format(*config["image"]),
                "--arithmetic", arithmetic]
    boxes = [arg for box in config["boxes"] for arg in ("--box", ",".join(repr(float(v)) for v in box))]
    result = invoke("grid", *boxes, *geometry, "--methods", method, "--detail", "cells", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    cells = parse_output(result.stdout, "csv")
    return dense(cells, len(config["boxes"]), config["pool"], config["map_h"], config["map_w"])


def test_cells_detail_equals_onnxruntime_double_in_exact_arithmetic():
    """The `cells` listing of `roiloss grid` (CLI, CSV) is what ONNX Runtime computes on a one-hot map."""
    from reference import max_roi_pool, roi_align

    for config in list(configurations(seed=7, count=8)):
        for method, aligned in [("roialign", True), ("roialign-legacy", False), ("roipool", None)]:
            got = cli_dense(config, method, "exact")
            if aligned is None:
                expected = max_roi_pool(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["stride"])
                np.testing.assert_array_equal(got > 0, expected)
            else:
                expected = roi_align(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["ratio"],
                                     config["stride"], aligned)
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_cells_detail_equals_onnxruntime_float32_by_default():
    from reference import roi_align32

    for config in list(configurations(seed=8, count=6)):
        for method, aligned in [("roialign", True), ("roialign-legacy", False)]:
            got = cli_dense(config, method, "float32")
            expected = roi_align32(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["ratio"],
                                   config["stride"], aligned).astype(np.float64)
            np.testing.assert_array_equal(got != 0, expected != 0)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_table_view_states_semantics_and_detail():
    result = invoke("grid", *ARTICLE_ARGS, "--methods", "roialign", "--detail", "bins", "--rows", "4")
    assert result.exit_code == 0
    text = flat(result.stdout)
    assert "| --box | methods roialign | stride 32 | pool 3x3" in text and "| detail bins" in text
    assert "more rows not shown" in text
    # four of the nine bins are listed, each with its 2 x 2 valid samples
    listed = [line for line in result.stdout.splitlines() if re.match(r"^\s*\d, \d\s", line)]
    assert len(listed) == 4 and all(line.split()[-2:] == ["4", "4"] for line in listed)


def colours(path):
    import matplotlib.image as mpimg
    image = mpimg.imread(path)[..., :3]
    return image, {tuple(np.round(c * 255).astype(int)) for c in image.reshape(-1, 3)}


def hex_rgb(value):
    return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))


def test_plot_shows_lost_and_gained_colours(tmp_path):
    from roiloss.plot import DPI, GAINED, LOST, PANEL_INCHES
    path = tmp_path / "floor.png"
    result = invoke("grid", *ARTICLE_ARGS, "--methods", "roipool-floor", "--plot", path,
                    "--format", "csv", "-o", tmp_path / "cells.csv")
    assert result.exit_code == 0, result.stderr
    image, found = colours(path)
    # one panel wide; a panel and the legend high, plus 0.16 in per line of the wrapped title
    assert image.shape[1] == PANEL_INCHES * DPI
    extra = image.shape[0] - (PANEL_INCHES + 1.0) * DPI
    assert extra in [round(0.16 * DPI * lines) for lines in range(1, 5)]
    assert hex_rgb(LOST) in found and hex_rgb(GAINED) in found

    aligned = tmp_path / "align.png"
    result = invoke("grid", *ARTICLE_ARGS, "--methods", "roialign", "--plot", aligned, "-o", tmp_path / "x")
    assert result.exit_code == 0, result.stderr
    image, found = colours(aligned)
    # the legend shows the lost colour once; the panel itself must have none of it
    panel = image[: int(image.shape[0] * 0.85)]
    panel_colours = {tuple(np.round(c * 255).astype(int)) for c in panel.reshape(-1, 3)}
    assert hex_rgb(LOST) not in panel_colours and hex_rgb(GAINED) in panel_colours


def test_plot_is_deterministic_and_has_one_panel_per_method(tmp_path):
    from roiloss.plot import DPI, PANEL_INCHES
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        result = invoke("grid", *ARTICLE_ARGS, "--methods", "roipool,roiwarp,roialign", "--plot", path,
                        "-o", tmp_path / "x")
        assert result.exit_code == 0, result.stderr
    assert paths[0].read_bytes() == paths[1].read_bytes()
    image, _ = colours(paths[0])
    assert image.shape[1] == 3 * PANEL_INCHES * DPI


def test_grid_needs_input_or_box():
    result = invoke("grid")
    assert result.exit_code == 2 and "either INPUT or --box" in result.stderr
    result = invoke("grid", "--box", "1,2,3")
    assert result.exit_code == 2 and "four numbers" in result.stderr


def test_roi_selection_from_a_file():
    result = invoke("grid", EXAMPLE, "--roi", "6", "--detail", "bins", "--format", "csv")
    frame = parse_output(result.stdout, "csv")
    assert set(frame.roi_id) == {6} and len(frame) == 49 * 3
    result = invoke("grid", EXAMPLE, "--roi", "999")
    assert result.exit_code == 2 and "no box with roi_id 999" in result.stderr


def test_invalid_box_is_named_and_has_no_grid():
    result = invoke("grid", "--box", "10,10,5,20", "--box", "0,0,32,32", "--format", "csv", "--methods", "roialign")
    assert result.exit_code == 0
    assert "roi 0: invalid box (x2<=x1), no grid" in result.stderr
    assert set(parse_output(result.stdout, "csv").roi_id) == {1}
