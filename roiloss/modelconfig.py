"""The model's own config as semantics: Detectron2 and maskrcnn-benchmark YAML, mmdetection configs,
torchvision builders (docs/semantics.md §11).

:func:`read_model_config` reads a config file and resolves everything a preset resolves, per head:
the method (from the pooler type), the pool, the sampling ratio, the levels or the stride, the
level mapper and its canonical scale, and the input resize and padding. Every setting remembers
the key that gave it (or that it is the framework's default) and the file that key is in, so
``roiloss explain-config`` can show the resolution key by key. Keys that change pooling but that
roiloss does not understand are collected in :attr:`ModelConfig.warnings`, never dropped silently.

Files are data, never code: YAML through ``yaml.safe_load``, JSON through :mod:`json`, and
mmdetection ``.py`` configs through :mod:`ast` and a literal evaluation (:mod:`.modelconfig_python`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .modelconfig_files import MISSING, Tree, load_tree
from .presets import Preset
from .pyramid import Pyramid
from .transforms import Resize

FRAMEWORKS = ("detectron2", "maskrcnn-benchmark", "mmdet", "torchvision")


@dataclass(frozen=True)
class HeadSettings:
    """What one head (``box`` or ``mask``) pools with: as a preset states it."""

    method: str
    pool: int | tuple[int, int]
    sampling_ratio: int
    pyramid: Pyramid | None = None
    stride: float | None = None


@dataclass(frozen=True)
class Setting:
    """One step of the resolution: which key gave which setting (``default``: the key is absent
    and the framework's default applies)."""

    head: str  # box, mask, or "" for the model's input
    setting: str  # method, pool, sampling_ratio, levels, stride, mapper, canonical_scale, resize, ...
    value: str  # the roiloss value, as text
    key: str  # the config key (or builder argument) that decides it
    raw: str  # the key's value in the config ("" for a default)
    file: str  # the file the key is in ("" for a default)
    default: bool


@dataclass(frozen=True)
class ModelConfig:
    """A model's pooling semantics, read from its config.

    Attributes:
        path: the config file (or the ``torchvision:NAME,...`` spec).
        framework: ``detectron2``, ``maskrcnn-benchmark``, ``mmdet`` or ``torchvision``.
        heads: ``{"box": HeadSettings, "mask": HeadSettings}`` (no ``mask`` without a mask head).
        resize: the test-time input transform.
        settings: the resolution, key by key (:meth:`explain_frame`).
        warnings: keys that change pooling which roiloss does not understand.
        files: every file read, the config first, then its bases.
    """

    path: str
    framework: str
    heads: dict = field(default_factory=dict)
    resize: Resize = field(default_factory=Resize)
    settings: tuple[Setting, ...] = ()
    warnings: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"model {self.path}" if self.framework == "torchvision" else f"model config {self.path}"

    def head(self, name: str = "box") -> HeadSettings:
        """The settings of head ``name``; ``ValueError`` if the model has no such head."""
        if name not in self.heads:
            raise ValueError(f"{self.path}: the model has no {name} head (heads: {', '.join(self.heads)})")
        return self.heads[name]

    def from_file(self, head: str = "box") -> tuple[str, ...]:
        """The settings of ``head`` (and the input transform) that keys in the config set."""
        names = []
        for s in self.settings:
            if s.head in ("", head) and not s.default and s.setting not in names:
                names.append(s.setting)
        return tuple(names)

    def preset(self, head: str = "box") -> Preset:
        """Head ``head`` as a :class:`~roiloss.presets.Preset` (both pool sizes are that head's)."""
        h = self.head(head)
        return Preset(self.path, h.method, h.sampling_ratio, h.pool, h.pool, f"{self.framework} config {self.path}",
                      self.resize, pyramid=h.pyramid, stride=h.stride)

    def explain_frame(self):
        """The resolution as a table: ``head, setting, value, key, raw, file, default``."""
        import pandas as pd

        columns = ["head", "setting", "value", "key", "raw", "file", "default"]
        return pd.DataFrame([[getattr(s, c) for c in columns] for s in self.settings], columns=columns)


def read_model_config(path: str | Path, framework: str | None = None) -> ModelConfig:
    """Read a model's config file and resolve its pooling semantics (docs/semantics.md §11).

    Args:
        path: a Detectron2 or maskrcnn-benchmark YAML config (``_BASE_`` files are followed,
            relative to the file that names them), an mmdetection config dumped as JSON or YAML
            (``mim run mmdet print_config CONFIG --save-path out.json``), or an mmdetection ``.py``
            config (parsed, never executed; ``_base_`` lists are followed).
        framework: ``detectron2``, ``maskrcnn-benchmark`` or ``mmdet`` to skip the detection
            from the keys (``MODEL.BACKBONE.CONV_BODY`` or ``POOLER_SCALES``: maskrcnn-benchmark;
            other upper-case ``MODEL``: Detectron2; lower-case ``model``: mmdetection).

    Returns:
        A :class:`ModelConfig`; ``resolve(model_config=...)`` turns it into a Semantics.

    Raises:
        InputError: the file (or a base) is missing, unreadable, not a detector config, has a
            cycle of bases, an unknown pooler type or non-literal Python; the message names the
            file and the key.

    Example:
        >>> c = read_model_config("tests/data/configs/detectron2/faster_rcnn_R_50_C4_roipool.yaml")
        >>> h = c.head("box")
        >>> c.framework, h.method, h.pool, h.stride, c.resize.short, c.resize.pad_divisor
        ('detectron2', 'roipool', 14, 16.0, (600,), 0)
    """
    if framework is not None and framework not in FRAMEWORKS[:3]:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS[:3])}, got {framework!r}")
    tree = load_tree(Path(path))
    kind = framework or detect_framework(tree)
    if kind == "mmdet":
        from .modelconfig_mmdet import interpret
    else:
        from .modelconfig_yacs import interpret
    return interpret(tree, kind)


def model_preset(spec: str) -> ModelConfig:
    """A torchvision detection builder's defaults as data (no torch needed).

    ``spec`` is ``torchvision:NAME`` with optional ``,min_size=N,max_size=N`` keyword overrides,
    e.g. ``torchvision:maskrcnn_resnet50_fpn,min_size=640``; the names are in
    :data:`roiloss.modelconfig_torchvision.BUILDERS`.

    Example:
        >>> m = model_preset("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn")
        >>> m.resize.short, m.resize.max_size, m.head("box").pyramid.levels
        ((320,), 640, (5,))
    """
    from .modelconfig_torchvision import builder_config
    return builder_config(spec)


def load_model_config(value) -> ModelConfig:
    """A :class:`ModelConfig` as given, a ``torchvision:...`` spec, or a config file path."""
    if isinstance(value, ModelConfig):
        return value
    if isinstance(value, (str, Path)):
        text = str(value)
        if text.startswith("torchvision:"):
            return model_preset(text)
        return read_model_config(value)
    raise TypeError(f"model_config must be a path, a 'torchvision:NAME' spec or a ModelConfig, "
                    f"got {type(value).__name__}")


def detect_framework(tree: Tree) -> str:
    data = tree.data
    if isinstance(data.get("model"), dict):
        return "mmdet"
    if isinstance(data.get("MODEL"), dict):
        model = data["MODEL"]
        heads = [model.get(h) for h in ("ROI_BOX_HEAD", "ROI_MASK_HEAD")]
        if ("CONV_BODY" in (model.get("BACKBONE") or {}) or any(isinstance(h, dict) and "POOLER_SCALES" in h for h in heads)
                or "SIZE_DIVISIBILITY" in (data.get("DATALOADER") or {})):
            return "maskrcnn-benchmark"
        return "detectron2"
    raise InputError(f"{tree.path}: not a Detectron2, maskrcnn-benchmark or mmdetection config "
                     "(no MODEL or model key)")


# --- shared by the interpreters -------------------------------------------------------------------

class Recorder:
    """Collects the settings, their keys and the warnings while a config is interpreted."""

    def __init__(self, tree: Tree):
        self.tree = tree
        self.settings: list[Setting] = []
        self.warnings: list[str] = []

    def take(self, key: str | tuple, default=MISSING):
        """``(value, file, is_default)`` of a key."""
        value, file = self.tree.get(key)
        if value is MISSING:
            return default, "", True
        return value, file, False

    def note(self, head: str, setting: str, value, key: str, raw=None, file: str = "", default: bool = False):
        text = value if isinstance(value, str) else _text(value)
        self.settings.append(Setting(head, setting, text, key, "" if default else _text(raw), "" if default else file,
                                     default))

    def warn(self, key: str, message: str, file: str = "") -> None:
        self.warnings.append(f"{file or self.tree.path}: {key}: {message}")

    def result(self, framework: str, heads: dict, resize: Resize) -> ModelConfig:
        return ModelConfig(self.tree.path, framework, heads, resize, tuple(self.settings), tuple(self.warnings),
                           tuple(self.tree.files))


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return "" if value is None else str(value)


def pyramid_or_stride(strides: list[float], mapper: str, canonical_scale: float = 224.0, fail=None):
    """``(pyramid, stride)`` for the strides a head pools from: one map is a stride, several are
    a pyramid (consecutive powers of two). ``fail(message)`` makes the error."""
    if len(strides) == 1:
        return None, float(strides[0])
    levels = []
    for s in strides:
        k = round(float(s)).bit_length() - 1
        if float(s) != 2 ** k or k < 0:
            raise fail(f"pyramid strides must be powers of two, got {_text(strides)}")
        levels.append(k)
    if sorted(levels) != list(range(min(levels), max(levels) + 1)):
        raise fail(f"pyramid strides must be consecutive powers of two, got {_text(strides)}")
    return Pyramid(levels=tuple(sorted(levels)), mapper=mapper, canonical_scale=canonical_scale), None

