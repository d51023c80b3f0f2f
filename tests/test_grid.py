"""The sampling grid as a library (roiloss.grid, roiloss.grid.grid_table, pair_by_box, cross_entries)."""

import numpy as np
import pandas as pd
import pytest

import roiloss
from roiloss.boxes import normalise
from roiloss.sampling_grid import DETAILS, cross_entries, grid_table, pair_by_box
from roiloss.semantics import resolve

BOXES = [(10, 20, 300, 90), (0, 0, 7, 5), (100, 100, 612, 400)]


@pytest.mark.parametrize("arithmetic", ["float32", "exact"])
@pytest.mark.parametrize("ratio", [0, 1, 2, 3])
def test_sample_counts_per_bin_follow_the_sampling_ratio(ratio, arithmetic):
    pool = (2, 3)
    kwargs = dict(methods="roialign", stride=16, pool=pool, sampling_ratio=ratio, image_size=(640, 480),
                  arithmetic=arithmetic)
    samples = roiloss.grid(BOXES, detail="samples", **kwargs)
    counts = samples.drop_duplicates(["roi_id", "bin_y", "bin_x", "sample_y", "sample_x"]).groupby(
        ["roi_id", "bin_y", "bin_x"]).size()
    for roi, (x1, y1, x2, y2) in enumerate(BOXES):
        # none of these sizes is a multiple of 16 * pool: float32 and exact agree on ceil(size / pool)
        gy = ratio or int(np.ceil((y2 - y1) / 16 / pool[0]))
        gx = ratio or int(np.ceil((x2 - x1) / 16 / pool[1]))
        assert (counts.loc[roi] == gy * gx).all()
    bins = roiloss.grid(BOXES, detail="bins", **kwargs)
    merged = bins.set_index(["roi_id", "bin_y", "bin_x"])["samples"]
    assert (merged.loc[counts.index] == counts).all()


def test_invalid_samples_are_listed_without_cells():
    # a box hanging off the left of the map: samples left of t = -1 are invalid
    samples = roiloss.grid([(-100, 0, 40, 32)], methods="roialign", detail="samples", stride=16, pool=(1, 4),
                           image_size=(64, 64))
    invalid = samples[~samples.valid]
    assert len(invalid) > 0 and invalid.cell_x.isna().all() and (invalid.weight == 0).all()
    assert not invalid.duplicated(["bin_y", "bin_x", "sample_y", "sample_x"]).any()
    bins = roiloss.grid([(-100, 0, 40, 32)], methods="roialign", detail="bins", stride=16, pool=(1, 4),
                        image_size=(64, 64))
    assert bins["empty"].tolist() == [True, True, False, False] and bins.valid_samples.tolist()[:2] == [0, 0]


@pytest.mark.parametrize("method", list(roiloss.METHODS))
def test_cells_detail_equals_coefficients(method):
    kwargs = dict(stride=16, pool=(3, 2), sampling_ratio=0, image_size=(640, 480))
    cells = roiloss.grid(BOXES, method, "cells", **kwargs)
    coefficients = roiloss.coefficients(BOXES, method=method, **kwargs)
    pd.testing.assert_frame_equal(cells.drop(columns="stride"), coefficients, check_dtype=False)
    assert set(cells.stride) == {16.0}


def test_samples_weights_sum_to_the_cells_coefficients():
    kwargs = dict(methods="roialign", stride=16, pool=3, sampling_ratio=2, image_size=(640, 480))
    samples = roiloss.grid(BOXES, detail="samples", **kwargs)
    cells = roiloss.grid(BOXES, detail="cells", **kwargs)
    per_cell = samples[samples.valid].groupby(["roi_id", "bin_y", "bin_x", "cell_y", "cell_x"]).weight.sum() / 4
    got = cells.set_index(["roi_id", "bin_y", "bin_x", "cell_y", "cell_x"]).weight
    per_cell = per_cell[per_cell > 0]
    per_cell.index = per_cell.index.set_levels([lvl.astype(got.index.levels[i].dtype)
                                                for i, lvl in enumerate(per_cell.index.levels)])
    np.testing.assert_allclose(got.loc[per_cell.index].to_numpy(), per_cell.to_numpy(), rtol=0, atol=1e-12)
    assert len(per_cell) == len(got)


def test_grid_with_a_pyramid_puts_each_box_on_its_level():
    boxes = [(0, 0, 50, 60), (0, 0, 500, 500)]
    bins = roiloss.grid(boxes, "roialign", "bins", pyramid=roiloss.Pyramid(mapper="detectron2"), pool=2)
    assert list(bins.columns[:4]) == ["roi_id", "level", "stride", "method"]
    assert bins.groupby("roi_id")["level"].first().tolist() == [2, 5]
    assert bins.groupby("roi_id").stride.first().tolist() == [4.0, 32.0]
    # feature-area units of the box's own map: x0 of the first bin is x1 / stride
    assert bins.groupby("roi_id").x0.min().tolist() == [0.0, 0.0]
    assert bins.groupby("roi_id").x1.max().tolist() == pytest.approx([50 / 4, 500 / 32])


def test_multi_scale_resize_gives_one_grid_per_short_side():
    bins = roiloss.grid([(0, 0, 100, 100)], "roialign", "bins", stride=16, pool=1, resize="detectron2",
                        image_size=(400, 400))
    assert bins.short_side.tolist() == [800.0] and bins.x1.tolist() == pytest.approx([200 / 16])
    semantics = resolve(methods="roialign", stride=16, pool=1, resize="detectron2", min_size="400,800")
    bins = roiloss.grid([(0, 0, 100, 100)], semantics=semantics, detail="bins", image_size=(400, 400))
    assert bins.short_side.tolist() == [400.0, 800.0]
    # the box in the model's frame: 100 px at scale 1 and 2
    assert bins.x1.tolist() == pytest.approx([100 / 16, 200 / 16])


def test_bad_detail_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="detail must be one of bins, samples, cells"):
        roiloss.grid(BOXES, detail="points")
    table = normalise(BOXES)
    with pytest.raises(ValueError, match="detail"):
        grid_table(table, resolve(), "points")
    assert DETAILS == ("bins", "samples", "cells")


def test_no_valid_box_gives_an_empty_frame():
    frame = roiloss.grid([(10, 10, 5, 5)], "roialign", "cells")
    assert len(frame) == 0 and list(frame.columns[:2]) == ["roi_id", "method"]


def test_pair_by_box_pairs_rows_of_the_same_box():
    box_y = np.array([0, 0, 1, 2, 2, 2])
    box_x = np.array([0, 1, 1, 1, 2])
    yi, xi = pair_by_box(box_y, box_x, 3)
    pairs = sorted(zip(yi.tolist(), xi.tolist()))
    expected = sorted((i, j) for i in range(len(box_y)) for j in range(len(box_x)) if box_y[i] == box_x[j])
    assert pairs == expected
    assert (box_y[yi] == box_x[xi]).all()


def test_cross_entries_multiplies_row_and_column_weights():
    from roiloss.axis import AxisEntries

    ey = AxisEntries(box=np.array([0, 0]), bin=np.array([0, 0]), cell=np.array([3, 4]), weight=np.array([0.25, 0.75]))
    ex = AxisEntries(box=np.array([0]), bin=np.array([1]), cell=np.array([7]), weight=np.array([0.5]))
    out = cross_entries(ey, ex, 1)
    assert out["cell_y"].tolist() == [3, 4] and out["cell_x"].tolist() == [7, 7] and out["bin_x"].tolist() == [1, 1]
    assert out["weight"].tolist() == [0.125, 0.375]
