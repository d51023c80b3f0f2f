"""Feature pyramids: which level (stride ``2^k``) each box is pooled from, and framework presets (SPEC §7).

A box of side ``r = sqrt(w * h)`` px goes to level ``k = floor(k0 + log2(r / s0))`` (FPN, eq. 1),
``s0 = 224``, ``k0 = 4``, clamped to the levels present. The frameworks differ at the boundaries:

* ``torchvision`` (``LevelMapper``): ``floor(k0 + log2(r / s0) + 1e-6)`` - epsilon after the log.
* ``detectron2`` (``assign_boxes_to_levels``): ``floor(k0 + log2(r / s0 + 1e-8))`` - epsilon on the ratio.
* ``mmdet`` (``SingleRoIExtractor.map_roi_levels``): ``floor(log2(r / finest + 1e-6))`` counted from
  the finest level, ``finest = s0 * 2^(k_min - k0)`` (56 px for P2 with the defaults).
* ``matterport``: ``k0 + round(log2(r / s0))``, round half to even, clamped to ``[2, 5]`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

MAPPERS = ("torchvision", "detectron2", "mmdet", "matterport")


@dataclass(frozen=True)
class Pyramid:
    """Levels ``k_min..k_max`` (strides ``2^k``), the mapper and its canonical scale and level."""

    levels: tuple[int, ...] = (2, 3, 4, 5)
    mapper: str = "torchvision"
    canonical_scale: float = 224.0
    canonical_level: int = 4

    def __post_init__(self):
        if self.mapper not in MAPPERS:
            raise ValueError(f"level mapper must be one of {', '.join(MAPPERS)}, got {self.mapper!r}")
        levels = tuple(sorted(set(int(k) for k in self.levels)))
        if not levels or levels != tuple(range(levels[0], levels[-1] + 1)):
            raise ValueError(f"levels must be consecutive, got {self.levels!r}")
        object.__setattr__(self, "levels", levels)

    @property
    def strides(self) -> list[int]:
        return [2 ** k for k in self.levels]

    def assign(self, side: np.ndarray) -> np.ndarray:
        """Level ``k`` of boxes of side ``sqrt(w * h)`` px (NaN side -> -1)."""
        side = np.asarray(side, dtype=float)
        lo, hi = self.levels[0], self.levels[-1]
        k0, s0 = self.canonical_level, self.canonical_scale
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.mapper == "torchvision":
                k = np.floor(k0 + np.log2(side / s0) + 1e-6)
            elif self.mapper == "detectron2":
                k = np.floor(k0 + np.log2(side / s0 + 1e-8))
            elif self.mapper == "mmdet":
                finest = s0 * 2.0 ** (lo - k0)
                k = lo + np.floor(np.log2(side / finest + 1e-6))
            else:
                k = k0 + np.round(np.log2(side / s0))
                k = np.clip(k, 2, 5)
        k = np.clip(k, lo, hi)
        return np.where(np.isfinite(k), k, -1).astype(np.int64)

    def describe(self) -> str:
        lo, hi = self.levels[0], self.levels[-1]
        return (f"levels P{lo}-P{hi} (strides {','.join(map(str, self.strides))}) | mapper {self.mapper} "
                f"({self.canonical_scale:g} px at level {self.canonical_level})")


def parse_levels(text: str) -> tuple[int, ...]:
    """``"2-5"`` or ``"2,3,4,5"`` -> ``(2, 3, 4, 5)``."""
    try:
        if "-" in str(text):
            a, b = (int(v) for v in str(text).split("-"))
            return tuple(range(a, b + 1))
        return tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"levels must be like 2-5 or 2,3,4,5, got {text!r}") from None


def parse_strides(text: str) -> tuple[int, ...]:
    """``"4,8,16,32"`` -> levels ``(2, 3, 4, 5)``; every stride a power of two."""
    try:
        strides = [int(v) for v in str(text).split(",")]
    except ValueError:
        raise ValueError(f"strides must be like 4,8,16,32, got {text!r}") from None
    levels = []
    for s in strides:
        if s < 1 or s & (s - 1):
            raise ValueError(f"pyramid strides must be powers of two, got {s}")
        levels.append(s.bit_length() - 1)
    return tuple(levels)


@dataclass(frozen=True)
class Preset:
    name: str
    method: str
    sampling_ratio: int
    pool_box: int
    pool_mask: int
    mirrors: str
    pyramid: Pyramid | None = None
    stride: float | None = None

    def settings(self, head: str = "box") -> dict:
        return {"methods": self.method, "sampling_ratio": self.sampling_ratio,
                "pool": str(self.pool_mask if head == "mask" else self.pool_box),
                "pyramid": self.pyramid, "stride": self.stride}


PRESETS = {p.name: p for p in [
    Preset("torchvision", "roialign-legacy", 2, 7, 14,
           "torchvision.ops.MultiScaleRoIAlign (aligned=False, sampling_ratio=2) + LevelMapper, Faster/Mask R-CNN heads",
           pyramid=Pyramid(mapper="torchvision")),
    Preset("detectron2", "roialign", 0, 7, 14,
           "Detectron2 ROIPooler ROIAlignV2 (sampling_ratio=0) + assign_boxes_to_levels",
           pyramid=Pyramid(mapper="detectron2")),
    Preset("mmdet", "roialign", 0, 7, 14,
           "mmdetection SingleRoIExtractor (RoIAlign, sampling_ratio=0, aligned=True, finest_scale=56)",
           pyramid=Pyramid(mapper="mmdet")),
    Preset("maskrcnn-benchmark", "roialign-legacy", 2, 7, 14,
           "maskrcnn-benchmark Pooler (ROIAlign aligned=False, sampling_ratio=2) + LevelMapper",
           pyramid=Pyramid(mapper="torchvision")),
    Preset("fast-rcnn", "roipool", 0, 7, 7, "Fast R-CNN (Caffe ROIPooling, VGG16 conv5, stride 16)", stride=16),
    Preset("mnc", "roiwarp", 0, 14, 14, "MNC (Caffe ROIWarping, stride 16, 14x14)", stride=16),
]}


def with_overrides(pyramid: Pyramid, **changes) -> Pyramid:
    return replace(pyramid, **{k: v for k, v in changes.items() if v is not None})
