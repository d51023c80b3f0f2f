"""Framework presets: the pooling, pyramid and input transform of a real detector, as data.

Each preset states what its framework does at test time; docs/semantics.md §7 and §8 cite the
sources. ``roiloss presets`` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .methods import METHODS
from .pyramid import Pyramid
from .transforms import Resize

from .choices import HEADS, PRESET_NAMES


@dataclass(frozen=True)
class Preset:
    """A framework's semantics: method, sampling ratio, pool per head, levels or stride, resize."""

    name: str
    method: str
    sampling_ratio: int
    pool_box: int
    pool_mask: int
    mirrors: str
    resize: Resize
    pyramid: Pyramid | None = None
    stride: float | None = None

    def pool(self, head: str) -> int:
        if head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
        return self.pool_mask if head == "mask" else self.pool_box


def _fpn_resize(rule: str) -> Resize:
    return Resize(rule, short=(800,), max_size=1333, pad_divisor=32)


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("torchvision", "roialign-legacy", 2, 7, 14,
           "torchvision Faster/Mask R-CNN: GeneralizedRCNNTransform(800, 1333), MultiScaleRoIAlign "
           "(aligned=False, sampling_ratio=2) + LevelMapper",
           _fpn_resize("torchvision"), pyramid=Pyramid(mapper="torchvision")),
    Preset("detectron2", "roialign", 0, 7, 14,
           "Detectron2 R-CNN FPN: ResizeShortestEdge(800, 1333), ROIPooler ROIAlignV2 (sampling_ratio=0) "
           "+ assign_boxes_to_levels",
           _fpn_resize("detectron2"), pyramid=Pyramid(mapper="detectron2")),
    Preset("mmdet", "roialign", 0, 7, 14,
           "mmdetection: Resize(scale=(1333, 800), keep_ratio=True), SingleRoIExtractor (RoIAlign, "
           "sampling_ratio=0, aligned=True, finest_scale=56)",
           _fpn_resize("mmdet"), pyramid=Pyramid(mapper="mmdet")),
    Preset("maskrcnn-benchmark", "roialign-legacy", 2, 7, 14,
           "maskrcnn-benchmark: Resize(800, 1333), Pooler (ROIAlign aligned=False, sampling_ratio=2) "
           "+ LevelMapper on (w+1)(h+1)",
           _fpn_resize("maskrcnn-benchmark"), pyramid=Pyramid(mapper="maskrcnn-benchmark")),
    Preset("fast-rcnn", "roipool", 0, 7, 7,
           "Fast R-CNN: scale 600 (max 1000), Caffe ROIPooling on VGG16 conv5 (stride 16)",
           Resize("fast-rcnn", short=(600,), max_size=1000), stride=16),
    Preset("mnc", "roiwarp", 0, 14, 14,
           "MNC: scale 600 (max 1000), Caffe ROIWarping (stride 16, 14x14)",
           Resize("fast-rcnn", short=(600,), max_size=1000), stride=16),
    Preset("tensorrt-detectron2", "trt-pyramid", 0, 7, 14,
           "NVIDIA TensorRT samples/python/detectron2: ResizeShortestEdge(800, 1333) padded to a fixed "
           "1344x1344 input, PyramidROIAlign_TRT (roi_coords_transform=2 for ROIAlignV2, fpn_scale 224, "
           "sampling_ratio 0)",
           Resize("detectron2", short=(800,), max_size=1333, pad_divisor=1344), pyramid=Pyramid(mapper="tensorrt")),
]}

assert tuple(PRESETS) == PRESET_NAMES, "roiloss.choices.PRESET_NAMES is out of date"


def presets_frame():
    """The presets as a table: name, method, sampling ratio, pool, levels or stride, resize, source."""
    import pandas as pd

    return pd.DataFrame([{
        "preset": p.name, "method": p.method,
        "sampling_ratio": p.sampling_ratio if METHODS[p.method].sampled else None,
        "pool": f"{p.pool_box} (mask {p.pool_mask})" if p.pool_mask != p.pool_box else str(p.pool_box),
        "levels": f"P{p.pyramid.levels[0]}-P{p.pyramid.levels[-1]} {p.pyramid.mapper}" if p.pyramid else f"stride {p.stride:g}",
        "resize": p.resize.describe().removeprefix("resize "),
        "mirrors": p.mirrors,
    } for p in PRESETS.values()])
