"""Conformance against deployment runtimes that install from PyPI and run on the CPU
(docs/semantics.md §5): OpenVINO ``ROIAlign-9`` in its three aligned modes and TensorFlow
``tf.image.crop_and_resize``, each on one-hot feature maps (channel ``k = i*W + j`` is 1 at cell
``(i, j)``), so each output is exactly the coefficient of one cell in one bin. For every box the set
of (bin_y, bin_x, cell_y, cell_x) with a non-zero weight must equal the runtime's and the weights
agree within 1e-5. Boxes: 2,500 per mode (``cases.configurations``: strides 4-64, maps of 1-12
cells, pools 1-7, sampling ratios 0-4, boxes inside, touching and crossing every edge, sub-cell and
covering the map). Also PrRoIPool against a dense numerical integration written here (1e-6).
"""

import numpy as np
import pytest

import roiloss
from cases import configurations

SEEDS = (20261301, 20261302)
CONFIGS = [c for seed in SEEDS for c in configurations(seed, count=25, boxes_per_config=50)]  # 2,500 boxes
ATOL = 1e-5


def dense(cells, n_boxes, pool, map_h, map_w):
    out = np.zeros((n_boxes, pool[0], pool[1], map_h, map_w))
    np.add.at(out, tuple(cells[c].to_numpy(int) for c in ("roi_id", "bin_y", "bin_x", "cell_y", "cell_x")),
              cells["weight"].to_numpy(float))
    return out


def ours(config, method, **extra):
    cells = roiloss.coefficients(config["boxes"], method=method, stride=config["stride"], pool=config["pool"],
                                 sampling_ratio=config["ratio"], image_size=config["image"], **extra)
    return dense(cells, len(config["boxes"]), config["pool"], config["map_h"], config["map_w"])


def assert_same(configs, method, reference, label):
    """Same non-zero cells in every bin and weights within ATOL on every box; returns (boxes, worst)."""
    boxes, worst, failures = 0, 0.0, []
    for config in configs:
        got, expected = ours(config, method), reference(config)
        boxes += len(got)
        sets = ((got != 0) != (expected != 0)).any(axis=(1, 2, 3, 4))
        diff = np.abs(got - expected).max(axis=(1, 2, 3, 4), initial=0.0)
        worst = max(worst, float(diff.max(initial=0.0)))
        for i in np.flatnonzero(sets | (diff > ATOL))[:3]:
            only = np.argwhere((got[i] != 0) != (expected[i] != 0))[:4].tolist()
            failures.append(f"  box {config['boxes'][i].tolist()} stride {config['stride']} pool {config['pool']} "
                            f"ratio {config['ratio']} map {config['map_h']}x{config['map_w']}: cells in one only "
                            f"{only}, max |difference| {diff[i]:.3g}")
    assert not failures, f"{method} vs {label}: {len(failures)}+ boxes differ:\n" + "\n".join(failures[:10])
    return boxes, worst


# --- OpenVINO ROIAlign-9 --------------------------------------------------------------------------

ov = pytest.importorskip("openvino")
OV_MODES = {"half_pixel": "roialign-openvino", "half_pixel_for_nn": "roialign", "asymmetric": "roialign-legacy"}


def openvino(mode):
    from openvino import opset9 as ops

    core = ov.Core()
    compiled = {}

    def run(config):
        h, w, pool = config["map_h"], config["map_w"], config["pool"]
        key = (h, w, pool, config["ratio"], config["stride"])
        if key not in compiled:
            x = ops.parameter([1, h * w, h, w], np.float32, name="X")
            rois = ops.parameter([-1, 4], np.float32, name="rois")
            batch = ops.parameter([-1], np.int32, name="batch")
            node = ops.roi_align(x, rois, batch, pooled_h=pool[0], pooled_w=pool[1], sampling_ratio=config["ratio"],
                                 spatial_scale=float(np.float32(1.0 / config["stride"])), mode="avg",
                                 aligned_mode=mode)
            compiled[key] = core.compile_model(ov.Model([node], [x, rois, batch]), "CPU",
                                               {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1})
        boxes = config["boxes"].astype(np.float32)
        out = compiled[key]([np.eye(h * w, dtype=np.float32).reshape(1, h * w, h, w), boxes,
                             np.zeros(len(boxes), np.int32)])[0]
        return out.reshape(len(boxes), h, w, pool[0], pool[1]).transpose(0, 3, 4, 1, 2).astype(np.float64)
    return run


@pytest.mark.parametrize("mode", list(OV_MODES))
def test_openvino_roialign9_reads_what_roiloss_says(mode):
    boxes, worst = assert_same(CONFIGS, OV_MODES[mode], openvino(mode), f"OpenVINO {ov.__version__} {mode}")
    assert boxes >= 2000
    print(f"OpenVINO ROIAlign-9 {mode} == {OV_MODES[mode]}: {boxes} boxes, max |difference| {worst:.2e}")


def test_openvino_half_pixel_is_not_roialign():
    """half_pixel is the one mode no other method covers: (x + 0.5)*s - 0.5 reads other weights."""
    config = next(c for c in CONFIGS if c["stride"] <= 8 and c["ratio"] == 2)
    got = openvino("half_pixel")(config)
    aligned = ours(config, "roialign")
    assert (np.abs(got - aligned).max(axis=(1, 2, 3, 4)) > 1e-3).mean() > 0.5


# --- TensorFlow crop_and_resize -------------------------------------------------------------------

tf = pytest.importorskip("tensorflow")


def crop_and_resize(matterport):
    def run(config):
        h, w, pool, stride = config["map_h"], config["map_w"], config["pool"], config["stride"]
        x1, y1, x2, y2 = config["boxes"].T
        big_w, big_h = w * stride, h * stride  # the model's image: a whole number of cells
        if matterport:  # mrcnn/utils.py norm_boxes, float64, then float32
            norm = np.stack([y1 / (big_h - 1), x1 / (big_w - 1), (y2 - 1) / (big_h - 1), (x2 - 1) / (big_w - 1)], 1)
        else:  # TF OD API to_normalized_coordinates, in float32
            f = np.float32
            norm = np.stack([y1.astype(f) / f(big_h), x1.astype(f) / f(big_w), y2.astype(f) / f(big_h),
                             x2.astype(f) / f(big_w)], 1)
        image = np.eye(h * w, dtype=np.float32).reshape(1, h, w, h * w)
        out = tf.image.crop_and_resize(image, norm.astype(np.float32), np.zeros(len(norm), np.int32), list(pool),
                                       method="bilinear", extrapolation_value=0.0).numpy()
        return out.reshape(len(norm), pool[0], pool[1], h, w).astype(np.float64)
    return run


@pytest.mark.parametrize("method", ["crop-and-resize", "crop-and-resize-mrcnn"])
def test_tensorflow_crop_and_resize_reads_what_roiloss_says(method):
    boxes, worst = assert_same(CONFIGS, method, crop_and_resize(method.endswith("mrcnn")),
                               f"TensorFlow {tf.__version__}")
    assert boxes >= 2000
    print(f"tf.image.crop_and_resize == {method}: {boxes} boxes, max |difference| {worst:.2e}")


# --- PrRoIPool against dense quadrature -----------------------------------------------------------


def prroipool_quadrature(box, stride, pool, map_h, map_w, points=4000):
    """Midpoint rule over each bin of the bilinear surface of every one-hot map (zero outside the
    map, cell values at integer index coordinates), divided by the bin area; float64."""
    def axis(lo, hi, bins, cells):
        t0, t1 = lo / stride, hi / stride
        size = max(t1 - t0, 0.0) / bins
        out = np.zeros((bins, cells))
        if size == 0:
            return out
        for p in range(bins):
            u = t0 + p * size + (np.arange(points) + 0.5) * size / points
            hats = np.maximum(0.0, 1.0 - np.abs(u[:, None] - np.arange(cells)[None, :]))
            out[p] = hats.mean(axis=0)  # the integral / the bin's length
        return out
    ay = axis(box[1], box[3], pool[0], map_h)
    ax = axis(box[0], box[2], pool[1], map_w)
    return ay[:, None, :, None] * ax[None, :, None, :]


def test_prroipool_equals_a_dense_integration():
    configs = [c for c in configurations(20261305, count=30, boxes_per_config=10)]
    checked = 0
    for config in configs:
        got = ours(config, "prroipool", arithmetic="exact")
        for i, box in enumerate(config["boxes"]):
            expected = prroipool_quadrature(box, config["stride"], config["pool"], config["map_h"], config["map_w"])
            np.testing.assert_allclose(got[i], expected, rtol=0, atol=1e-6, err_msg=f"{box} {config}")
            checked += 1
    assert checked == 300


def test_prroipool_worked_example():
    """Box (0.5, 0.5, 2.5, 2.5) at stride 1, one bin, 4 x 4 map: per-axis weights 1/16, 7/16, 7/16, 1/16."""
    cells = roiloss.coefficients([(0.5, 0.5, 2.5, 2.5)], method="prroipool", stride=1, pool=1, image_size=(4, 4))
    weights = cells.pivot(index="cell_y", columns="cell_x", values="weight").to_numpy()
    np.testing.assert_allclose(weights, np.outer([1, 7, 7, 1], [1, 7, 7, 1]) / 256, atol=1e-7)
