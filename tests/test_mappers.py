"""Level mappers in the frameworks' float32 arithmetic and in exact arithmetic (docs/semantics.md §7, §9).

Expected levels are worked out by hand from each framework's formula (comments give the steps);
the float32 sweeps compare with the formulas transcribed here in numpy float32, in the source's
order of operations.
"""

import numpy as np
import pytest

from roiloss.pyramid import Pyramid

F = np.float32


def level(mapper, side_w, side_h=None, arithmetic="float32", image=None):
    side_h = side_w if side_h is None else side_h
    p = Pyramid(mapper=mapper)
    image_w = image_h = None if image is None else np.array([float(image)])
    return int(p.assign(np.array([0.0]), np.array([0.0]), np.array([side_w]), np.array([side_h]), arithmetic,
                        image_w, image_h)[0])


# square side -> level, docs/semantics.md §7.2 (matterport is in its own test: it needs the image)
BOUNDARIES = [
    (111.99, {"torchvision": 2, "detectron2": 2, "mmdet": 2}),
    (112.0, {"torchvision": 3, "detectron2": 3, "mmdet": 3}),
    (158.5, {"torchvision": 3, "detectron2": 3, "mmdet": 3}),
    (223.9999, {"torchvision": 4, "detectron2": 3}),
    (224.0, {"torchvision": 4, "detectron2": 4, "mmdet": 4}),
    (448.0, {"torchvision": 5, "detectron2": 5, "mmdet": 5}),
]


@pytest.mark.parametrize("arithmetic", ["float32", "exact"])
def test_boundary_table_in_both_arithmetics(arithmetic):
    for side, expected in BOUNDARIES:
        for mapper, k in expected.items():
            assert level(mapper, side, arithmetic=arithmetic) == k, (mapper, side, arithmetic)


def test_torchvision_float32_flips_a_side_just_below_112():
    # 111.99991607 / 224 = 0.49999962; log2 = -1.0000011; 4 + that = 2.9999989; + 1e-6 = 2.9999999,
    # which float32 rounds to 3.0 (spacing 2.4e-7): P3. In exact arithmetic floor(2.9999999) = 2.
    assert level("torchvision", 111.99991607, arithmetic="float32") == 3
    assert level("torchvision", 111.99991607, arithmetic="exact") == 2


def test_epsilon_placement_separates_torchvision_and_detectron2():
    # 112 x 111.9999: side 111.99995, ratio 0.49999978, log2 = -1.00000064. torchvision adds 1e-6
    # after the log: 3.00000036 -> P3. Detectron2 adds 1e-8 to the ratio (absorbed in float32): P2.
    assert level("torchvision", 112.0, 111.9999) == 3
    assert level("detectron2", 112.0, 111.9999) == 2
    assert level("mmdet", 112.0, 111.9999) == 3  # log2(1.9999991 + 1e-6) = log2(2.0000001) -> 1 -> P3


def test_maskrcnn_benchmark_adds_one_pixel_per_side():
    # BoxList.area is (w + 1)(h + 1): a 223-px square has side 224 there -> P4 (P3 elsewhere);
    # 111 px -> 112 -> P3
    assert level("maskrcnn-benchmark", 223.0) == 4 and level("torchvision", 223.0) == 3
    assert level("maskrcnn-benchmark", 111.0) == 3 and level("torchvision", 111.0) == 2


def test_matterport_normalises_boxes_by_the_image_and_rounds_half_to_even():
    # in a 1024 x 1024 model image, a square of side s has normalised side (s - 1) / 1023 and
    # level 4 + round(log2((s - 1) / 1023 * 1024 / 224)); the .5 boundaries sit at s = 80.08 and
    # s = 159.16 (not at 79.2 and 158.4 as without the normalisation)
    assert level("matterport", 158.5, image=1024) == 3
    assert level("matterport", 160.0, image=1024) == 4
    assert level("matterport", 80.0, image=1024) == 2
    assert level("matterport", 81.0, image=1024) == 3
    assert level("matterport", 224.0, image=1024) == 4
    assert level("matterport", 2000.0, image=1024) == 5
    with pytest.raises(ValueError, match="image size"):
        Pyramid(mapper="matterport").assign(np.array([0.0]), np.array([0.0]), np.array([10.0]), np.array([10.0]))


def transcribed(mapper, w, h):
    """The frameworks' formulas in float32, in their order of operations."""
    w, h = F(w), F(h)
    if mapper == "torchvision":
        return np.floor(F(4) + np.log2(np.sqrt(w * h) / F(224)) + F(1e-6))
    if mapper == "detectron2":
        return np.floor(F(4) + np.log2(np.sqrt(w * h) / F(224) + F(1e-8)))
    if mapper == "maskrcnn-benchmark":
        return np.floor(F(4) + np.log2(np.sqrt((w + F(1)) * (h + F(1))) / F(224) + F(1e-6)))
    return F(2) + np.floor(np.log2(np.sqrt(w * h) / F(56) + F(1e-6)))


@pytest.mark.parametrize("mapper", ["torchvision", "detectron2", "maskrcnn-benchmark", "mmdet"])
def test_float32_sweep_within_1e4_px_of_each_boundary(mapper):
    differ = 0
    for boundary in (112.0, 224.0, 448.0):
        centre = boundary - (1.0 if mapper == "maskrcnn-benchmark" else 0.0)
        sides = np.unique(np.linspace(centre - 1e-4, centre + 1e-4, 801).astype(F))
        for w in sides[::20]:
            hs = sides
            got = Pyramid(mapper=mapper).assign(np.zeros(len(hs)), np.zeros(len(hs)), np.full(len(hs), float(w)),
                                                hs.astype(float))
            want = np.clip(transcribed(mapper, np.full(len(hs), w), hs), 2, 5).astype(int)
            np.testing.assert_array_equal(got, want)
            exact = Pyramid(mapper=mapper).assign(np.zeros(len(hs)), np.zeros(len(hs)), np.full(len(hs), float(w)),
                                                  hs.astype(float), "exact")
            differ += int((exact != got).sum())
    if mapper in ("torchvision", "mmdet"):
        assert differ > 0  # float32 really decides some of these boxes differently
