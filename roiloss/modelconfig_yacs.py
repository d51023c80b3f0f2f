"""Detectron2 and maskrcnn-benchmark (yacs) configs -> pooling semantics (docs/semantics.md §11).

Defaults are the frameworks' own, where a key is absent:

* Detectron2 ``detectron2/config/defaults.py`` (git 60d7a1fd): ``ROI_HEADS.NAME = "Res5ROIHeads"``,
  ``ROI_HEADS.IN_FEATURES = ["res4"]``, ``ROI_BOX_HEAD`` / ``ROI_MASK_HEAD`` ``POOLER_TYPE =
  "ROIAlignV2"``, ``POOLER_RESOLUTION = 14``, ``POOLER_SAMPLING_RATIO = 0``, ``MASK_ON = False``,
  ``BACKBONE.NAME = "build_resnet_backbone"``, ``INPUT.MIN_SIZE_TEST = 800``,
  ``INPUT.MAX_SIZE_TEST = 1333``. ``ROIPooler`` (``detectron2/modeling/poolers.py``) maps levels
  with ``canonical_box_size=224, canonical_level=4``; FPN backbones pad to their largest input
  stride (``FPN.size_divisibility``, 32), plain ResNets (C4) do not pad. ``Res5ROIHeads`` pools
  once, for the box and the mask head alike.
* maskrcnn-benchmark ``maskrcnn_benchmark/config/defaults.py`` (git 01fa95a3): ``POOLER_RESOLUTION
  = 14``, ``POOLER_SAMPLING_RATIO = 0``, ``POOLER_SCALES = (1/16,)`` for both heads,
  ``ROI_MASK_HEAD.SHARE_BOX_FEATURE_EXTRACTOR = True`` (the mask head then uses the box head's
  pooler), ``INPUT.MIN_SIZE_TEST = 800``, ``MAX_SIZE_TEST = 1333``,
  ``DATALOADER.SIZE_DIVISIBILITY = 0``; its ``ROIAlign`` has no half-pixel offset (legacy).
"""

from __future__ import annotations

import ast

from .geometry import parse_pool
from .modelconfig import MISSING, ModelConfig, Recorder, Tree, pyramid_or_stride
from .pyramid import Pyramid
from .transforms import Resize

POOLER_TYPES = {"ROIAlignV2": "roialign", "ROIAlign": "roialign-legacy", "ROIPool": "roipool"}
D2_HEADS = ("StandardROIHeads", "CascadeROIHeads", "Res5ROIHeads")
D2_POOLER_KEYS = {"POOLER_TYPE", "POOLER_RESOLUTION", "POOLER_SAMPLING_RATIO"}
MRB_POOLER_KEYS = {"POOLER_RESOLUTION", "POOLER_SAMPLING_RATIO", "POOLER_SCALES"}
MRB_EXTRACTORS = ("ResNet50Conv5ROIFeatureExtractor", "FPN2MLPFeatureExtractor", "FPNXconv1fcFeatureExtractor",
                  "MaskRCNNFPNFeatureExtractor")
HEAD_KEYS = {"box": "MODEL.ROI_BOX_HEAD", "mask": "MODEL.ROI_MASK_HEAD"}


def interpret(tree: Tree, framework: str) -> ModelConfig:
    rec = Recorder(tree)
    return _detectron2(rec) if framework == "detectron2" else _maskrcnn_benchmark(rec)


def _value(rec: Recorder, key: str, default):
    """A key's value decoded as yacs does (``"(0.25, 0.125)"`` -> a tuple), its file, defaulted?"""
    value, file, is_default = rec.take(key, default)
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return value, file, is_default


def _int(rec, key, value, file, low=0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < low:
        raise rec.tree.fail(key, f"must be a whole number >= {low}, got {value!r}", file)
    return int(value)


def _pool(rec, key, value, file):
    try:
        rows, cols = parse_pool(list(value) if isinstance(value, (list, tuple)) else value)
    except (TypeError, ValueError) as error:
        raise rec.tree.fail(key, str(error), file) from None
    return rows if rows == cols else (rows, cols)


def _head(rec: Recorder, head: str, prefix: str, method_key: str | None, method_default: str):
    """Method, pool and sampling ratio of one head; records them."""
    if method_key:
        raw, file, is_default = _value(rec, method_key, "ROIAlignV2")
        if raw not in POOLER_TYPES:
            hint = " (rotated boxes are not supported)" if raw == "ROIAlignRotated" else ""
            raise rec.tree.fail(method_key, f"unknown pooler type {raw!r}{hint}; roiloss knows "
                                f"{', '.join(POOLER_TYPES)}", file)
        method = POOLER_TYPES[raw]
        rec.note(head, "method", method, method_key, raw, file, is_default)
    else:
        method = method_default
        rec.note(head, "method", method, "maskrcnn_benchmark.layers.ROIAlign (no aligned option)", default=True)
    key = f"{prefix}.POOLER_RESOLUTION"
    raw, file, is_default = _value(rec, key, 14)
    pool = _pool(rec, key, raw, file)
    rec.note(head, "pool", pool if isinstance(pool, int) else f"{pool[0]}x{pool[1]}", key, raw, file, is_default)
    key = f"{prefix}.POOLER_SAMPLING_RATIO"
    raw, file, is_default = _value(rec, key, 0)
    ratio = _int(rec, key, raw, file)
    rec.note(head, "sampling_ratio", f"{ratio} (adaptive)" if ratio == 0 else ratio, key, raw, file, is_default)
    return method, pool, ratio


def _place(rec, head, strides, mapper, key, raw, file, is_default):
    pyramid, stride = pyramid_or_stride(strides, mapper, fail=lambda m: rec.tree.fail(key, m, file))
    if pyramid:
        rec.note(head, "levels", f"P{pyramid.levels[0]}-P{pyramid.levels[-1]} (strides "
                 f"{','.join(map(str, pyramid.strides))})", key, raw, file, is_default)
        rec.note(head, "mapper", f"{mapper} (224 px at level 4)", "ROIPooler / LevelMapper defaults", default=True)
    else:
        rec.note(head, "stride", f"{stride:g} (one map)", key, raw, file, is_default)
    return pyramid, stride


def _unknown_pooler_keys(rec: Recorder, known: set) -> None:
    for head, prefix in HEAD_KEYS.items():
        node, file = rec.tree.get(prefix)
        if isinstance(node, dict):
            for name in node:
                if name.startswith("POOLER_") and name not in known:
                    rec.warn(f"{prefix}.{name}", "changes pooling, not understood by roiloss (ignored)",
                             rec.tree.origin(tuple(prefix.split(".")) + (name,)))


def _resize(rec: Recorder, rule: str, pad: int, pad_key: str, pad_raw, pad_file, pad_default) -> Resize:
    key = "INPUT.MIN_SIZE_TEST"
    raw, file, is_default = _value(rec, key, 800)
    shorts = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    for s in shorts:
        _int(rec, key, s, file)
    key_max = "INPUT.MAX_SIZE_TEST"
    raw_max, file_max, max_default = _value(rec, key_max, 1333)
    max_size = _int(rec, key_max, raw_max, file_max, low=1)
    if shorts == [0]:  # Detectron2: 0 disables the test-time resize
        rec.note("", "resize", "none (MIN_SIZE_TEST 0)", key, raw, file, is_default)
        resize = Resize("none", pad_divisor=pad)
    else:
        rec.note("", "resize", rule, "test-time resize of the framework", default=True)
        rec.note("", "min_size", "/".join(str(int(s)) for s in shorts), key, raw, file, is_default)
        rec.note("", "max_size", max_size, key_max, raw_max, file_max, max_default)
        resize = Resize(rule, short=tuple(int(s) for s in shorts), max_size=max_size, pad_divisor=pad)
    rec.note("", "pad_divisor", pad if pad > 1 else "0 (none)", pad_key, pad_raw, pad_file, pad_default)
    return resize


# --- Detectron2 ------------------------------------------------------------------------------------

def _d2_stride(rec, name, file) -> float:
    text = str(name)
    if text[:1] == "p" and text[1:].isdigit() and 1 <= int(text[1:]) <= 8:
        return 2.0 ** int(text[1:])
    if text in ("res2", "res3", "res4", "res5"):
        stride = 2.0 ** int(text[3])
        if text == "res5":
            dilation, _, _ = _value(rec, "MODEL.RESNETS.RES5_DILATION", 1)
            stride /= _int(rec, "MODEL.RESNETS.RES5_DILATION", dilation, file, low=1)
        return stride
    raise rec.tree.fail("MODEL.ROI_HEADS.IN_FEATURES", f"unknown feature {text!r}: roiloss knows the strides of "
                        "p2-p8 and res2-res5", file)


def _detectron2(rec: Recorder) -> ModelConfig:
    arch, file, _ = _value(rec, "MODEL.META_ARCHITECTURE", "GeneralizedRCNN")
    if arch not in ("GeneralizedRCNN", "PanopticFPN"):
        rec.warn("MODEL.META_ARCHITECTURE", f"{arch!r}: not a known two-stage detector; read as GeneralizedRCNN", file)
    heads_name, file, _ = _value(rec, "MODEL.ROI_HEADS.NAME", "Res5ROIHeads")
    if heads_name not in D2_HEADS:
        rec.warn("MODEL.ROI_HEADS.NAME", f"{heads_name!r}: unknown RoI heads, pooling read as StandardROIHeads", file)
    key = "MODEL.ROI_HEADS.IN_FEATURES"
    raw, file, is_default = _value(rec, key, ["res4"])
    if not isinstance(raw, (list, tuple)) or not raw:
        raise rec.tree.fail(key, f"must be a non-empty list of feature names, got {raw!r}", file)
    strides = [_d2_stride(rec, name, file) for name in raw]
    if heads_name == "Res5ROIHeads" and len(strides) != 1:
        raise rec.tree.fail(key, "Res5ROIHeads pools from one feature map", file)

    heads = {}
    mask_on, _, _ = _value(rec, "MODEL.MASK_ON", False)
    for head in ("box", "mask") if mask_on else ("box",):
        prefix = HEAD_KEYS["box" if heads_name == "Res5ROIHeads" else head]
        method, pool, ratio = _head(rec, head, prefix, f"{prefix}.POOLER_TYPE", "")
        pyramid, stride = _place(rec, head, strides, "detectron2", key, raw, file, is_default)
        heads[head] = _settings(method, pool, ratio, pyramid, stride)
    _unknown_pooler_keys(rec, D2_POOLER_KEYS)

    backbone, bfile, b_default = _value(rec, "MODEL.BACKBONE.NAME", "build_resnet_backbone")
    if "fpn" in str(backbone).lower():
        fpn_in, _, _ = _value(rec, "MODEL.FPN.IN_FEATURES", [])
        fpn_strides = [_d2_stride(rec, n, bfile) for n in fpn_in] if isinstance(fpn_in, (list, tuple)) else []
        pad = int(max(fpn_strides)) if fpn_strides else 32
    else:
        pad = 0
        if backbone not in ("build_resnet_backbone",):
            pad = 32 if any(str(n).startswith("p") for n in raw) else 0
            rec.warn("MODEL.BACKBONE.NAME", f"{backbone!r}: unknown backbone, padding to /{pad} assumed", bfile)
    resize = _resize(rec, "detectron2", pad, "MODEL.BACKBONE.NAME (its size_divisibility)", backbone, bfile, b_default)
    aug, afile, _ = _value(rec, "TEST.AUG.ENABLED", False)
    if aug:
        rec.warn("TEST.AUG.ENABLED", "test-time augmentation (TEST.AUG.MIN_SIZES) is not analysed; "
                 "use min_size for several scales", afile)
    return rec.result("detectron2", heads, resize)


def _settings(method, pool, ratio, pyramid: Pyramid | None, stride):
    from .modelconfig import HeadSettings
    return HeadSettings(method, pool, ratio, pyramid, stride)


# --- maskrcnn-benchmark ----------------------------------------------------------------------------

def _maskrcnn_benchmark(rec: Recorder) -> ModelConfig:
    heads = {}
    mask_on, _, _ = _value(rec, "MODEL.MASK_ON", False)
    share, _, _ = _value(rec, "MODEL.ROI_MASK_HEAD.SHARE_BOX_FEATURE_EXTRACTOR", True)
    for head in ("box", "mask") if mask_on else ("box",):
        prefix = HEAD_KEYS["box" if head == "mask" and share else head]
        extractor, efile, _ = _value(rec, f"{prefix}.FEATURE_EXTRACTOR", "ResNet50Conv5ROIFeatureExtractor")
        if extractor not in MRB_EXTRACTORS:
            rec.warn(f"{prefix}.FEATURE_EXTRACTOR", f"{extractor!r}: unknown feature extractor, pooling read "
                     "from its POOLER_* keys", efile)
        method, pool, ratio = _head(rec, head, prefix, None, "roialign-legacy")
        key = f"{prefix}.POOLER_SCALES"
        raw, file, is_default = _value(rec, key, (1.0 / 16,))
        scales = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if not scales or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s <= 1 for s in scales):
            raise rec.tree.fail(key, f"must be scales in (0, 1], e.g. (0.25, 0.125), got {raw!r}", file)
        pyramid, stride = _place(rec, head, [1.0 / s for s in scales], "maskrcnn-benchmark", key, raw, file, is_default)
        heads[head] = _settings(method, pool, ratio, pyramid, stride)
    _unknown_pooler_keys(rec, MRB_POOLER_KEYS)
    pad_key = "DATALOADER.SIZE_DIVISIBILITY"
    raw, file, is_default = _value(rec, pad_key, 0)
    pad = _int(rec, pad_key, raw, file)
    resize = _resize(rec, "maskrcnn-benchmark", pad, pad_key, raw, file, is_default)
    aug, afile, _ = _value(rec, "TEST.BBOX_AUG.ENABLED", False)
    if aug:
        rec.warn("TEST.BBOX_AUG.ENABLED", "test-time augmentation is not analysed; use min_size for several "
                 "scales", afile)
    return rec.result("maskrcnn-benchmark", heads, resize)


__all__ = ["interpret", "POOLER_TYPES", "MISSING"]
