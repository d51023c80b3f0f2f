"""TensorRT has no CPU runtime: hand-computed cases transcribed from the plugin source.

NVIDIA/TensorRT ``plugin/common/kernels/maskRCNNKernels.cu`` @d3107c88 (``roiAlign_kernel``: level by
``hw > threshold``, ``threshold *= 4``; ``yStart = y1 * dims - inputOffset`` for transforms 0/1/2,
``y1 * (dims - 1)`` for -1; ``ySample = yStart + yDelta * yy + yDelta * (iy + samplingOffset) / ratio``;
``min(max(ySample, 0), dims - 1)``), ``plugin/pyramidROIAlignPlugin/pyramidROIAlignPlugin.cpp`` @771d8efd
(``firstThreshold = normScale^2 / 4``, ``normScale = sqrtf(fpn_scale^2 / (H * W))``),
``samples/python/detectron2/create_onnx.py`` @771d8efd (ROIAlignV2 -> transform 2, ROIAlign -> 0,
``image_size`` 1344 x 1344, ``roi_coords_absolute = 0``), ``plugin/roiAlignPlugin/roiAlignKernel.cu``
@6d178ce8 (``ROIAlign_TRT``: ``count = gh * gw`` without ``max(., 1)``).
"""

import numpy as np
import pytest

import roiloss
from roiloss.geometry import Geometry
from roiloss.methods_tensorrt import pyramid_axis, roialign_tensorrt

IMAGE = 1344  # NVIDIA's Detectron2 sample: every input padded to 1344 x 1344


def per_axis(transform, lo, hi, bins=2, ratio=2, stride=4, length=IMAGE // 4, arithmetic="exact"):
    """Hand computations in exact arithmetic; float32 moves n * M off whole numbers (see below)."""
    ax = pyramid_axis(np.array([lo], float), np.array([hi], float), bins, np.array([float(length)]),
                      Geometry(stride=stride, pool=bins, sampling_ratio=ratio, arithmetic=arithmetic), transform)
    e = ax.entries()
    out = {}
    for b, c, w in zip(e.bin, e.cell, e.weight):
        out.setdefault(int(b), {})[int(c)] = float(w)
    return out


def assert_weights(got, expected):
    assert set(got) == set(expected)
    for b in expected:
        assert set(got[b]) == set(expected[b]), (b, got[b], expected[b])
        for c, w in expected[b].items():
            assert got[b][c] == pytest.approx(w, abs=1e-6), (b, c)


# box x 8..24 px at stride 4 on the 336-cell P2 of a 1344-px input: n * M = 2 and 6
def test_transform_2_half_pixel():
    # start 1.5, end 5.5, delta 2; samples 1.5 + 2 * (k + 0.5) / 2: 2, 3 | 4, 5
    assert_weights(per_axis(2, 8, 24), {0: {2: 0.5, 3: 0.5}, 1: {4: 0.5, 5: 0.5}})


def test_float32_normalisation_is_not_exact():
    """8 / 1344 in float32, times 336, is 2.0000002: a sample lands an ulp past cell 3 and reads cell 4."""
    got = per_axis(2, 8, 24, arithmetic="float32")
    assert got[0][4] == pytest.approx(1.19e-7, rel=0.01) and got[0][2] == 0.5


def test_transform_1_output_half_pixel():
    # start 2, delta 2; samples 2.5, 3.5 | 4.5, 5.5
    assert_weights(per_axis(1, 8, 24), {0: {2: 0.25, 3: 0.5, 4: 0.25}, 1: {4: 0.25, 5: 0.5, 6: 0.25}})


def test_transform_0_samples_bin_corners():
    # start 2, delta 2; samples 2 + 2 * k / 2: 2, 3 | 4, 5 - the first on the bin's corner
    assert_weights(per_axis(0, 8, 24), {0: {2: 0.5, 3: 0.5}, 1: {4: 0.5, 5: 0.5}})
    # and one sample per bin: exactly the corners 2 and 4
    assert_weights(per_axis(0, 8, 24, ratio=1), {0: {2: 1.0}, 1: {4: 1.0}})


def test_transform_minus_1_align_corners():
    start, end = 8 / 1344 * 335, 24 / 1344 * 335
    delta = (end - start) / (2 - 1)
    samples = [start, start + delta / 2, start + delta, start + delta + delta / 2]
    expected = {}
    for i, t in enumerate(samples):
        lo = int(np.floor(t))
        cells = expected.setdefault(i // 2, {})
        cells[lo] = cells.get(lo, 0) + (1 - (t - lo)) / 2
        cells[lo + 1] = cells.get(lo + 1, 0) + (t - lo) / 2
    assert_weights(per_axis(-1, 8, 24), expected)


def test_transform_minus_1_with_one_bin_reads_cell_0():
    # delta = (end - start) / 0: NaN or inf positions, clamped by fmaxf/fminf to 0
    assert_weights(per_axis(-1, 8, 24, bins=1, ratio=1), {0: {0: 1.0}})


def test_box_clamped_to_the_image_and_samples_into_the_map():
    # box from -50 px: normalised and clamped to 0, start = -0.5, end = 1.5, 4 samples:
    # -0.25 -> clamped to 0, 0.25, 0.75, 1.25
    assert_weights(per_axis(2, -50, 8, bins=1, ratio=4), {0: {0: 0.5, 1: 0.4375, 2: 0.0625}})
    # roialign (ONNX, no clamping of the box) starts at -13: nearly every sample is off the map
    onnx = roiloss.coefficients([(-50, 0, 8, 4)], method="roialign", stride=4, pool=(1, 1), sampling_ratio=4,
                                image_size=(IMAGE, IMAGE))
    assert onnx["weight"].sum() < 0.3


def test_samples_clamped_at_the_map_edge():
    # x 1330..1400 px: n2 clamped to 1, end = 336 - 0.5 = 335.5, start 332; delta 1.75 (2 bins), 2 samples:
    # 332.4375, 333.3125 | 334.1875, 335.0625 -> clamped to 335 (the last cell)
    got = per_axis(2, 1330, 1400)
    assert_weights(got, {0: {332: 0.28125, 333: 0.5625, 334: 0.15625}, 1: {334: 0.40625, 335: 0.59375}})


@pytest.mark.parametrize("side, level", [(111, 2), (112, 2), (112.5, 3), (224, 3), (224.5, 4), (448, 4), (449, 5)])
def test_level_thresholds_are_strict(side, level):
    pyramid = roiloss.Pyramid(mapper="tensorrt")
    for x0 in (0.0, 100.0, 333.5):
        k = pyramid.assign([x0], [x0], [x0 + side], [x0 + side], image_w=[IMAGE], image_h=[IMAGE])
        assert k.tolist() == [level], (side, x0)


def test_112_stays_on_p2_where_torchvision_says_p3():
    boxes = [(0, 0, 112, 112)]
    trt = roiloss.Pyramid(mapper="tensorrt").assign([0], [0], [112], [112], image_w=[IMAGE], image_h=[IMAGE])
    tv = roiloss.Pyramid(mapper="torchvision").assign(*np.array(boxes, float).T)
    assert (trt.tolist(), tv.tolist()) == ([2], [3])


def test_roialign_tensorrt_zero_size_box_reads_nothing():
    """count = 0 (adaptive, L = 0): the plugin divides 0 by 0 (NaN); roiloss lists no coefficients."""
    ax = roialign_tensorrt(np.array([40.0]), np.array([40.0]), 7, np.array([100.0]), Geometry(stride=8, sampling_ratio=0))
    assert ax.g == 0 and len(ax.entries().weight) == 0
    fixed = roialign_tensorrt(np.array([40.0]), np.array([40.0]), 7, np.array([100.0]), Geometry(stride=8, sampling_ratio=2))
    assert fixed.g == 2 and np.allclose(np.bincount(fixed.entries().bin, fixed.entries().weight), 1.0)


def test_preset_mirrors_nvidias_detectron2_sample():
    preset = roiloss.PRESETS["tensorrt-detectron2"]
    assert (preset.method, preset.sampling_ratio, preset.pool_box, preset.pool_mask) == ("trt-pyramid", 0, 7, 14)
    assert preset.pyramid.mapper == "tensorrt" and preset.resize.pad_divisor == IMAGE
    rows = roiloss.analyze([(10, 10, 122, 122)], preset="tensorrt-detectron2", image_size=(640, 480))
    assert rows.loc[0, "model_width"] == 1067 and rows.loc[0, "level"] == 3  # 112 px * 800/480 > 112
