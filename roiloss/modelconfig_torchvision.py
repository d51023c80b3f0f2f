"""torchvision's detection builders as data: ``--model torchvision:NAME[,min_size=N,max_size=N]``.

No torch import: the defaults below are read from torchvision's source (docs/semantics.md §11).

* ``torchvision/models/detection/faster_rcnn.py`` (git 1ec2509e): ``FasterRCNN(min_size=800,
  max_size=1333)``; ``box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
  output_size=7, sampling_ratio=2)``; ``GeneralizedRCNNTransform`` pads to a multiple of 32
  (``size_divisible=32``). ``fasterrcnn_resnet50_fpn`` and ``_v2`` build ResNet-50-FPN
  backbones (maps ``"0"``-``"3"`` at strides 4-32, ``"pool"`` at 64 is not pooled).
  ``fasterrcnn_mobilenet_v3_large_320_fpn`` sets ``min_size=320, max_size=640``;
  ``fasterrcnn_mobilenet_v3_large_fpn`` keeps 800/1333.
* The MobileNetV3 FPN (``backbone_utils._mobilenet_extractor``, ``returned_layers =
  [num_stages - 2, num_stages - 1]``) returns the outputs of the last strided block and of the last
  block, both at stride 32, as maps ``"0"`` and ``"1"``: ``MultiScaleRoIAlign`` infers the scales
  1/32, 1/32, so ``LevelMapper(k_min=5, k_max=5)`` sends every box to map ``"0"`` at stride 32.
* ``torchvision/models/detection/mask_rcnn.py`` (git ac33f9e3): ``mask_roi_pool =
  MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14, sampling_ratio=2)``.
* ``torchvision/models/detection/keypoint_rcnn.py`` (git 17de30d3): ``KeypointRCNN(min_size=(640,
  672, 704, 736, 768, 800), max_size=1333)``; at test time ``GeneralizedRCNNTransform`` uses the
  last, 800. (The keypoint head's 14 x 14 pooler is not one of roiloss's heads.)

``MultiScaleRoIAlign`` calls ``roi_align(..., aligned=False)``: ``roialign-legacy``; its
``LevelMapper`` is roiloss's ``torchvision`` mapper (224 px at level 4).
"""

from __future__ import annotations

from .modelconfig import HeadSettings, ModelConfig, Setting
from .pyramid import Pyramid
from .transforms import Resize

FPN = Pyramid(levels=(2, 3, 4, 5), mapper="torchvision")
MOBILE = Pyramid(levels=(5,), mapper="torchvision")
SOURCE = {"faster": "torchvision/models/detection/faster_rcnn.py (1ec2509e)",
          "mask": "torchvision/models/detection/mask_rcnn.py (ac33f9e3)",
          "keypoint": "torchvision/models/detection/keypoint_rcnn.py (17de30d3)"}

# name: (module, min_size, max_size, pyramid, has mask head)
BUILDERS = {
    "fasterrcnn_resnet50_fpn": ("faster", 800, 1333, FPN, False),
    "fasterrcnn_resnet50_fpn_v2": ("faster", 800, 1333, FPN, False),
    "fasterrcnn_mobilenet_v3_large_fpn": ("faster", 800, 1333, MOBILE, False),
    "fasterrcnn_mobilenet_v3_large_320_fpn": ("faster", 320, 640, MOBILE, False),
    "maskrcnn_resnet50_fpn": ("mask", 800, 1333, FPN, True),
    "maskrcnn_resnet50_fpn_v2": ("mask", 800, 1333, FPN, True),
    "keypointrcnn_resnet50_fpn": ("keypoint", 800, 1333, FPN, False),
}
KEYWORDS = ("min_size", "max_size")


def builder_config(spec: str) -> ModelConfig:
    """``torchvision:NAME[,min_size=N][,max_size=N]`` -> :class:`ModelConfig` (``ValueError`` naming
    the part at fault)."""
    text = str(spec).strip()
    zoo, _, rest = text.partition(":")
    if zoo != "torchvision" or not rest:
        raise ValueError(f"model must be torchvision:NAME[,min_size=N,max_size=N], got {spec!r}")
    name, *pairs = [p.strip() for p in rest.split(",")]
    if name not in BUILDERS:
        raise ValueError(f"unknown torchvision model {name!r}; roiloss knows {', '.join(BUILDERS)}")
    module, min_size, max_size, pyramid, mask = BUILDERS[name]
    given = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or key not in KEYWORDS:
            raise ValueError(f"{spec}: {pair!r}: torchvision keyword arguments roiloss reads are "
                             f"{', '.join(KEYWORDS)} (as key=value)")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0 or not number.is_integer():
            raise ValueError(f"{spec}: {key} must be a positive whole number of pixels, got {value!r}")
        given[key] = int(number)
    source = SOURCE[module]
    settings = []

    def note(head, setting, value, key, raw="", default=True):
        settings.append(Setting(head, setting, str(value), key, raw, "" if default else text, default))

    box = HeadSettings("roialign-legacy", 7, 2, pyramid)
    heads = {"box": box}
    if mask:
        heads["mask"] = HeadSettings("roialign-legacy", 14, 2, pyramid)
    for head, settings_ in heads.items():
        pooler = f"{'box' if head == 'box' else 'mask'}_roi_pool = MultiScaleRoIAlign(...) in {SOURCE['faster' if head == 'box' else 'mask']}"
        note(head, "method", "roialign-legacy", "MultiScaleRoIAlign -> roi_align(aligned=False)")
        note(head, "pool", settings_.pool, f"{pooler}: output_size")
        note(head, "sampling_ratio", 2, f"{pooler}: sampling_ratio")
        levels = f"P{pyramid.levels[0]}-P{pyramid.levels[-1]} (strides {','.join(map(str, pyramid.strides))})"
        note(head, "levels", levels, "featmap_names 0-3 of the backbone" if pyramid is FPN else
             "MobileNetV3 FPN: maps 0 and 1 both at stride 32")
        note(head, "mapper", "torchvision (224 px at level 4)", "LevelMapper defaults")
    min_size, max_size = given.get("min_size", min_size), given.get("max_size", max_size)
    note("", "resize", "torchvision", f"GeneralizedRCNNTransform in {source}")
    note("", "min_size", min_size, "min_size", str(given.get("min_size", "")), "min_size" not in given)
    note("", "max_size", max_size, "max_size", str(given.get("max_size", "")), "max_size" not in given)
    note("", "pad_divisor", 32, "GeneralizedRCNNTransform(size_divisible=32)")
    resize = Resize("torchvision", short=(min_size,), max_size=max_size, pad_divisor=32)
    return ModelConfig(text, "torchvision", heads, resize, tuple(settings), (), ())
