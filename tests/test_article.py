"""The seed article's worked example, computed by hand (SPEC §3)."""

import numpy as np
import pytest

import roiloss

ARTICLE = [(296, 192, 496, 337)]  # stride 32: the RoI (9.25, 6) + 6.25 x 4.53125
AREA = 6.25 * 4.53125


@pytest.fixture(scope="module", params=["float32", "exact"])
def rows(request):
    """The article's numbers in both arithmetics: its box is exact in float32 and every decision agrees."""
    frame = roiloss.analyze(ARTICLE, stride=32, pool=3, methods="all", image_size=(512, 512),
                            arithmetic=request.param)
    return frame.set_index("method")


@pytest.fixture(params=["float32", "exact"])
def arithmetic(request):
    return request.param


def windows(method, arithmetic="exact"):
    cells = roiloss.coefficients(ARTICLE, method=method, stride=32, pool=3, image_size=(512, 512),
                                 arithmetic=arithmetic)
    out = {}
    for (by, bx), group in cells.groupby(["bin_y", "bin_x"]):
        out[by, bx] = (group.cell_y.min(), group.cell_y.max(), group.cell_x.min(), group.cell_x.max())
    return out


def test_roipool_windows(arithmetic):
    cols = [(9, 11), (11, 14), (14, 15)]
    rows_ = [(6, 7), (8, 9), (10, 11)]
    expected = {(p, q): (*rows_[p], *cols[q]) for p in range(3) for q in range(3)}
    assert windows("roipool", arithmetic) == expected


def test_roipool_loses_nothing_and_gains_the_rounded_cells(rows):
    r = rows.loc["roipool"]
    assert r.lost_frac == 0
    # support: columns 9-15 x rows 6-11 = 42 cells (column 16 lies off the 16-column map)
    assert r.gained_frac == pytest.approx((42 - AREA) / AREA, abs=1e-12)
    assert r.gained_frac == pytest.approx(0.4830, abs=5e-5)


def test_roipool_floor_drops_the_last_row_and_the_leftover_columns(rows):
    r = rows.loc["roipool-floor"]
    # (9, 6) + 6 x 4 cells, bins of 2 columns x 1 row: support [9, 15) x [6, 9)
    covered = (15 - 9.25) * (9 - 6)
    assert r.lost_frac == pytest.approx(1 - covered / AREA, abs=1e-12)
    assert r.lost_frac == pytest.approx(0.3909, abs=5e-5)
    assert r.gained_frac == pytest.approx((18 - covered) / AREA, abs=1e-12)
    assert r.gained_frac == pytest.approx(0.0265, abs=5e-5)


def test_roialign_samples_exactly_the_box(rows):
    assert rows.loc["roialign"].iou == 1
    assert rows.loc["roialign"].shift_px == 0


def test_roialign_legacy_is_half_a_cell_off(rows):
    assert rows.loc["roialign-legacy"].shift_px == 16
    # sampled [x1/s + 0.5, x2/s + 0.5): IoU of two equal rectangles shifted by (0.5, 0.5)
    inter = (6.25 - 0.5) * (4.53125 - 0.5)
    assert rows.loc["roialign-legacy"].iou == pytest.approx(inter / (2 * AREA - inter), abs=1e-12)


def test_roiwarp_samples_the_rounded_box_shifted_by_half_a_cell(rows):
    # a = cround(9.25) = 9, b = cround(15.5) = 16; rows a = 6, b = cround(10.53) = 11
    # sampled [9.5, 16.5) x [6.5, 11.5)
    inter = (15.5 - 9.5) * (10.53125 - 6.5)
    union = AREA + 7 * 5 - inter
    assert rows.loc["roiwarp"].iou == pytest.approx(inter / union, abs=1e-12)
    assert rows.loc["roiwarp"].shift_px == pytest.approx(max(0.25, 16.5 - 15.5, 0.5, 11.5 - 10.53125) * 32)


def test_roipool_outside_weight_by_hand(rows):
    # per axis: sum over bins of (window length inside R) / (window length), 3 bins of mass 1
    # windows (inclusive cells) columns 9-11, 11-14, 14-15; rows 6-7, 8-9, 10-11
    inside_x = (12 - 9.25) / 3 + 4 / 4 + (15.5 - 14) / 2
    inside_y = 2 / 2 + 2 / 2 + (10.53125 - 10) / 2
    assert rows.loc["roipool"].outside_weight == pytest.approx(1 - inside_x * inside_y / 9, abs=1e-12)


def test_cround_is_half_away_from_zero():
    from roiloss.kernels import cround
    np.testing.assert_array_equal(cround([0.5, 2.5, -0.5, 1.49999, 0.49999999999999994, -2.5]), [1, 3, -1, 1, 0, -3])
