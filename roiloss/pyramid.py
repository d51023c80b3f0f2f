"""Feature pyramids: which level (stride ``2^k``) each box is pooled from (docs/semantics.md §7).

A box of side ``r = sqrt(w * h)`` px goes to level ``k = floor(k0 + log2(r / s0))`` (FPN, eq. 1),
``s0 = 224``, ``k0 = 4``, clamped to the levels present. The frameworks differ at the boundaries,
and in ``float32`` arithmetic each mapper is evaluated in float32, in its framework's order:

* ``torchvision`` (``torchvision/ops/poolers.py`` ``LevelMapper``):
  ``floor(k0 + log2(r / s0) + 1e-6)`` - epsilon after the log.
* ``detectron2`` (``detectron2/modeling/poolers.py`` ``assign_boxes_to_levels``):
  ``floor(k0 + log2(r / s0 + 1e-8))`` - epsilon on the ratio (below float32's resolution there).
* ``maskrcnn-benchmark`` (``maskrcnn_benchmark/modeling/poolers.py`` ``LevelMapper``):
  ``floor(k0 + log2(r / s0 + 1e-6))`` with ``r = sqrt((w + 1)(h + 1))`` (``BoxList.area`` adds one
  pixel per side).
* ``mmdet`` (``mmdet/models/roi_heads/roi_extractors/single_level_roi_extractor.py``
  ``map_roi_levels``): ``floor(log2(r / finest + 1e-6))`` counted from the finest level,
  ``finest = s0 * 2^(k_min - k0)`` (56 px for P2 with the defaults).
* ``matterport`` (``mrcnn/model.py`` ``PyramidROIAlign``): on boxes normalised by
  ``(x1 / (W - 1), (x2 - 1) / (W - 1))`` (``mrcnn/utils.py`` ``norm_boxes``),
  ``k0 + round(log2(sqrt(h * w) / (s0 / sqrt(H * W))))``, round half to even, clamped to
  ``[2, 5]``; ``W x H`` is the model's (padded) image.
* ``tensorrt`` (TensorRT ``PyramidROIAlign_TRT``, ``plugin/common/kernels/maskRCNNKernels.cu``
  ``roiAlign_kernel``): by area thresholds on the box normalised by ``W x H`` and clamped to it,
  one level up for each of ``hw > (s0/2)^2``, ``> s0^2``, ``> (2 s0)^2`` (strictly: a side of exactly
  112 stays on P2); see :func:`roiloss.methods_tensorrt.tensorrt_levels`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .choices import MAPPERS


@dataclass(frozen=True)
class Pyramid:
    """Levels ``k_min..k_max`` (strides ``2^k``), the level mapper and its canonical scale and level.

    Example:
        >>> side = np.array([111.99, 112.0, 224.0])
        >>> Pyramid().assign(0 * side, 0 * side, side, side).tolist()
        [2, 3, 4]
    """

    levels: tuple[int, ...] = (2, 3, 4, 5)
    mapper: str = "torchvision"
    canonical_scale: float = 224.0
    canonical_level: int = 4

    def __post_init__(self):
        if self.mapper not in MAPPERS:
            raise ValueError(f"mapper must be one of {', '.join(MAPPERS)}, got {self.mapper!r}")
        try:
            levels = tuple(sorted(set(int(k) for k in self.levels)))
        except (TypeError, ValueError):
            raise ValueError(f"levels must be whole numbers, got {self.levels!r}") from None
        if not levels or levels != tuple(range(levels[0], levels[-1] + 1)) or not 0 <= levels[0] <= levels[-1] <= 16:
            raise ValueError(f"levels must be consecutive whole numbers from 0 to 16, got {self.levels!r}")
        object.__setattr__(self, "levels", levels)
        if not (np.isfinite(self.canonical_scale) and self.canonical_scale > 0):
            raise ValueError(f"canonical_scale must be a positive number of pixels, got {self.canonical_scale!r}")
        object.__setattr__(self, "canonical_level", int(self.canonical_level))

    @property
    def strides(self) -> list[int]:
        return [2 ** k for k in self.levels]

    def assign(self, x1, y1, x2, y2, arithmetic: str = "float32", image_w=None, image_h=None) -> np.ndarray:
        """Level ``k`` of boxes ``(x1, y1, x2, y2)`` in the model's frame, px (non-finite -> -1).

        ``image_w``/``image_h`` (the model's padded image) are needed by the ``matterport`` and
        ``tensorrt`` mappers only.
        """
        dtype = np.float32 if arithmetic == "float32" else np.float64
        x1, y1, x2, y2 = (np.asarray(v, dtype=dtype) for v in (x1, y1, x2, y2))
        w, h = x2 - x1, y2 - y1
        lo, hi = self.levels[0], self.levels[-1]
        k0, s0 = dtype(self.canonical_level), dtype(self.canonical_scale)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.mapper == "torchvision":
                k = np.floor(k0 + np.log2(np.sqrt(w * h) / s0) + dtype(1e-6))
            elif self.mapper == "detectron2":
                k = np.floor(k0 + np.log2(np.sqrt(w * h) / s0 + dtype(1e-8)))
            elif self.mapper == "maskrcnn-benchmark":
                one = dtype(1)
                k = np.floor(k0 + np.log2(np.sqrt((w + one) * (h + one)) / s0 + dtype(1e-6)))
            elif self.mapper == "mmdet":
                finest = dtype(self.canonical_scale * 2.0 ** (lo - self.canonical_level))
                k = lo + np.floor(np.log2(np.sqrt(w * h) / finest + dtype(1e-6)))
            elif self.mapper == "tensorrt":
                from .methods_tensorrt import tensorrt_levels
                k = tensorrt_levels(x1, y1, x2, y2, image_w, image_h, self.levels, self.canonical_scale,
                                    self.canonical_level, dtype)
            else:
                k = self._matterport(x1, y1, x2, y2, image_w, image_h, dtype)
        k = np.clip(k, lo, hi)
        return np.where(np.isfinite(k), k, -1).astype(np.int64)

    def _matterport(self, x1, y1, x2, y2, image_w, image_h, dtype):
        if image_w is None or image_h is None:
            raise ValueError("the matterport mapper needs the model's image size (image_w, image_h)")
        big_w, big_h = np.asarray(image_w, dtype=np.float64), np.asarray(image_h, dtype=np.float64)
        # norm_boxes runs in float64 numpy and casts to float32; the graph then works in float32
        nx1, nx2 = (x1 / (big_w - 1)).astype(dtype), ((x2 - 1.0) / (big_w - 1)).astype(dtype)
        ny1, ny2 = (y1 / (big_h - 1)).astype(dtype), ((y2 - 1.0) / (big_h - 1)).astype(dtype)
        norm_w, norm_h = nx2 - nx1, ny2 - ny1
        big_w, big_h = big_w.astype(dtype), big_h.astype(dtype)
        ratio = np.sqrt(norm_h * norm_w) / (dtype(self.canonical_scale) / np.sqrt(big_h * big_w))
        k = dtype(self.canonical_level) + np.round(np.log2(ratio))  # numpy rounds half to even, as tf.round
        return np.clip(k, 2, 5)

    def describe(self) -> str:
        lo, hi = self.levels[0], self.levels[-1]
        return (f"levels P{lo}-P{hi} (strides {','.join(map(str, self.strides))}) | mapper {self.mapper} "
                f"({self.canonical_scale:g} px at level {self.canonical_level})")

    def with_overrides(self, **changes) -> "Pyramid":
        """A copy with every change that is not ``None`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def parse_levels(text) -> tuple[int, ...]:
    """``"2-5"``, ``"2,3,4,5"`` or a sequence -> ``(2, 3, 4, 5)``; ``ValueError`` otherwise."""
    if isinstance(text, (list, tuple)):
        return tuple(int(v) for v in text)
    try:
        if "-" in str(text):
            a, b = (int(v) for v in str(text).split("-"))
            if b < a:
                raise ValueError
            return tuple(range(a, b + 1))
        return tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"levels must be like 2-5 or 2,3,4,5 (low to high), got {text!r}") from None


def parse_strides(text) -> tuple[int, ...]:
    """``"4,8,16,32"`` or a sequence -> levels ``(2, 3, 4, 5)``; every stride a power of two."""
    try:
        strides = [int(v) for v in (text if isinstance(text, (list, tuple)) else str(text).split(","))]
    except ValueError:
        raise ValueError(f"strides must be like 4,8,16,32, got {text!r}") from None
    levels = []
    for s in strides:
        if s < 1 or s & (s - 1):
            raise ValueError(f"pyramid strides must be powers of two, got {s}")
        levels.append(s.bit_length() - 1)
    return tuple(levels)
