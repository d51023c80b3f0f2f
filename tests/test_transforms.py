"""The model's input transform (docs/semantics.md §8): each framework's resize, padding and box
arithmetic, hand-computed from its source rules, and end to end against ONNX Runtime.

Expected sizes were computed by hand from the rules as the sources state them (H x W in the
comments is the frameworks' order; roiloss takes W x H):

* torchvision 0.29 ``transform.py``: ``s = min(800 / short, 1333 / long)`` (double),
  ``new = floor(side * s)``; boxes times ``float32(new) / float32(old)`` in float32; pad ``ceil(/32)*32``.
* Detectron2 ``ResizeShortestEdge``: short side 800, the other ``s * side``, scaled down if over
  1333; ``int(x + 0.5)``.
* mmcv ``rescale_size``: ``f = min(1333 / long, 800 / short)``, ``int(side * f + 0.5)``.
* maskrcnn-benchmark ``Resize.get_size``: ``round(1333 * short / long)`` when needed, the long
  side ``int(size * long / short)``.
* Fast R-CNN ``prep_im_for_blob``: ``s = 600 / short`` (``1000 / long`` if ``round(s * long) > 1000``),
  OpenCV ``cvRound(side * s)`` (half to even).
* Matterport ``resize_image`` square: ``s = max(1, 800 / short)``, ``1024 / long`` if
  ``round(long * s) > 1024``, sides ``round(side * s)``, centred in 1024 x 1024.
"""

import math

import numpy as np
import pytest
import reference

import roiloss
from roiloss.transforms import Resize

SHAPES = [(640, 480), (2000, 500), (37, 1500), (4000, 3000), (1000, 600)]  # W x H

# W x H -> (new W, new H, padded W, padded H), per framework
EXPECTED = {
    "torchvision": [(1066, 800, 1088, 800), (1333, 333, 1344, 352), (32, 1333, 32, 1344), (1066, 800, 1088, 800),
                    (1333, 799, 1344, 800)],
    "detectron2": [(1067, 800, 1088, 800), (1333, 333, 1344, 352), (33, 1333, 64, 1344), (1067, 800, 1088, 800),
                   (1333, 800, 1344, 800)],
    "mmdet": [(1067, 800, 1088, 800), (1333, 333, 1344, 352), (33, 1333, 64, 1344), (1067, 800, 1088, 800),
              (1333, 800, 1344, 800)],
    "maskrcnn-benchmark": [(1066, 800, 1088, 800), (1332, 333, 1344, 352), (33, 1337, 64, 1344), (1066, 800, 1088, 800),
                           (1333, 800, 1344, 800)],
}


def frame_of(rule, w, h, x=(0.0, 0.0, None, None), **kwargs):
    x1, y1, x2, y2 = x
    x2 = float(w) if x2 is None else x2
    y2 = float(h) if y2 is None else y2
    resize = Resize(rule, **kwargs)
    return resize.frame(*(np.array([v], dtype=float) for v in (x1, y1, x2, y2, w, h)))


@pytest.mark.parametrize("rule", list(EXPECTED))
def test_fpn_resize_sizes_and_padding(rule):
    for (w, h), expected in zip(SHAPES, EXPECTED[rule]):
        f = frame_of(rule, w, h, short=(800,), max_size=1333, pad_divisor=32)
        got = tuple(int(v[0]) for v in (f.width, f.height, f.padded_width, f.padded_height))
        assert got == expected, (rule, w, h)


def test_torchvision_box_arithmetic_is_float32_per_axis_ratio():
    f = frame_of("torchvision", 640, 480, x=(100.3, 33.7, 517.9, 401.1), short=(800,), max_size=1333, pad_divisor=32)
    ratio_x = np.float32(1066) / np.float32(640)
    ratio_y = np.float32(800) / np.float32(480)
    assert f.x1[0] == float(np.float32(100.3) * ratio_x)
    assert f.y2[0] == float(np.float32(401.1) * ratio_y)
    assert f.scale_x[0] == float(ratio_x) and f.scale_y[0] == float(ratio_y)
    assert f.x1[0] != 100.3 * 1066 / 640  # the float32 product differs from the exact one here


def test_detectron2_box_arithmetic_is_a_double_product_stored_as_float32():
    f = frame_of("detectron2", 640, 480, x=(100.3, 33.7, 517.9, 401.1), short=(800,), max_size=1333, pad_divisor=32)
    assert f.x1[0] == float(np.float32(100.3 * (1067 / 640)))
    assert f.y1[0] == float(np.float32(33.7 * (800 / 480)))


def test_fast_rcnn_rounds_half_to_even_and_scales_both_axes_alike():
    # 480x640: s = 1.25 -> 600x800; 2000x500: s = 0.5 -> 1000x250; 37x1500: s = 2/3 -> 25x1000;
    # 4000x3000: s = 0.2 -> 800x600; 427x640: s = 600/427 -> 600x899 (899.297)
    cases = [((640, 480), (800, 600)), ((500, 2000), (250, 1000)), ((37, 1500), (25, 1000)),
             ((3000, 4000), (600, 800)), ((640, 427), (899, 600))]
    for (w, h), (nw, nh) in cases:
        f = frame_of("fast-rcnn", w, h, short=(600,), max_size=1000)
        assert (int(f.width[0]), int(f.height[0])) == (nw, nh)
        assert f.scale_x[0] == f.scale_y[0]
        assert f.padded_width[0] == nw  # no padding divisor
    # a .5 product rounds to even as OpenCV's cvRound does: 5 px at s = 0.5 -> 2, 7 px -> 4
    f = frame_of("fast-rcnn", 7, 5, short=2.5, max_size=1000)
    assert (int(f.width[0]), int(f.height[0])) == (4, 2)


def test_square_resize_centres_the_image_and_shifts_boxes():
    # 480x640: s = 1.6 -> 768x1024, top 128; 2000x500: s = 0.512 -> 1024x256, left 384;
    # 37x1500: s = 1024/1500 -> 25x1024, top 499; 4000x3000: s = 0.256 -> 1024x768, left 128
    cases = [((640, 480), (1024, 768, 0, 128)), ((500, 2000), (256, 1024, 384, 0)),
             ((1500, 37), (1024, 25, 0, 499)), ((3000, 4000), (768, 1024, 128, 0))]
    for (w, h), (nw, nh, left, top) in cases:
        f = frame_of("square", w, h, x=(10.0, 20.0, 30.0, 36.0), short=(800,), max_size=1024)
        assert (int(f.width[0]), int(f.height[0])) == (nw, nh)
        assert (f.padded_width[0], f.padded_height[0]) == (1024, 1024)
        scale = f.scale_x[0]
        assert f.x1[0] == pytest.approx(10 * scale + left) and f.y1[0] == pytest.approx(20 * scale + top)


def test_fixed_resize_ignores_the_ratio():
    f = frame_of("fixed", 640, 480, x=(64.0, 48.0, 320.0, 240.0), size=(800, 800))
    assert (f.width[0], f.height[0]) == (800, 800)
    assert f.x1[0] == 80 and f.y1[0] == 80 and f.x2[0] == 400 and f.y2[0] == 400


def test_exact_arithmetic_scales_boxes_in_float64():
    resize = Resize("torchvision", short=(800,), max_size=1333, pad_divisor=32)
    f = resize.frame(*(np.array([v]) for v in (100.3, 0.0, 200.0, 10.0, 640.0, 480.0)), arithmetic="exact")
    assert f.x1[0] == 100.3 * (1066 / 640)


def test_unknown_image_size_is_a_flagged_row_under_a_resize():
    rows = roiloss.analyze([(10, 10, 50, 50)], preset="torchvision")
    assert rows["flags"].iat[0].startswith("invalid:image size unknown")
    assert np.isnan(rows["lost_frac"].iat[0])
    assert len(roiloss.analyze([(10, 10, 50, 50)], preset="torchvision", resize="none")) == 1


def test_presets_carry_their_transform_and_explicit_options_win():
    s = roiloss.resolve(preset="torchvision")
    assert (s.resize.rule, s.resize.short, s.resize.max_size, s.resize.pad_divisor) == ("torchvision", (800,), 1333, 32)
    assert roiloss.resolve(preset="fast-rcnn").resize.short == (600,)
    assert roiloss.resolve(preset="mnc").resize.max_size == 1000
    assert not roiloss.resolve(preset="torchvision", resize="none").resize.active
    assert roiloss.resolve(preset="detectron2", min_size=640).resize.short == (640,)
    assert roiloss.resolve(preset="mmdet", pad_divisor=0).resize.pad_divisor == 0
    assert "resize torchvision short 800 max 1333, pad to /32" in s.describe()


def test_multi_scale_analyses_every_box_at_each_short_side():
    boxes = [(10, 20, 110, 220), (300, 100, 500, 400)]
    rows = roiloss.analyze(boxes, semantics=roiloss.resolve(preset="detectron2", min_size="640-800:160"),
                           image_size=(640, 480))
    assert list(rows.short_side) == [640.0, 800.0, 640.0, 800.0]
    assert list(rows.roi_id) == [0, 0, 1, 1]
    single = roiloss.analyze(boxes, semantics=roiloss.resolve(preset="detectron2", min_size=640), image_size=(640, 480))
    np.testing.assert_allclose(rows[rows.short_side == 640].lost_frac, single.lost_frac)


def test_shift_is_reported_in_input_pixels():
    # roialign-legacy samples half a cell down-right: 8 px at stride 16 in the model's frame, which is
    # 8 / scale input pixels
    rows = roiloss.analyze([(100, 100, 300, 300)], methods="roialign-legacy", stride=16, image_size=(640, 480),
                           resize=Resize("fixed", size=(1280, 960)))
    assert rows.scale_x.iat[0] == 2.0
    assert rows.shift_px.iat[0] == pytest.approx(4.0)


# --- end to end: resize (as transcribed above) + level + ONNX Runtime's float32 RoiAlign ------------


def torchvision_frame(box, w, h):
    s = min(800 / min(w, h), 1333 / max(w, h))
    nw, nh = math.floor(w * s), math.floor(h * s)
    rx, ry = np.float32(nw) / np.float32(w), np.float32(nh) / np.float32(h)
    x1, y1, x2, y2 = (np.float32(v) for v in box)
    return (x1 * rx, y1 * ry, x2 * rx, y2 * ry), math.ceil(nw / 32) * 32, math.ceil(nh / 32) * 32


def detectron2_frame(box, w, h):
    scale = 800 / min(w, h)
    nh, nw = (800, scale * w) if h < w else (scale * h, 800)
    if max(nh, nw) > 1333:
        down = 1333 / max(nh, nw)
        nh, nw = nh * down, nw * down
    nw, nh = int(nw + 0.5), int(nh + 0.5)
    x1, y1, x2, y2 = box
    out = (np.float32(x1 * (nw / w)), np.float32(y1 * (nh / h)), np.float32(x2 * (nw / w)), np.float32(y2 * (nh / h)))
    return out, (nw + 31) // 32 * 32, (nh + 31) // 32 * 32


def mmdet_frame(box, w, h):
    f = min(1333 / max(w, h), 800 / min(w, h))
    nw, nh = int(w * f + 0.5), int(h * f + 0.5)
    rx, ry = np.float32(nw / w), np.float32(nh / h)
    x1, y1, x2, y2 = (np.float32(v) for v in box)
    return (x1 * rx, y1 * ry, x2 * rx, y2 * ry), math.ceil(nw / 32) * 32, math.ceil(nh / 32) * 32


def maskrcnn_benchmark_frame(box, w, h):
    size = 800
    short, long_ = min(w, h), max(w, h)
    if long_ / short * size > 1333:
        size = int(round(1333 * short / long_))
    if short == size:
        nw, nh = w, h
    elif w < h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    rx, ry = np.float32(nw / w), np.float32(nh / h)
    x1, y1, x2, y2 = (np.float32(v) for v in box)
    return (x1 * rx, y1 * ry, x2 * rx, y2 * ry), math.ceil(nw / 32) * 32, math.ceil(nh / 32) * 32


def mmdet_level(b):
    side = np.sqrt((b[2] - b[0]) * (b[3] - b[1]))
    return 2 + int(np.clip(np.floor(np.log2(side / np.float32(56) + np.float32(1e-6))), 0, 3))


def maskrcnn_benchmark_level(b):
    one = np.float32(1)
    side = np.sqrt((b[2] - b[0] + one) * (b[3] - b[1] + one))
    return int(np.clip(np.floor(np.float32(4) + np.log2(side / np.float32(224) + np.float32(1e-6))), 2, 5))


def torchvision_level(b):
    side = np.sqrt((b[2] - b[0]) * (b[3] - b[1]))
    k = np.floor(np.float32(4) + np.log2(side / np.float32(224)) + np.float32(1e-6))
    return int(np.clip(k, 2, 5))


def detectron2_level(b):
    side = np.sqrt((b[2] - b[0]) * (b[3] - b[1]))
    k = np.floor(np.float32(4) + np.log2(side / np.float32(224) + np.float32(1e-8)))
    return int(np.clip(k, 2, 5))


def separable_reference(boxes, map_h, map_w, pool, ratio, stride, aligned):
    """Coefficients ``(boxes, rows, cols, map_h, map_w)`` from ORT's float32 RoiAlign without a
    one-hot channel per cell (a full map at stride 4 has too many): row probes (channel i is 1 on
    row i) give ``Ry(p, i) * Vx(q)``, column probes ``Vy(p) * Rx(q, j)``, and their product divided
    by ``sum_i Ry(p, i) Vx(q) = Vy(p) Vx(q)`` is ``Ry(p, i) Rx(q, j)``."""
    rows = np.zeros((1, map_h, map_h, map_w), np.float32)
    rows[0, np.arange(map_h), np.arange(map_h), :] = 1
    cols = np.zeros((1, map_w, map_h, map_w), np.float32)
    cols[0, np.arange(map_w), :, np.arange(map_w)] = 1
    by_row = reference.roi_align_map(rows, boxes, pool, ratio, stride, aligned)  # (n, map_h, P, Q)
    by_col = reference.roi_align_map(cols, boxes, pool, ratio, stride, aligned)  # (n, map_w, P, Q)
    mass = by_row.sum(axis=1)  # (n, P, Q)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = by_row[:, :, None, :, :] * by_col[:, None, :, :, :] / mass[:, None, None, :, :]
    return np.nan_to_num(coef).transpose(0, 3, 4, 1, 2)


FRAMEWORKS = {
    # preset: (frame, level, aligned, sampling ratio)
    "torchvision": (torchvision_frame, torchvision_level, False, 2),
    "detectron2": (detectron2_frame, detectron2_level, True, 0),
    "mmdet": (mmdet_frame, mmdet_level, True, 0),
    "maskrcnn-benchmark": (maskrcnn_benchmark_frame, maskrcnn_benchmark_level, False, 2),
}
IMAGES = [(640, 480), (427, 640), (2000, 300), (300, 2000), (37, 1500), (4000, 3000), (1500, 1400), (24, 18)]


@pytest.mark.parametrize("preset", list(FRAMEWORKS))
def test_preset_reads_what_the_framework_reads_at_test_time(preset):
    """roiloss with a preset == the framework's resize, level mapper and float32 RoiAlign (ONNX
    Runtime) on the resized boxes and the padded feature map: same cells, weights within 1e-5."""
    to_frame, to_level, aligned, ratio = FRAMEWORKS[preset]
    rng = np.random.default_rng(7)
    checked = 0
    for w, h in IMAGES:
        n = 40
        x = np.sort(rng.uniform(-8, w + 8, (n, 2)), axis=1)
        y = np.sort(rng.uniform(-8, h + 8, (n, 2)), axis=1)
        boxes = np.round(np.stack([x[:, 0], y[:, 0], x[:, 1] + 0.5, y[:, 1] + 0.5], axis=1), 2)
        got = roiloss.coefficients(boxes, method="roialign" if aligned else "roialign-legacy", preset=preset,
                                   image_size=(w, h))
        frames = [to_frame(b, w, h) for b in boxes]
        levels = np.array([to_level(f[0]) for f in frames])
        _, pad_w, pad_h = frames[0]
        for level in np.unique(levels):
            index = np.flatnonzero(levels == level)
            stride = 2 ** int(level)
            map_w, map_h = math.ceil(pad_w / stride), math.ceil(pad_h / stride)
            rois = np.array([frames[i][0] for i in index], dtype=np.float32)
            expected = separable_reference(rois, map_h, map_w, (7, 7), ratio, stride, aligned)
            for k, i in enumerate(index):
                mine = got[got.roi_id == i]
                want = expected[k]
                cells = {tuple(c) for c in np.argwhere(want > 0)}
                assert {tuple(c) for c in mine[["bin_y", "bin_x", "cell_y", "cell_x"]].to_numpy(int)} == cells, \
                    (preset, (w, h), boxes[i], level)
                np.testing.assert_allclose(mine.weight, want[tuple(mine[["bin_y", "bin_x", "cell_y", "cell_x"]]
                                                                   .to_numpy(int).T)], atol=1e-5)
                checked += 1
    assert checked == 40 * len(IMAGES)
