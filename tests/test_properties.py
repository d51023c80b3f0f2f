"""Properties every method must have, checked on random boxes (hypothesis)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import roiloss
from roiloss.methods import METHODS

METHOD_NAMES = list(METHODS)
coordinate = st.floats(-200, 900, allow_nan=False, width=32)
extent = st.floats(0.125, 900, allow_nan=False, width=32)
pool = st.tuples(st.integers(1, 9), st.integers(1, 9))


@st.composite
def box_sets(draw, n=st.integers(1, 12)):
    count = draw(n)
    x = np.array(draw(st.lists(coordinate, min_size=count, max_size=count)))
    y = np.array(draw(st.lists(coordinate, min_size=count, max_size=count)))
    w = np.array(draw(st.lists(extent, min_size=count, max_size=count)))
    h = np.array(draw(st.lists(extent, min_size=count, max_size=count)))
    return np.stack([x, y, x + w, y + h], axis=1)


@settings(max_examples=150, deadline=None)
@given(boxes=box_sets(), stride=st.sampled_from([4, 8, 12, 16, 24, 32, 64]), pool=pool,
       ratio=st.integers(0, 4), image=st.one_of(st.none(), st.tuples(st.integers(1, 800), st.integers(1, 800))),
       arithmetic=st.sampled_from(["exact", "float32"]))
# a box past a one-cell map: a method's statistics are whole numbers (int arrays) there
@example(boxes=np.array([[4.0, 4.0, 5.0, 5.0]]), stride=4, pool=(1, 1), ratio=0, image=(1, 1), arithmetic="exact")
def test_metrics_stay_in_range(boxes, stride, pool, ratio, image, arithmetic):
    frame = roiloss.analyze(boxes, stride=stride, pool=pool, methods="all", sampling_ratio=ratio, image_size=image,
                            arithmetic=arithmetic)
    assert len(frame) == len(boxes) * len(METHOD_NAMES)
    assert frame["lost_frac"].between(0, 1).all()
    assert (frame["gained_frac"] >= 0).all()
    assert frame["iou"].between(0, 1).all()
    assert (frame["shift_px"] >= 0).all()
    assert frame["empty_bins"].between(0, pool[0] * pool[1]).all()
    weights = frame["outside_weight"].dropna()
    assert weights.between(0, 1).all()
    # outside_weight is undefined only when nothing at all is read: every bin empty
    undefined = frame[frame["outside_weight"].isna()]
    assert (undefined["empty_bins"] == pool[0] * pool[1]).all()


@settings(max_examples=150, deadline=None)
@given(quarters=st.lists(st.integers(0, 4000), min_size=2, max_size=2), size=st.tuples(st.integers(1, 2000), st.integers(1, 2000)),
       shift=st.tuples(st.integers(-3, 3), st.integers(-3, 3)), stride=st.sampled_from([4, 8, 16, 32, 64]),
       pool=pool, ratio=st.integers(0, 4), placement=st.sampled_from(["centered", "thirds"]),
       arithmetic=st.sampled_from(["exact", "float32"]))
def test_moving_a_box_by_whole_strides_changes_no_metric(quarters, size, shift, stride, pool, ratio, placement,
                                                         arithmetic):
    # quarter-pixel coordinates and power-of-two strides keep every division exact in float64; in
    # float32 the sample positions and bin edges are rounded at another magnitude, so weights move
    # by float32 ulps -- and a weight that moves from 0 to an ulp adds a cell to the support (as the
    # real float32 operator does: PrRoIPool, a 0.25-px box 190 px tall, pool 3x1, gains 8 % more
    # area 16 px higher). In float32 only the weights' metric is continuous.
    x1, y1 = 4 * stride + quarters[0] / 4, 4 * stride + quarters[1] / 4
    box = np.array([[x1, y1, x1 + size[0] / 4, y1 + size[1] / 4]])
    moved = box + np.array([shift[1], shift[0], shift[1], shift[0]]) * stride
    kwargs = dict(stride=stride, pool=pool, methods="all", sampling_ratio=ratio, sample_placement=placement,
                  arithmetic=arithmetic)
    a = roiloss.analyze(box, **kwargs)
    b = roiloss.analyze(moved, **kwargs)
    atol = 1e-9 if arithmetic == "exact" else 1e-5
    metrics = ["lost_frac", "gained_frac", "outside_weight", "iou", "shift_px", "empty_bins"]
    for metric in metrics if arithmetic == "exact" else ["outside_weight"]:
        np.testing.assert_allclose(a[metric].astype(float), b[metric].astype(float), rtol=0, atol=atol, err_msg=metric)


@settings(max_examples=200, deadline=None)
@given(boxes=box_sets(), stride=st.sampled_from([4, 8, 12, 16, 32, 64]), pool=pool,
       arithmetic=st.sampled_from(["exact", "float32"]))
def test_roialign_with_adaptive_sampling_loses_nothing_inside_its_image(boxes, stride, pool, arithmetic):
    image = (1000, 1000)
    boxes = np.clip(boxes, 0, 1000)
    boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
    if not len(boxes):
        return
    frame = roiloss.analyze(boxes, stride=stride, pool=pool, methods="roialign", sampling_ratio=0, image_size=image,
                            arithmetic=arithmetic)
    if arithmetic == "exact":
        np.testing.assert_allclose(frame["lost_frac"], 0, atol=1e-9)
        assert (frame["iou"] == 1).all()
    else:  # the box rounded to float32 (x * float32(1/s), then -0.5 and +0.5) is what is sampled:
        # its edges are off by float32 ulps of coordinates up to 1000 px, under 2e-4 px: the area
        # lost is at most that strip along its sides (a box from y = 1e-6 loses 3e-8 of itself)
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        assert (frame["lost_frac"].to_numpy() * w * h <= 2e-4 * 2 * (w + h)).all()
        assert (frame["shift_px"] <= 2e-4).all()
        # the sampled box and the box differ by at most that strip on each side: IoU loses at
        # most both strips over the area (a 0.125 px box at x = 389 keeps IoU 0.9989)
        assert (frame["iou"].to_numpy() >= 1 - 2 * 2e-4 * 2 * (w + h) / (w * h)).all()


@settings(max_examples=100, deadline=None)
@given(boxes=box_sets(), stride=st.sampled_from([4, 8, 16, 32]), pool=pool, ratio=st.integers(0, 3),
       method=st.sampled_from(METHOD_NAMES), arithmetic=st.sampled_from(["exact", "float32"]))
def test_metrics_agree_with_the_listed_coefficients(boxes, stride, pool, ratio, method, arithmetic):
    """lost/gained/outside_weight recomputed in 2-D, cell by cell, from coefficients()."""
    image = (640, 480)
    kwargs = dict(stride=stride, pool=pool, sampling_ratio=ratio, image_size=image, arithmetic=arithmetic)
    frame = roiloss.analyze(boxes, methods=method, **kwargs)
    cells = roiloss.coefficients(boxes, method=method, **kwargs)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        mine = cells[cells.roi_id == i]
        r = np.array([x1, y1, x2, y2]) / stride
        area = (r[2] - r[0]) * (r[3] - r[1])
        support = mine[["cell_y", "cell_x"]].drop_duplicates().to_numpy()
        fx = np.clip(np.minimum(support[:, 1] + 1, r[2]) - np.maximum(support[:, 1], r[0]), 0, None)
        fy = np.clip(np.minimum(support[:, 0] + 1, r[3]) - np.maximum(support[:, 0], r[1]), 0, None)
        covered = (fx * fy).sum()
        row = frame.iloc[i]
        assert row.lost_frac == pytest.approx(max(0.0, 1 - covered / area), abs=1e-9)
        assert row.gained_frac == pytest.approx(max(0.0, (len(support) - covered) / area), abs=1e-9)
        gx = np.clip(np.minimum(mine.cell_x + 1, r[2]) - np.maximum(mine.cell_x, r[0]), 0, None)
        gy = np.clip(np.minimum(mine.cell_y + 1, r[3]) - np.maximum(mine.cell_y, r[1]), 0, None)
        mass = mine.weight.sum()
        if mass > 0:
            assert row.outside_weight == pytest.approx(1 - (mine.weight * gx * gy).sum() / mass, abs=1e-9)
        else:
            assert np.isnan(row.outside_weight)
        occupied = len(mine[["bin_y", "bin_x"]].drop_duplicates())
        assert row.empty_bins == pool[0] * pool[1] - occupied
