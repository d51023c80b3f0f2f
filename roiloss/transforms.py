"""What the model really sees: each framework's test-time resize and padding (docs/semantics.md §8).

Detectors do not pool boxes in the image a user annotated: they first resize it (short side to
800, long side at most 1333, ...) and pad it (to a multiple of 32), and the feature maps are
computed from the padded image. A :class:`Resize` reproduces one framework's rule, including its
rounding and its float arithmetic; :meth:`Resize.frame` maps every box into the model's frame.

Rules (``w x h`` the input image, ``S`` the short side asked for, ``M`` the long-side limit):

* ``torchvision`` (``torchvision/models/detection/transform.py`` of 0.29.1, git 1f1a920d,
  ``_resize_image_and_masks`` L25-63 and ``resize_boxes`` L306-319): ``scale = min(S / short, M / long)``
  in double; new size ``floor(side * scale)`` (``interpolate(..., recompute_scale_factor=True)``,
  ``torch/nn/functional.py``); boxes times ``float32(new) / float32(old)`` per axis, in float32.
  (Older releases, e.g. commit 01fdb488, computed ``scale`` as a float32 tensor: 480 x 640 then
  became 799 x 1066 instead of 800 x 1066.)
* ``detectron2`` (``detectron2/data/transforms/augmentation_impl.py``,
  ``ResizeShortestEdge.get_output_shape``): in double, short side to ``S``, the other side scaled;
  if the long side then exceeds ``M`` both are scaled down to it; each side ``int(x + 0.5)``;
  boxes times ``new / old`` per axis in double, stored as float32.
* ``mmdet`` (``mmcv/image/geometric.py`` ``rescale_size``; ``mmdet`` ``Resize(keep_ratio=True)``):
  ``f = min(M / long, S / short)``, each side ``int(side * f + 0.5)``; boxes times
  ``float32(new / old)`` per axis, in float32.
* ``maskrcnn-benchmark`` (``maskrcnn_benchmark/data/transforms/transforms.py`` ``Resize.get_size``):
  if ``long / short * S > M`` then ``S = round(M * short / long)`` (Python's round, half to even);
  short side ``S``, long side ``int(S * long / short)`` (truncated); boxes as mmdet.
* ``fast-rcnn`` (``lib/utils/blob.py`` ``prep_im_for_blob``, used by Fast R-CNN and MNC):
  ``scale = S / short``; if ``round(scale * long) > M`` then ``scale = M / long``; OpenCV's resize
  gives ``round(side * scale)`` (half to even); boxes times ``scale`` (one scale for both axes).
* ``square`` (Matterport ``mrcnn/utils.py`` ``resize_image``, mode ``square``):
  ``scale = max(1, S / short)``; if ``round(long * scale) > M`` then ``scale = M / long``; sides
  ``round(side * scale)``; the image is padded to ``M x M`` with the content centred
  (``top = (M - new_h) // 2``), so boxes are ``x * scale + left``.
* ``fixed``: every image to ``size`` (W x H) without keeping the ratio; boxes times ``new / old``
  per axis, in float32 (torchvision's arithmetic).
* ``none``: the image as given.

Padding: ``pad_divisor`` ``d`` pads the model's image to ``ceil(side / d) * d`` on the right and
bottom (torchvision ``batch_images``, Detectron2 ``ImageList.from_tensors``, mmdet
``pad_size_divisor``); the feature map at stride ``s`` has ``ceil(padded / s)`` cells. In ``exact``
arithmetic every float32 step above is done in float64 instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import parse_size

from .choices import RULES
F32 = np.float32


@dataclass(frozen=True)
class Frame:
    """Boxes and sizes in the model's frame, one entry per box (NaN where the image size is unknown)."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    width: np.ndarray  # the resized image, before padding
    height: np.ndarray
    padded_width: np.ndarray  # the image the feature maps are computed from
    padded_height: np.ndarray
    scale_x: np.ndarray  # model pixels per input pixel
    scale_y: np.ndarray


@dataclass(frozen=True)
class Resize:
    """A framework's test-time resize and padding.

    Args:
        rule: one of ``torchvision``, ``detectron2``, ``mmdet``, ``maskrcnn-benchmark``,
            ``fast-rcnn``, ``square``, ``fixed``, ``none``.
        short: the short side(s) asked for; several (multi-scale) analyse every box at each.
        max_size: the long-side limit (``square``: the side of the padded square).
        size: ``(W, H)`` for ``fixed``.
        pad_divisor: pad the resized image to a multiple of this (0 or 1: no padding).

    Example:
        >>> f = Resize("torchvision", short=(800,), max_size=1333, pad_divisor=32).frame(
        ...     np.array([0.0]), np.array([0.0]), np.array([480.0]), np.array([640.0]),
        ...     np.array([480.0]), np.array([640.0]), short=800)
        >>> int(f.width[0]), int(f.height[0]), int(f.padded_width[0]), int(f.padded_height[0])
        (800, 1066, 800, 1088)
    """

    rule: str = "none"
    short: tuple[int, ...] = (800,)
    max_size: float = 1333
    size: tuple[float, float] | None = None
    pad_divisor: int = 0
    name: str = field(default="", compare=False)

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"resize rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        short = (self.short,) if isinstance(self.short, (int, float, np.integer)) else tuple(self.short)
        if not short or not all(float(s) > 0 for s in short):
            raise ValueError(f"short side(s) must be positive, got {self.short!r}")
        object.__setattr__(self, "short", tuple(int(s) if float(s).is_integer() else float(s) for s in short))
        if not (np.isfinite(self.max_size) and self.max_size > 0):
            raise ValueError(f"max_size must be positive, got {self.max_size!r}")
        if self.rule == "fixed":
            object.__setattr__(self, "size", parse_size(self.size, "size"))
            if self.size is None:
                raise ValueError("the fixed resize needs size=(W, H)")
        if int(self.pad_divisor) != self.pad_divisor or self.pad_divisor < 0:
            raise ValueError(f"pad_divisor must be a whole number >= 0, got {self.pad_divisor!r}")
        object.__setattr__(self, "pad_divisor", int(self.pad_divisor))

    @property
    def active(self) -> bool:
        return self.rule != "none" or self.pad_divisor > 1

    @property
    def scales(self) -> tuple:
        """The short sides to analyse; ``(None,)`` when the rule has none."""
        return self.short if self.rule not in ("none", "fixed") else (None,)

    def describe(self) -> str:
        if not self.active:
            return "resize none"
        short = "/".join(f"{s:g}" for s in self.short)
        text = {"none": "no resize", "fixed": f"fixed {self.size[0]:g}x{self.size[1]:g}" if self.size else "fixed",
                "square": f"square {short} up to {self.max_size:g} (centred)"}.get(
            self.rule, f"{self.rule} short {short} max {self.max_size:g}")
        pad = f", pad to /{self.pad_divisor}" if self.pad_divisor > 1 else ""
        return f"resize {text}{pad}"

    def frame(self, x1, y1, x2, y2, image_w, image_h, short=None, arithmetic: str = "float32") -> Frame:
        """Boxes ``(x1, y1, x2, y2)`` of images ``image_w x image_h`` in the model's frame.

        ``short``: which of :attr:`short` to use (the first by default).
        """
        short = self.short[0] if short is None else short
        w, h = np.asarray(image_w, dtype=np.float64), np.asarray(image_h, dtype=np.float64)
        exact = arithmetic == "exact"
        new_w, new_h, sx, sy, left, top = self._sizes(w, h, float(short), exact)
        ratio_x, ratio_y = self._box_ratio(w, h, new_w, new_h, sx, sy, exact)
        boxes = [self._scale(np.asarray(value, np.float64), ratio, shift, exact)
                 for value, ratio, shift in ((x1, ratio_x, left), (y1, ratio_y, top), (x2, ratio_x, left), (y2, ratio_y, top))]
        if self.rule == "square":
            pad_w = pad_h = np.where(np.isnan(w), np.nan, float(self.max_size))
        else:
            pad_w, pad_h = new_w, new_h
        d = self.pad_divisor
        if d > 1:
            pad_w, pad_h = np.ceil(pad_w / d) * d, np.ceil(pad_h / d) * d
        return Frame(*boxes, new_w, new_h, pad_w, pad_h, ratio_x, ratio_y)

    # --- the rules -------------------------------------------------------------------------

    def _sizes(self, w, h, short, exact):
        """New size, box scale per axis (``(new, old)`` pairs where it is a ratio) and offsets."""
        zero = np.zeros_like(w)
        long_, short_ = np.maximum(w, h), np.minimum(w, h)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.rule == "none":
                return w, h, None, None, zero, zero
            if self.rule == "fixed":
                fw, fh = self.size
                return np.where(np.isnan(w), np.nan, fw), np.where(np.isnan(h), np.nan, fh), None, None, zero, zero
            if self.rule == "torchvision":
                scale = np.minimum(short / short_, self.max_size / long_)
                return np.floor(w * scale), np.floor(h * scale), None, None, zero, zero
            if self.rule == "detectron2":
                scale = short / short_
                nh, nw = np.where(h < w, short, scale * h), np.where(h < w, scale * w, short)
                over = np.maximum(nh, nw) > self.max_size
                down = np.where(over, self.max_size / np.maximum(nh, nw), 1.0)
                nh, nw = np.where(over, nh * down, nh), np.where(over, nw * down, nw)
                return np.floor(nw + 0.5), np.floor(nh + 0.5), None, None, zero, zero
            if self.rule == "mmdet":
                f = np.minimum(self.max_size / long_, short / short_)
                return np.floor(w * f + 0.5), np.floor(h * f + 0.5), None, None, zero, zero
            if self.rule == "maskrcnn-benchmark":
                size = np.where(long_ / short_ * short > self.max_size,
                                np.round(self.max_size * short_ / long_), short)
                keep = ((w <= h) & (w == size)) | ((h <= w) & (h == size))
                nw = np.where(w < h, size, np.trunc(size * w / h))
                nh = np.where(w < h, np.trunc(size * h / w), size)
                return np.where(keep, w, nw), np.where(keep, h, nh), None, None, zero, zero
            if self.rule == "fast-rcnn":
                scale = short / short_
                scale = np.where(np.round(scale * long_) > self.max_size, self.max_size / long_, scale)
                return np.round(w * scale), np.round(h * scale), scale, scale, zero, zero
            # square
            scale = np.maximum(1.0, short / short_)
            scale = np.where(np.round(long_ * scale) > self.max_size, self.max_size / long_, scale)
            nw, nh = np.round(w * scale), np.round(h * scale)
            return nw, nh, scale, scale, np.floor((self.max_size - nw) / 2), np.floor((self.max_size - nh) / 2)

    def _box_ratio(self, w, h, new_w, new_h, sx, sy, exact):
        if sx is not None:
            return sx, sy
        with np.errstate(divide="ignore", invalid="ignore"):
            if exact or self.rule == "detectron2" or self.rule == "none":
                return new_w / w, new_h / h
            if self.rule in ("torchvision", "fixed"):
                return ((new_w.astype(F32) / w.astype(F32)).astype(np.float64),
                        (new_h.astype(F32) / h.astype(F32)).astype(np.float64))
            return (new_w / w).astype(F32).astype(np.float64), (new_h / h).astype(F32).astype(np.float64)

    def _scale(self, value, ratio, shift, exact):
        """One coordinate in the model's frame, in the framework's precision."""
        if self.rule == "none":
            return value
        if exact or self.rule == "square":
            return value * ratio + shift
        if self.rule in ("detectron2", "fast-rcnn"):  # a double product stored as float32
            return (value * ratio).astype(F32).astype(np.float64)
        return (value.astype(F32) * ratio.astype(F32)).astype(np.float64)
