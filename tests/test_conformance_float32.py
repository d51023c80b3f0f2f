"""float32 arithmetic: roiloss reads the cells the frameworks' float32 kernels read, decision for decision.

Reference: ONNX Runtime ``RoiAlign`` (X and rois float32, ``half_pixel`` = roialign,
``output_half_pixel`` = roialign-legacy) and ``MaxRoiPool`` (float32) on one-hot maps. For every box
the set of (bin_y, bin_x, cell_y, cell_x) with a non-zero weight must equal ORT's exactly and the
weights agree within 1e-5. Boxes: 10,000 random per method (``cases.configurations``, four seeds) plus
the generated boundary cases of ``boundary_cases`` (half-cell edges at strides 41/47/55/61, integer
sizes with adaptive sampling, float32 samples exactly on t = -1 and t = W, edges, sub-cell boxes),
where float32 and float64 arithmetic make different decisions: the tests check that they do.
"""

import numpy as np
import pytest

import roiloss
from boundary_cases import ALIGN_MODES, ODD_STRIDES, F32, align_samples, boundary_configurations, dense_2d, edge_hits
from cases import configurations
from reference import max_roi_pool, roi_align, roi_align32

SEEDS = (20261201, 20261202, 20261203, 20261204)
RANDOM = [c for seed in SEEDS for c in configurations(seed, count=25, boxes_per_config=100)]  # 10,000 boxes
BOUNDARY = boundary_configurations()
METHODS = ("roialign", "roialign-legacy", "roipool")
ATOL = 1e-5
SHOWN = 5  # failing boxes described in a failure message


def dense(cells, n_boxes, pool, map_h, map_w):
    out = np.zeros((n_boxes, pool[0], pool[1], map_h, map_w))
    roi = cells["roi_id"].to_numpy(int)
    assert ((roi >= 0) & (roi < n_boxes)).all(), "roi_id outside the boxes passed in"
    np.add.at(out, (roi, cells["bin_y"].to_numpy(int), cells["bin_x"].to_numpy(int), cells["cell_y"].to_numpy(int),
                    cells["cell_x"].to_numpy(int)), cells["weight"].to_numpy(float))
    return out


def ours(config, method, arithmetic):
    cells = roiloss.coefficients(config["boxes"], method=method, stride=config["stride"], pool=config["pool"],
                                 sampling_ratio=config["ratio"], image_size=config["image"], arithmetic=arithmetic)
    return dense(cells, len(config["boxes"]), config["pool"], config["map_h"], config["map_w"])


def onnxruntime(config, method):
    """ORT's float32 coefficients; RoI Pool windows weigh ``1 / (cells in the window)``."""
    args = (config["boxes"], config["map_h"], config["map_w"], config["pool"])
    if method == "roipool":
        windows = max_roi_pool(*args, config["stride"])
        size = windows.sum(axis=(3, 4), keepdims=True)
        return np.where(windows, 1.0 / np.maximum(size, 1), 0.0)
    return roi_align32(*args, config["ratio"], config["stride"], ALIGN_MODES[method]).astype(np.float64)


def per_box(got, expected):
    """Per box: non-zero sets differ, and the largest weight difference."""
    axes = (1, 2, 3, 4)
    return ((got != 0) != (expected != 0)).any(axis=axes), np.abs(got - expected).max(axis=axes, initial=0.0)


def describe(config, i, got, expected, label="roiloss", reference="ORT"):
    only_got = np.argwhere((got[i] != 0) & (expected[i] == 0))
    only_ref = np.argwhere((got[i] == 0) & (expected[i] != 0))
    return (f"  box {i} {config['boxes'][i].tolist()} ({config.get('kind', 'random')}, stride {config['stride']}, "
            f"pool {config['pool']}, ratio {config['ratio']}, map {config['map_h']}x{config['map_w']}, "
            f"image {config['image']}): (bin_y, bin_x, cell_y, cell_x) only in {label} {only_got[:4].tolist()}, "
            f"only in {reference} {only_ref[:4].tolist()}, max |weight difference| "
            f"{np.abs(got[i] - expected[i]).max():.3g}")


def assert_conforms(configs, method):
    """roiloss float32 == ORT float32 on every box of ``configs``; returns the number of boxes."""
    failures, failing, boxes = [], 0, 0
    for config in configs:
        expected = onnxruntime(config, method)
        got = ours(config, method, "float32")
        boxes += len(expected)
        set_differs, worst = per_box(got, expected)
        bad = np.flatnonzero(set_differs | (worst > ATOL))
        failing += len(bad)
        failures += [describe(config, i, got, expected) for i in bad[:max(SHOWN - len(failures), 0)]]
    assert not failing, (f"{method}, arithmetic='float32': {failing} of {boxes} boxes read other cells than "
                         f"ONNX Runtime's float32 kernel, or weights off by more than {ATOL}; first "
                         f"{len(failures)}:\n" + "\n".join(failures))
    return boxes


# --- the cases themselves (need no roiloss) ---------------------------------------------------


def test_at_least_ten_thousand_boxes_per_method():
    random_boxes = sum(len(c["boxes"]) for c in RANDOM)
    boundary_boxes = sum(len(c["boxes"]) for c in BOUNDARY)
    assert random_boxes >= 10_000 and boundary_boxes >= 5_000, (random_boxes, boundary_boxes)
    assert {c["kind"] for c in BOUNDARY} == {"half_cell", "adaptive", "edge_samples"}
    assert all(len(c["boxes"]) and c["map_h"] <= 12 and c["map_w"] <= 12 for c in BOUNDARY + RANDOM)
    boxes = np.concatenate([c["boxes"] for c in BOUNDARY])
    np.testing.assert_array_equal(boxes, boxes.astype(np.float32))  # what ORT gets is what roiloss gets
    assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()


def test_half_cell_edges_are_off_by_an_ulp_in_float32():
    for stride in ODD_STRIDES:
        configs = [c for c in BOUNDARY if c["kind"] == "half_cell" and c["stride"] == stride]
        x = np.concatenate([c["boxes"][:, [0, 2]].ravel() for c in configs])
        in_cells = x / stride
        half = in_cells - np.floor(in_cells) == 0.5
        float32 = (x.astype(F32) * F32(1.0 / stride)).astype(np.float64)
        # the RoI Pool rounding flips: round(j + 0.5 - ulp) = j, round(j + 0.5) = j + 1
        flips = half & (np.abs(float32) < np.abs(in_cells))
        assert flips.sum() >= 10, (stride, flips.sum())
    assert F32(23.5) * F32(1.0 / 47) == F32(0.49999997)


def test_adaptive_counts_differ_between_float32_and_exact():
    above = below = 0
    for config in (c for c in BOUNDARY if c["kind"] == "adaptive"):
        assert config["ratio"] == 0
        b = config["boxes"]
        np.testing.assert_array_equal(b, np.round(b))  # integer pixel boxes ...
        for aligned in (True, False):
            for (i0, i1), bins in (((0, 2), config["pool"][1]), ((1, 3), config["pool"][0])):
                assert (((b[:, i1] - b[:, i0]) % (config["stride"] * bins)) == 0).all()  # ... of s*P*n px
                _, g32 = align_samples(b[:, i0], b[:, i1], config["stride"], bins, 0, aligned, "float32")
                exact = (b[:, i1] - b[:, i0]) // (config["stride"] * bins)  # L/P = n exactly
                above += (g32 == exact + 1).sum()  # float32 L/P a hair above n: one sample more
                below += (g32 == exact).sum()
    assert above >= 200 and below >= 200, (above, below)


@pytest.mark.parametrize("method", ["roialign", "roialign-legacy"])
def test_float32_samples_land_exactly_on_minus_one_and_on_the_map_end(method):
    minus_one = at_end = 0
    for config in (c for c in BOUNDARY if c["kind"] == "edge_samples"):
        hit_low, hit_high = edge_hits(config, ALIGN_MODES[method])  # t computed in np.float32
        minus_one += hit_low.sum()
        at_end += hit_high.sum()
    assert minus_one >= 200 and at_end >= 200, (method, minus_one, at_end)


def test_boundary_cases_touch_cross_and_fall_inside_a_cell():
    boxes = np.concatenate([c["boxes"] for c in BOUNDARY])
    size = np.concatenate([np.tile(c["image"], (len(c["boxes"]), 1)) for c in BOUNDARY])
    stride = np.concatenate([np.full(len(c["boxes"]), c["stride"]) for c in BOUNDARY])
    assert (boxes[:, 0] == 0).sum() > 100 and (boxes[:, 2] == size[:, 0]).sum() > 100
    assert (boxes[:, 0] < 0).sum() > 100 and (boxes[:, 2] > size[:, 0]).sum() > 100
    assert (boxes[:, 1] < 0).sum() > 100 and (boxes[:, 3] > size[:, 1]).sum() > 100
    assert (boxes[:, 0] >= size[:, 0]).sum() > 10 and (boxes[:, 2] <= 0).sum() > 10  # wholly off the map
    assert ((boxes[:, 2] - boxes[:, 0]) < stride).sum() > 500


@pytest.mark.parametrize("method", METHODS)
def test_boundary_cases_bite_in_onnxruntime_itself(method):
    """ORT's float32 kernel reads other cells than float64 maths on many boundary boxes, and the numpy
    float32 emulation the generator relies on reads exactly ORT's cells."""
    bites = 0
    for config in BOUNDARY:
        expected = onnxruntime(config, method)
        emulated_differs, worst = per_box(dense_2d(config, method, "float32"), expected)
        bad = np.flatnonzero(emulated_differs | (worst > ATOL))
        assert not len(bad), describe(config, bad[0], dense_2d(config, method, "float32"), expected, "emulation")
        bites += per_box(dense_2d(config, method, "exact"), expected)[0].sum()
    assert bites >= 1000, (method, bites)


# --- roiloss ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_float32_matches_onnxruntime_on_random_boxes(method):
    assert assert_conforms(RANDOM, method) >= 10_000


@pytest.mark.parametrize("method", METHODS)
def test_float32_matches_onnxruntime_on_boundary_boxes(method):
    assert assert_conforms(BOUNDARY, method) >= 5_000


@pytest.mark.parametrize("method", METHODS)
def test_float32_and_exact_differ_on_boundary_boxes_and_float32_is_right(method):
    cells_differ = weights_differ = failing = 0
    failures = []
    for config in BOUNDARY:
        f32 = ours(config, method, "float32")
        exact = ours(config, method, "exact")
        set_differs, worst = per_box(f32, exact)
        differs = np.flatnonzero(set_differs | (worst > ATOL))
        cells_differ += set_differs.sum()
        weights_differ += (~set_differs & (worst > ATOL)).sum()
        if not len(differs):
            continue
        reference = onnxruntime(config, method)
        ok_set, ok_worst = per_box(f32[differs], reference[differs])
        exact_set, _ = per_box(exact[differs], reference[differs])
        wrong = np.flatnonzero(ok_set | (ok_worst > ATOL) | (set_differs[differs] & ~exact_set))
        failing += len(wrong)
        failures += [describe(config, differs[i], f32, reference) for i in wrong[:max(SHOWN - len(failures), 0)]]
    assert not failing, (f"{method}: on {failing} boundary boxes where float32 and exact arithmetic disagree, "
                         f"float32 does not match ONNX Runtime's float32 kernel (or exact reads ORT's cells "
                         f"though float32 reads others); first {len(failures)}:\n" + "\n".join(failures))
    assert cells_differ >= 1000, (f"{method}: only {cells_differ} boundary boxes read different cells in "
                                  f"float32 and exact arithmetic")
    if method != "roipool":  # adaptive sample counts change the weights
        assert weights_differ >= 500, (method, weights_differ)


def test_exact_arithmetic_still_matches_onnxruntime_double():
    for method, aligned in ALIGN_MODES.items():
        for config in configurations(seed=20261124, count=60):
            expected = roi_align(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["ratio"],
                                 config["stride"], aligned)
            np.testing.assert_allclose(ours(config, method, "exact"), expected, rtol=0, atol=1e-6, err_msg=str(config))
