"""mmdetection configs -> pooling semantics (docs/semantics.md §11).

``.py`` configs are parsed, never executed (:mod:`.modelconfig_python`).

Semantics (mmdet 3.3 / mmcv 2.1, as 2.x): ``SingleRoIExtractor(roi_layer, featmap_strides,
finest_scale=56)``; mmcv ``RoIAlign(output_size, sampling_ratio=0, aligned=True)``, ``RoIPool``.
The level of a box is counted from the finest level (roiloss's ``mmdet`` mapper with canonical
scale ``finest_scale * 2^(4 - k_min)`` at level 4). The test pipeline's ``Resize(scale=(1333, 800),
keep_ratio=True)`` (2.x: ``MultiScaleFlipAug(img_scale=...)`` around ``Resize(keep_ratio=True)``)
and ``data_preprocessor.pad_size_divisor`` (2.x: ``Pad(size_divisor=32)``) give the transform.
"""

from __future__ import annotations

from .geometry import parse_pool
from .modelconfig import HeadSettings, ModelConfig, Recorder, Tree, pyramid_or_stride
from .transforms import Resize

ROI_LAYERS = {"RoIAlign": None, "RoIPool": "roipool"}
ROI_LAYER_KEYS = {"type", "output_size", "sampling_ratio", "aligned", "pool_mode", "use_torchvision", "spatial_scale"}
EXTRACTOR_KEYS = {"type", "roi_layer", "out_channels", "featmap_strides", "finest_scale", "init_cfg"}
PIPELINES = ("test_dataloader.dataset.pipeline", "data.test.pipeline", "test_pipeline", "val_dataloader.dataset.pipeline")


# --- the interpretation ----------------------------------------------------------------------------

def interpret(tree: Tree, framework: str = "mmdet") -> ModelConfig:
    rec = Recorder(tree)
    roi_head, file = tree.get("model.roi_head")
    if not isinstance(roi_head, dict):
        raise tree.fail("model.roi_head", "not found: only two-stage detectors pool RoIs (a RoI head with "
                        "bbox_roi_extractor)", file or None)
    heads = {"box": _extractor(rec, "box", "model.roi_head.bbox_roi_extractor")}
    if isinstance(roi_head.get("mask_roi_extractor"), (dict, list)):
        heads["mask"] = _extractor(rec, "mask", "model.roi_head.mask_roi_extractor")
    elif roi_head.get("mask_head") is not None:  # share_roi_extractor: the mask head pools with the box extractor
        heads["mask"] = _extractor(rec, "mask", "model.roi_head.bbox_roi_extractor")
    return rec.result("mmdet", heads, _resize(rec))


def _extractor(rec: Recorder, head: str, key: str) -> HeadSettings:
    tree = rec.tree
    extractor, file = tree.get(key)
    if isinstance(extractor, list):  # cascade stages: one extractor each
        if not extractor or any(e != extractor[0] for e in extractor):
            rec.warn(key, "the cascade stages pool differently; the first stage's extractor is analysed", file)
        extractor, key = (extractor[0] if extractor else None), f"{key}.0"
    if not isinstance(extractor, dict):
        raise tree.fail(key, "not found or not a dict (a RoI extractor with roi_layer and featmap_strides)", file or None)
    if extractor.get("type", "SingleRoIExtractor") != "SingleRoIExtractor":
        rec.warn(f"{key}.type", f"{extractor.get('type')!r}: unknown RoI extractor, read as SingleRoIExtractor", file)
    for name in sorted(set(extractor) - EXTRACTOR_KEYS):
        if extractor[name] is not None:
            rec.warn(f"{key}.{name}", "changes pooling, not understood by roiloss (ignored)", tree.origin(_path(key, name)))

    layer_key = f"{key}.roi_layer"
    layer, lfile = tree.get(_path(layer_key))
    if not isinstance(layer, dict) or "type" not in layer:
        raise tree.fail(layer_key, "missing: a dict(type='RoIAlign', output_size=7, ...)", file or None)
    kind = layer["type"]
    if kind not in ROI_LAYERS:
        raise tree.fail(f"{layer_key}.type", f"unknown pooler type {kind!r}; roiloss knows {', '.join(ROI_LAYERS)}",
                        tree.origin(_path(layer_key, "type")))
    aligned = layer.get("aligned", True)
    method = ROI_LAYERS[kind] or ("roialign" if aligned else "roialign-legacy")
    if kind == "RoIAlign" and "aligned" in layer:
        rec.note(head, "method", method, f"{layer_key}.type, aligned", f"{kind}, aligned={aligned}",
                 tree.origin(_path(layer_key, "aligned")))
    else:
        rec.note(head, "method", method, f"{layer_key}.type", kind, tree.origin(_path(layer_key, "type")))
    for name in sorted(set(layer) - ROI_LAYER_KEYS):
        rec.warn(f"{layer_key}.{name}", "changes pooling, not understood by roiloss (ignored)",
                 tree.origin(_path(layer_key, name)))
    if layer.get("pool_mode", "avg") != "avg":
        rec.warn(f"{layer_key}.pool_mode", f"{layer['pool_mode']!r}: roiloss weighs samples as the average does",
                 tree.origin(_path(layer_key, "pool_mode")))

    size_key = f"{layer_key}.output_size"
    if "output_size" not in layer:
        raise tree.fail(size_key, "missing", lfile or None)
    try:
        rows, cols = parse_pool(list(layer["output_size"]) if isinstance(layer["output_size"], (list, tuple))
                                else layer["output_size"])
    except (TypeError, ValueError) as error:
        raise tree.fail(size_key, str(error), tree.origin(_path(size_key))) from None
    pool = rows if rows == cols else (rows, cols)
    rec.note(head, "pool", pool if rows == cols else f"{rows}x{cols}", size_key, layer["output_size"],
             tree.origin(_path(size_key)))
    ratio_key = f"{layer_key}.sampling_ratio"
    ratio = layer.get("sampling_ratio", 0)
    if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio < 0:
        raise tree.fail(ratio_key, f"must be a whole number >= 0, got {ratio!r}", tree.origin(_path(ratio_key)))
    rec.note(head, "sampling_ratio", f"{ratio} (adaptive)" if ratio == 0 else ratio, ratio_key, ratio,
             tree.origin(_path(ratio_key)), "sampling_ratio" not in layer)

    strides_key = f"{key}.featmap_strides"
    strides = extractor.get("featmap_strides")
    sfile = tree.origin(_path(strides_key))
    if (not isinstance(strides, (list, tuple)) or not strides
            or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in strides)):
        raise tree.fail(strides_key, f"must be a list of strides, e.g. [4, 8, 16, 32], got {strides!r}", sfile)
    finest_key = f"{key}.finest_scale"
    finest = extractor.get("finest_scale", 56)
    if isinstance(finest, bool) or not isinstance(finest, (int, float)) or finest <= 0:
        raise tree.fail(finest_key, f"must be a positive number of pixels, got {finest!r}", tree.origin(_path(finest_key)))
    fail = lambda message: tree.fail(strides_key, message, sfile)  # noqa: E731
    lowest = min(round(s).bit_length() - 1 for s in strides)
    pyramid, stride = pyramid_or_stride(list(strides), "mmdet", float(finest) * 2.0 ** (4 - lowest), fail)
    if pyramid:
        rec.note(head, "levels", f"P{pyramid.levels[0]}-P{pyramid.levels[-1]} (strides "
                 f"{','.join(map(str, pyramid.strides))})", strides_key, strides, sfile)
        rec.note(head, "mapper", "mmdet (counted from the finest level)", f"{key}.type", "SingleRoIExtractor",
                 tree.origin(_path(key, "type")))
        rec.note(head, "canonical_scale", f"{pyramid.canonical_scale:g} px at level 4 (finest_scale {finest:g} at "
                 f"P{pyramid.levels[0]})", finest_key, finest, tree.origin(_path(finest_key)),
                 "finest_scale" not in extractor)
    else:
        rec.note(head, "stride", f"{stride:g} (one map)", strides_key, strides, sfile)
    return HeadSettings(method, pool, ratio, pyramid, stride)


def _path(key: str, *more) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in key.split(".")) + more


def _resize(rec: Recorder) -> Resize:
    tree = rec.tree
    for name in PIPELINES:
        pipeline, file = tree.get(name)
        if isinstance(pipeline, list):
            break
    else:
        rec.warn("test_pipeline", "no test pipeline found; mmdet's default Resize(scale=(1333, 800), keep_ratio=True) "
                 "and pad_size_divisor=32 assumed")
        rec.note("", "resize", "mmdet", "test_pipeline (absent)", default=True)
        rec.note("", "min_size", 800, "Resize.scale", default=True)
        rec.note("", "max_size", 1333, "Resize.scale", default=True)
        rec.note("", "pad_divisor", 32, "model.data_preprocessor.pad_size_divisor", default=True)
        return Resize("mmdet", short=(800,), max_size=1333, pad_divisor=32)
    found = {}
    _walk(rec, pipeline, name, file, found, None)
    pad_key, pad, pad_file, pad_default = found.get("pad", (None, None, "", True))
    if pad is None:
        pad_key = "model.data_preprocessor.pad_size_divisor"
        value, value_file = tree.get(pad_key)
        if isinstance(value, int) and not isinstance(value, bool):
            pad, pad_file, pad_default = value, value_file, False
        else:
            pad, pad_file, pad_default = 1, "", True
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise tree.fail(pad_key, f"must be a whole number >= 0, got {pad!r}", pad_file or None)
    pad = int(pad)
    resize = found.get("resize")
    if resize is None:
        rec.note("", "resize", "none (no Resize in the test pipeline)", name, "", file)
        result = Resize("none", pad_divisor=pad if pad > 1 else 0)
    else:
        result = resize(pad if pad > 1 else 0)
    rec.note("", "pad_divisor", pad if pad > 1 else "0 (none)", pad_key, pad, pad_file, pad_default)
    return result


def _walk(rec: Recorder, pipeline: list, name: str, file: str, found: dict, outer_scale) -> None:
    for i, step in enumerate(pipeline):
        if not isinstance(step, dict):
            continue
        kind, key = step.get("type"), f"{name}.{i}"
        where = rec.tree.origin(_path(key)) or file
        if kind == "MultiScaleFlipAug":  # mmdet 2.x
            scale = step.get("img_scale", step.get("scale"))
            _walk(rec, step.get("transforms") or [], f"{key}.transforms", where, found, (scale, f"{key}.img_scale"))
        elif kind == "Resize":
            scale, scale_key = (step["scale"], f"{key}.scale") if "scale" in step else \
                (step["img_scale"], f"{key}.img_scale") if "img_scale" in step else outer_scale or (None, key)
            keep = step.get("keep_ratio", "scale" not in step)  # mmcv 2 Resize: False; mmdet 2 Resize: True
            if scale is None:
                rec.warn(key, "Resize without scale (scale_factor?) is not understood; no resize assumed", where)
                continue
            found["resize"] = _resize_rule(rec, scale, keep, scale_key, where)
        elif kind == "Pad":
            if "size_divisor" in step:
                found["pad"] = (f"{key}.size_divisor", step["size_divisor"], where, False)
            else:
                rec.warn(key, "Pad without size_divisor is not understood (ignored)", where)
        elif isinstance(kind, str) and ("Resize" in kind or kind in ("TestTimeAug", "RandomCrop", "CenterCrop")):
            rec.warn(f"{key}.type", f"{kind!r} changes the model's input, not understood by roiloss (ignored)", where)


def _resize_rule(rec: Recorder, scale, keep: bool, key: str, file: str):
    values = scale if isinstance(scale, (list, tuple)) else [scale]
    if values and isinstance(values[0], (list, tuple)):
        if len(values) > 1:
            rec.warn(key, "several test scales (multi-scale test); the first is analysed, min_size adds others", file)
        values = values[0]
    if len(values) == 1:
        values = [values[0], values[0]]
    if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        raise rec.tree.fail(key, f"must be (long, short) or (width, height), got {scale!r}", file)
    if keep:
        short, long_ = min(values), max(values)
        rec.note("", "resize", "mmdet (keep_ratio=True)", key, scale, file)
        rec.note("", "min_size", f"{short:g}", key, scale, file)
        rec.note("", "max_size", f"{long_:g}", key, scale, file)
        return lambda pad: Resize("mmdet", short=(short,), max_size=long_, pad_divisor=pad)
    rec.note("", "resize", f"fixed:{values[0]:g}x{values[1]:g} (keep_ratio=False)", key, scale, file)
    return lambda pad: Resize("fixed", size=(float(values[0]), float(values[1])), pad_divisor=pad)
