"""The mask ceiling (docs/semantics.md §12): reference values from the formulas, the target's
resampling against ONNX Runtime, hand cases, segmentation forms, bad input, CLI = library."""

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, invoke
from pycocotools import mask as coco_mask
from reference import roi_align_map

import roiloss
from roiloss.mask_engine import Paste, Window, expanded_boxes
from roiloss.masks import detail, instances_of
from roiloss.segmentation import crop, mask_counts, rle_counts, to_counts

MASKS = ROOT / "tests" / "data" / "coco_val_masks.json"  # 97 COCO val2017 instances with segmentation, 1 crowd
CLASSIC = "roipool,roipool-floor,roiwarp,roialign,roialign-legacy"


# --- the definition, written out independently of roiloss ------------------------------------------

def area_average(mask, stride):
    """Step 1: the mask averaged over each stride x stride cell; pixels beyond the image are 0."""
    h, w = mask.shape
    rows, cols = -(-h // stride), -(-w // stride)
    padded = np.zeros((rows * stride, cols * stride))
    padded[:h, :w] = mask
    return padded.reshape(rows, stride, cols, stride).mean(axis=(1, 3))


def interpolate_axis(n_in, n_out):
    """torch.nn.functional.interpolate(mode="bilinear", align_corners=False) along one axis, float32
    (ATen UpSample.h: src = scale * (i + 0.5) - 0.5, at least 0; lambda = src - floor)."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = np.maximum(scale * (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), np.float32(0))
    lo = np.minimum(np.floor(src).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    lam = (src - lo).astype(np.float32)
    return lo, hi, np.float32(1) - lam, lam


def paste_masks_in_image(mask, box, im_h, im_w, padding=1):
    """torchvision/models/detection/roi_heads.py (pytorch/vision e1380cbd) expand_masks, expand_boxes,
    paste_mask_in_image, for one mask and one box, transcribed (float32 tensors)."""
    m = mask.shape[-1]
    scale = float(m + 2 * padding) / m                                     # expand_masks
    padded = np.pad(mask.astype(np.float32), padding)
    x1, y1, x2, y2 = (np.float32(v) for v in box)                         # expand_boxes
    w_half, h_half = (x2 - x1) * np.float32(.5) * np.float32(scale), (y2 - y1) * np.float32(.5) * np.float32(scale)
    x_c, y_c = (x2 + x1) * np.float32(.5), (y2 + y1) * np.float32(.5)
    b = np.array([x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half], dtype=np.float32).astype(np.int64)
    w, h = max(int(b[2] - b[0] + 1), 1), max(int(b[3] - b[1] + 1), 1)     # paste_mask_in_image
    ylo, yhi, h0, h1 = interpolate_axis(padded.shape[0], h)
    xlo, xhi, w0, w1 = interpolate_axis(padded.shape[1], w)
    resized = np.empty((h, w), dtype=np.float32)
    for y in range(h):  # ATen's 2-D kernel: h0 * (w0 * v00 + w1 * v01) + h1 * (w0 * v10 + w1 * v11)
        resized[y] = (h0[y] * (w0 * padded[ylo[y], xlo] + w1 * padded[ylo[y], xhi])
                      + h1[y] * (w0 * padded[yhi[y], xlo] + w1 * padded[yhi[y], xhi]))
    image = np.zeros((im_h, im_w), dtype=np.float32)
    x_0, x_1, y_0, y_1 = max(b[0], 0), min(b[2] + 1, im_w), max(b[1], 0), min(b[3] + 1, im_h)
    image[y_0:y_1, x_0:x_1] = resized[y_0 - b[1]:y_1 - b[1], x_0 - b[0]:x_1 - b[0]]
    return image


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def reference_ceiling(mask, box, stride, aligned, ratio=2, pool=14):
    features = area_average(mask, stride)
    pooled = roi_align_map(features[None, None], [box], (pool, pool), ratio, stride, aligned)[0, 0]
    return iou(mask, paste_masks_in_image(pooled, box, *mask.shape) >= 0.5)


def reference_target(mask, box, size=28):
    """project_masks_on_boxes: roi_align(masks, rois, (M, M), 1.) with its defaults (sampling_ratio=-1,
    aligned=False; torchvision/ops/roi_align.py), then the paste."""
    target = roi_align_map(mask[None, None].astype(np.float32), [box], (size, size), 0, 1, False)[0, 0]
    return iou(mask, paste_masks_in_image(target, box, *mask.shape) >= 0.5), target


def square(at, side=64, image=256):
    mask = np.zeros((image, image), dtype=bool)
    mask[at:at + side, at:at + side] = True
    return mask


# the issue's reference values (torchvision's roi_align and paste_masks_in_image, P = 14, ratio 2)
ISSUE = [(32, "roialign", 32, 0.873), (32, "roialign-legacy", 32, 0.534), (32, "roialign", 8, 0.991),
         (48, "roialign", 32, 0.614)]


@pytest.mark.parametrize("at,method,stride,expected", ISSUE)
def test_issue_reference_values_from_the_formulas(at, method, stride, expected):
    mask = square(at)
    box = [at, at, at + 64, at + 64]
    assert round(reference_ceiling(mask, box, stride, method == "roialign"), 3) == expected
    rows = roiloss.mask_ceiling([mask], methods=method, stride=stride, sampling_ratio=2)
    assert rows.mask_ceiling[0] == pytest.approx(reference_ceiling(mask, box, stride, method == "roialign"), abs=1e-9)
    assert round(rows.mask_ceiling[0], 3) == expected


def test_issue_target_resolution_value():
    for at in (32, 48):
        value, _ = reference_target(square(at), [at, at, at + 64, at + 64])
        assert round(value, 3) == 0.970
        rows = roiloss.mask_ceiling([square(at)], methods="roialign", stride=32)
        assert rows.target_ceiling[0] == pytest.approx(value, abs=1e-9)


def _target_of(mask, box):
    """roiloss's target (the 28 x 28 pooled mask) for one instance, through the engine's detail."""
    data = instances_of(pd.DataFrame([{"x1": box[0], "y1": box[1], "x2": box[2], "y2": box[3]}]), [mask])
    semantics = roiloss.resolve(methods="roialign", stride=16, pool=14)
    return detail(data.table, data.segments, semantics)["target"]


@pytest.mark.parametrize("box", [(32, 32, 96, 96), (10.5, 7.25, 200.75, 63.5), (0, 0, 256, 256), (200, 180, 270, 300),
                                 (3, 3, 9, 40)])
def test_target_equals_onnx_roialign_on_hand_built_masks(box):
    mask = np.zeros((256, 256), dtype=bool)
    mask[40:120, 20:90] = True
    mask[150:160, :] = True
    mask[5:30, 5:8] = True
    _, expected = reference_target(mask, list(box))
    assert np.allclose(_target_of(mask, box), expected, atol=2e-6)


def test_target_equals_onnx_roialign_on_random_masks():
    rng = np.random.default_rng(5)
    for _ in range(12):
        h, w = rng.integers(40, 200, 2)
        mask = rng.random((h, w)) < rng.uniform(0.2, 0.8)
        x1, y1 = rng.uniform(0, w - 5), rng.uniform(0, h - 5)
        box = [x1, y1, min(x1 + rng.uniform(1, 150), w), min(y1 + rng.uniform(1, 150), h)]
        _, expected = reference_target(mask, box)
        assert np.allclose(_target_of(mask, box), expected, atol=2e-6)


# --- hand cases --------------------------------------------------------------------------------------

def test_one_pixel_line_has_a_ceiling_near_zero():
    line = np.zeros((256, 256), dtype=bool)
    line[100, 20:220] = True
    rows = roiloss.mask_ceiling([line], methods=CLASSIC, stride=16)
    assert (rows.mask_ceiling < 0.05).all()


def test_shift_by_whole_strides_changes_no_ceiling():
    rng = np.random.default_rng(3)
    base = np.zeros((320, 320), dtype=bool)
    base[37:141, 53:119] = rng.random((104, 66)) < 0.8
    base[60:90, 100:170] = True
    shifted = np.roll(base, (64, 32), axis=(0, 1))  # two and one strides of 32
    for semantics in (dict(stride=32), dict(stride=16, pool=7), dict(pyramid=roiloss.Pyramid(levels=(4, 5)))):
        a = roiloss.mask_ceiling([base], methods=CLASSIC, **semantics)
        b = roiloss.mask_ceiling([shifted], methods=CLASSIC, **semantics)
        assert np.array_equal(a.mask_ceiling, b.mask_ceiling)
        assert np.array_equal(a.target_ceiling, b.target_ceiling)


def test_the_mask_is_resampled_in_the_models_frame():
    """Twice the image at twice the stride: the same grid in input pixels, the same ceilings."""
    mask = np.zeros((200, 300), dtype=bool)
    mask[30:130, 40:250] = True
    mask[60:80, 90:200] = False
    plain = roiloss.mask_ceiling([mask], methods=CLASSIC, stride=16)
    scaled = roiloss.mask_ceiling([mask], methods=CLASSIC, stride=32, resize="fixed:600x400")
    assert np.allclose(plain.mask_ceiling, scaled.mask_ceiling, atol=1e-12)
    assert (scaled.scale_x == 2).all() and (scaled.model_width == 600).all()


def test_presets_and_pyramids_run_in_the_models_frame():
    rows = roiloss.mask_ceiling(MASKS, preset="torchvision", methods="roipool,roialign-legacy")
    assert set(rows.level.dropna()) <= {2, 3, 4, 5} and rows.pool.iat[0] == "14x14"
    measured = rows[rows["flags"] == ""]
    assert len(measured) and measured.mask_ceiling.between(0, 1).all() and measured.target_ceiling.between(0, 1).all()


def test_analytic_paste_counts_equal_the_raster():
    rng = np.random.default_rng(0)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(20, 200, 2))
        x1, y1 = rng.uniform(-20, w), rng.uniform(-20, h)
        box = expanded_boxes([x1], [y1], [x1 + rng.uniform(0.5, 150)], [y1 + rng.uniform(0.5, 150)], 14)[0]
        paste = Paste.of(box, 14, 14, h, w)
        q = rng.random((2, 14, 14)).astype(np.float32)
        mask = (rng.random((h, w)) < 0.5).astype(np.uint8)
        area, inter = paste.areas(q, Window(mask, 0, 0).column_sums, 0, 0)
        raster = paste.mask(q)
        inside = mask[paste.y0:paste.y1, paste.x0:paste.x1].astype(bool)
        assert np.array_equal(area, raster.sum(axis=(1, 2)))
        assert np.array_equal(inter, (raster & inside).sum(axis=(1, 2)))


# --- segmentations -------------------------------------------------------------------------------------

def test_segmentations_decode_as_pycocotools_does():
    coco = json.loads(MASKS.read_text())
    sizes = {i["id"]: (i["height"], i["width"]) for i in coco["images"]}
    for a in coco["annotations"]:
        h, w = sizes[a["image_id"]]
        counts, why = to_counts(a["segmentation"], h, w)
        assert why == ""
        segmentation = a["segmentation"]
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, h, w)) if isinstance(segmentation, list) \
            else coco_mask.frPyObjects(segmentation, h, w)
        full = coco_mask.decode(rle)
        x, y, bw, bh = a["bbox"]
        x0, y0, x1, y1 = max(int(x) - 3, 0), max(int(y) - 2, 0), min(int(x + bw) + 4, w), min(int(y + bh) + 5, h)
        assert np.array_equal(crop(counts, h, x0, x1, y0, y1), full[y0:y1, x0:x1])
        assert np.array_equal(rle_counts(coco_mask.encode(np.asfortranarray(full))["counts"]), counts)
        assert np.array_equal(mask_counts(full), counts)


def _coco(path, segmentations, size=(120, 160)):
    h, w = size
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": bbox, "iscrowd": crowd, "segmentation": s}
            for i, (s, bbox, crowd) in enumerate(segmentations)]
    path.write_text(json.dumps({"images": [{"id": 1, "width": w, "height": h}], "annotations": anns,
                                "categories": [{"id": 1, "name": "thing"}]}))
    return path


def test_polygons_and_rle_of_the_same_mask_give_the_same_ceilings(tmp_path):
    polygon = [[20, 30, 90, 30, 110, 70, 60, 100, 25, 80]]
    mask = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygon, 120, 160)))
    compressed = coco_mask.encode(np.asfortranarray(mask))
    bbox = coco_mask.toBbox(compressed).tolist()
    path = _coco(tmp_path / "forms.json", [
        (polygon, bbox, 0),
        ({"size": [120, 160], "counts": [int(v) for v in mask_counts(mask)]}, bbox, 1),  # crowd, uncompressed
        ({"size": [120, 160], "counts": compressed["counts"].decode()}, bbox, 0),
    ])
    rows = roiloss.mask_ceiling(path, methods=CLASSIC, stride=16)
    per_form = rows.pivot(index="roi_id", columns="method", values="mask_ceiling")
    assert (per_form.nunique() == 1).all()
    assert rows.target_ceiling.nunique() == 1 and (rows["flags"] == "").all()
    assert rows.iscrowd.tolist()[::5] == [0, 1, 0]
    arrays = roiloss.mask_ceiling(pd.DataFrame([{"x1": bbox[0], "y1": bbox[1], "x2": bbox[0] + bbox[2],
                                                 "y2": bbox[1] + bbox[3]}]), [mask.astype(bool)], methods=CLASSIC,
                                  stride=16)
    assert np.array_equal(arrays.mask_ceiling, rows.mask_ceiling[:5])


BROKEN = [
    ([[10, 10, 40, 11]], "a polygon of 4 coordinates"),
    ([[10, 10, 40, "x", 20, 30]], "not a list of numbers"),
    ([], "no polygon"),
    (None, "segmentation missing"),
    ({"size": [120, 160], "counts": [5, 7]}, "cover 12 pixels"),
    ({"size": [100, 160], "counts": [16000]}, "is not the image's"),
    ({"size": [120, 160], "counts": "\x01\x02"}, "RLE string is not valid"),
    ({"counts": [19200]}, "needs counts and size"),
    ({"size": [120, 160], "counts": [19200]}, "empty mask"),
    ("polygon", "not a polygon list or an RLE object"),
]


def test_a_broken_segmentation_is_a_flagged_row_never_a_crash(tmp_path):
    good = [[20, 30, 90, 30, 60, 100]]
    path = _coco(tmp_path / "broken.json", [(good, [20, 30, 70, 70], 0)] + [(s, [20, 30, 70, 70], 0) for s, _ in BROKEN])
    rows = roiloss.mask_ceiling(path, methods="roialign", stride=16)
    assert rows["flags"].iat[0] == "" and not math.isnan(rows.mask_ceiling.iat[0])
    for (segmentation, reason), flags, value in zip(BROKEN, rows["flags"][1:], rows.mask_ceiling[1:]):
        assert flags.startswith("invalid:") and reason in flags, (segmentation, flags)
        assert math.isnan(value)
    with pytest.raises(roiloss.InputError, match=r"annotations\[1\]\.segmentation"):
        roiloss.mask_ceiling(path, methods="roialign", stride=16, strict=True)
    result = invoke("masks", path, "--stride", "16")
    assert result.exit_code == 0 and "10 of 11 instances cannot be measured" in result.stderr


# --- the command line -------------------------------------------------------------------------------

def test_cli_equals_the_library():
    result = invoke("masks", MASKS, "--strides", "16,32", "--methods", "roipool,roiwarp,roialign", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    cli = pd.read_csv(io.StringIO(result.stdout))
    lib = roiloss.mask_ceiling(MASKS, pyramid=roiloss.Pyramid(levels=(4, 5)), methods="roipool,roiwarp,roialign")
    assert len(cli) == len(lib) == 97 * 3
    assert list(cli.columns) == list(lib.columns)
    assert np.allclose(cli.mask_ceiling, lib.mask_ceiling, equal_nan=True)
    assert np.allclose(cli.target_ceiling, lib.target_ceiling, equal_nan=True)
    assert (cli.roi_id.to_numpy() == lib.roi_id.to_numpy()).all()


def test_cli_table_summaries_fit_80_columns():
    result = invoke("masks", MASKS, "--stride", "32", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for title in ("Mask ceiling per method", "Per size class", "Per category", "Worst instances"):
        assert title in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "pool 14x14" in text and "mask size 28" in text


def test_cli_json_and_mask_size(tmp_path):
    out = tmp_path / "rows.json"
    result = invoke("masks", MASKS, "--stride", "16", "--mask-size", "14", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.stderr
    rows = pd.DataFrame(json.loads(out.read_text()))
    assert (rows.mask_size == 14).all() and len(rows) == 97 * 3


def test_cli_plot_of_the_worst_instance(tmp_path):
    out = tmp_path / "worst.png"
    result = invoke("masks", MASKS, "--stride", "32", "--plot", out, "--format", "csv", "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    ("", "the file is empty"),
    ("x1,y1,x2,y2\n1,2,3,4\n", "not COCO instances JSON"),
    ('{"images": []}', "annotations is missing"),
    ('{"annotations": [', "not valid JSON"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    result = invoke("masks", path)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_usage_errors():
    assert invoke("masks", MASKS, "--plot", "x.pdf").exit_code == 2
    assert invoke("masks", MASKS, "--mask-size", "0").exit_code == 2
    assert invoke("masks", MASKS, "--input-format", "csv").exit_code == 2


def test_library_argument_errors():
    with pytest.raises(ValueError, match="mask_size"):
        roiloss.mask_ceiling([square(32)], mask_size=0)
    with pytest.raises(ValueError, match="masks"):
        roiloss.mask_ceiling([(0, 0, 10, 10)], masks=[])
    with pytest.raises(TypeError):
        roiloss.mask_ceiling(42)


def test_every_method_runs():
    rows = roiloss.mask_ceiling(MASKS, methods="all", stride=16)
    measured = rows[rows["flags"] == ""]
    assert measured.mask_ceiling.between(0, 1).all() and set(rows.method) == set(roiloss.METHODS)
