"""docs/semantics.md §5: in exact arithmetic the coefficients roiloss reports equal ONNX Runtime's
double-precision kernels on a one-hot feature map (float32 arithmetic: test_conformance_float32.py)."""

import numpy as np
import pytest

import roiloss
from cases import configurations
from reference import max_roi_pool, roi_align

CONFIGS = list(configurations(seed=20261124, count=60))  # 600 boxes per method


def dense(cells, n_boxes, pool, map_h, map_w):
    out = np.zeros((n_boxes, pool[0], pool[1], map_h, map_w))
    np.add.at(out, (cells["roi_id"].to_numpy(int), cells["bin_y"], cells["bin_x"], cells["cell_y"], cells["cell_x"]),
              cells["weight"].to_numpy())
    return out


def ours(config, method, arithmetic="exact"):
    cells = roiloss.coefficients(config["boxes"], method=method, stride=config["stride"], pool=config["pool"],
                                 sampling_ratio=config["ratio"], image_size=config["image"], arithmetic=arithmetic)
    return dense(cells, len(config["boxes"]), config["pool"], config["map_h"], config["map_w"])


def test_cases_cover_every_edge_and_sub_cell_boxes():
    boxes = np.concatenate([c["boxes"] for c in CONFIGS])
    sizes = np.concatenate([np.tile(c["image"], (len(c["boxes"]), 1)) for c in CONFIGS])
    strides = np.concatenate([np.full(len(c["boxes"]), c["stride"]) for c in CONFIGS])
    assert len(boxes) >= 500
    assert (boxes[:, 0] < 0).sum() > 20 and (boxes[:, 1] < 0).sum() > 20
    assert (boxes[:, 0] == 0).sum() > 10 and (boxes[:, 2] == sizes[:, 0]).sum() > 10
    assert (boxes[:, 2] > sizes[:, 0]).sum() > 20 and (boxes[:, 3] > sizes[:, 1]).sum() > 20
    assert ((boxes[:, 2] - boxes[:, 0]) < strides).sum() > 20
    assert {c["ratio"] for c in CONFIGS} == {0, 1, 2, 3, 4}
    assert any(c["pool"][0] != c["pool"][1] for c in CONFIGS)


@pytest.mark.parametrize("method,aligned", [("roialign", True), ("roialign-legacy", False)])
def test_roi_align_matches_onnxruntime(method, aligned):
    worst = 0.0
    for config in CONFIGS:
        expected = roi_align(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["ratio"],
                             config["stride"], aligned)
        got = ours(config, method)
        worst = max(worst, np.abs(got - expected).max())
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=str(config))
    assert worst < 1e-6


@pytest.mark.parametrize("arithmetic", ["exact", "float32"])
def test_roi_pool_windows_match_onnxruntime(arithmetic):
    # MaxRoiPool is float32 only; these boxes lie on no half-cell boundary, so both arithmetics agree
    for config in CONFIGS:
        expected = max_roi_pool(config["boxes"], config["map_h"], config["map_w"], config["pool"], config["stride"])
        got = ours(config, "roipool", arithmetic) > 0
        mismatch = np.argwhere((got != expected).any(axis=(1, 2, 3, 4)))
        assert not len(mismatch), (config["stride"], config["pool"], config["boxes"][mismatch.ravel()])


def test_roi_pool_weights_are_one_over_window_size():
    config = CONFIGS[0]
    got = ours(config, "roipool")
    windows = got > 0
    sizes = windows.sum(axis=(3, 4), keepdims=True)
    np.testing.assert_allclose(got[windows], np.broadcast_to(1.0 / np.maximum(sizes, 1), got.shape)[windows])


@pytest.mark.parametrize("arithmetic", ["exact", "float32"])
def test_roi_pool_float32_bin_edges_as_the_frameworks(arithmetic):
    # n = 57 cells, P = 7: float32(7) * float32(57/7) > 57, so the last window reads one more cell.
    stride, pool, map_w = 1, (1, 7), 64
    box = np.array([[0.0, 0.0, 56.0, 1.0]])
    expected = max_roi_pool(box, 1, map_w, pool, stride)
    got = ours(dict(boxes=box, stride=stride, pool=pool, ratio=0, map_h=1, map_w=map_w, image=(map_w, 1)), "roipool",
               arithmetic) > 0
    assert expected[0, 0, 6].sum() == 58 - 48  # cells 48..57: 57 is past the box's last cell 56
    np.testing.assert_array_equal(got, expected)
