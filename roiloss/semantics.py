"""The resolved semantics of one analysis: methods, geometry, pyramid, input transform, preset.

:func:`resolve` is the one place where a preset and explicit settings meet: every setting left at
``None`` takes the preset's value (or the default), every explicit one wins. The command line and
the Python API both call it, so they resolve identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .geometry import PLACEMENTS, Geometry, parse_size
from .methods import METHODS, resolve_methods
from .presets import HEADS, PRESETS, Preset
from .pyramid import Pyramid, parse_levels, parse_strides
from .transforms import RULES, Resize

@dataclass(frozen=True)
class ConfigSource:
    """The model config (or torchvision model) that gave a Semantics its values (docs/semantics.md §11)."""

    path: str
    label: str  # "model config FILE" or "model torchvision:NAME"
    framework: str
    from_file: tuple[str, ...] = ()  # settings the file set (and no explicit argument overrode)
    warnings: tuple[str, ...] = ()  # keys that change pooling which roiloss does not understand


DEFAULTS = {"stride": 16.0, "pool": 7, "sampling_ratio": 2, "placement": "centered", "arithmetic": "float32"}


@dataclass(frozen=True)
class Semantics:
    """Everything that decides which cells are read: see ``docs/semantics.md``.

    ``pyramid`` is ``None`` for a single feature map at ``geometry.stride``; ``resize`` is the
    model's input transform (``Resize()`` = none).
    """

    methods: tuple[str, ...]
    geometry: Geometry = field(default_factory=Geometry)
    pyramid: Pyramid | None = None
    resize: Resize = field(default_factory=Resize)
    preset: str | None = None
    head: str = "box"
    config: ConfigSource | None = None

    def with_geometry(self, **changes) -> "Semantics":
        """A copy with some geometry fields changed (``stride`` drops the pyramid)."""
        geometry = replace(self.geometry, **changes)
        pyramid = None if "stride" in changes else self.pyramid
        return replace(self, geometry=geometry, pyramid=pyramid)

    def with_methods(self, methods) -> "Semantics":
        return replace(self, methods=tuple(resolve_methods(methods)))

    def describe(self) -> str:
        """The resolved semantics in one line, as every report prints it."""
        g = self.geometry
        parts = [f"preset {self.preset} ({self.head} head)"] if self.preset else []
        if self.config:
            c = self.config
            own = f"; from it: {', '.join(n.replace('_', ' ') for n in c.from_file)}" if c.from_file else ""
            parts.append(f"{c.label} ({c.framework}, {self.head} head{own})")
        parts.append(f"methods {','.join(self.methods)}")
        if self.resize.active:
            parts.append(self.resize.describe())
        parts.append(self.pyramid.describe() if self.pyramid else f"stride {g.stride:g}")
        rows, cols = g.pool
        parts += [f"pool {rows}x{cols}", f"sampling ratio {g.sampling_ratio or 'adaptive'}",
                  f"placement {g.placement}", f"arithmetic {g.arithmetic}"]
        aligned = [f"aligned={METHODS[m].aligned}" for m in self.methods if METHODS[m].aligned is not None]
        if aligned:
            parts.append(",".join(aligned))
        return " | ".join(parts)

    def to_dict(self) -> dict:
        """Plain values for machine reports."""
        g = self.geometry
        out = {"preset": self.preset, "head": self.head, "methods": list(self.methods), "stride": g.stride,
               "pool": list(g.pool), "sampling_ratio": g.sampling_ratio, "sample_placement": g.placement,
               "arithmetic": g.arithmetic,
               "resize": {"rule": self.resize.rule, "short": list(self.resize.short), "max_size": self.resize.max_size,
                          "size": list(self.resize.size) if self.resize.size else None,
                          "pad_divisor": self.resize.pad_divisor}}
        if self.pyramid:
            p = self.pyramid
            out.update(levels=list(p.levels), strides=p.strides, mapper=p.mapper, canonical_scale=p.canonical_scale,
                       canonical_level=p.canonical_level)
        if self.config:
            out.update(model_config=self.config.path, model_framework=self.config.framework)
        out["summary"] = self.describe()
        return out


def resolve(preset: str | Preset | None = None, head: str = "box", methods=None, stride=None, pool=None,
            sampling_ratio=None, sample_placement=None, arithmetic=None, pyramid: Pyramid | None = None,
            strides=None, levels=None, level_mapper=None, canonical_scale=None, canonical_level=None,
            resize: str | Resize | None = None, min_size=None, max_size=None, pad_divisor=None,
            model_config=None) -> Semantics:
    """Resolve settings against a preset; ``None`` means "not given". Raises ``ValueError``/``TypeError``
    naming the parameter at fault.

    Args:
        preset: a name from :data:`roiloss.PRESETS` (or a :class:`Preset`).
        head: ``box`` or ``mask``: which head's pool size a preset gives.
        methods, stride, pool, sampling_ratio, sample_placement, arithmetic: see :func:`roiloss.analyze`.
        pyramid: a :class:`Pyramid`; or build one with ``strides`` (``"4,8,16,32"``) or ``levels``
            (``"2-5"``), ``level_mapper``, ``canonical_scale``, ``canonical_level``. A ``stride``
            given explicitly means one feature map (a preset's pyramid is dropped).
        resize: a rule name (``torchvision``, ``detectron2``, ``mmdet``, ``maskrcnn-benchmark``,
            ``fast-rcnn``, ``square``, ``none``, or ``fixed:WxH``) or a :class:`Resize`;
            ``min_size`` (one short side or several), ``max_size`` and ``pad_divisor`` override it.
        model_config: the model's own config instead of a preset: a Detectron2, maskrcnn-benchmark or
            mmdetection config file, a ``torchvision:NAME[,min_size=N,max_size=N]`` spec, or a
            :class:`roiloss.modelconfig.ModelConfig` (docs/semantics.md §11). ``head`` picks its
            box or mask head; explicit arguments still win. Not together with ``preset``. A bad
            config raises :class:`roiloss.InputError` naming the file and the key.
    """
    config = None
    if model_config is not None:
        if preset is not None:
            raise ValueError("give a preset or a model config, not both")
        if head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
        from .modelconfig import load_model_config
        config = load_model_config(model_config)
        preset = config.preset(head)
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        preset = PRESETS[preset]
    elif preset is not None and not isinstance(preset, Preset):
        raise TypeError(f"preset must be a name or a Preset, got {type(preset).__name__}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")

    if sample_placement is not None and sample_placement not in PLACEMENTS:
        raise ValueError(f"sample_placement must be one of {', '.join(PLACEMENTS)}, got {sample_placement!r}")

    def pick(value, preset_value, default):
        return value if value is not None else preset_value if preset_value is not None else default

    geometry = Geometry(
        stride=pick(stride, preset.stride if preset else None, DEFAULTS["stride"]),
        pool=pick(pool, preset.pool(head) if preset else None, DEFAULTS["pool"]),
        sampling_ratio=pick(sampling_ratio, preset.sampling_ratio if preset else None, DEFAULTS["sampling_ratio"]),
        placement=pick(sample_placement, None, DEFAULTS["placement"]),
        arithmetic=pick(arithmetic, None, DEFAULTS["arithmetic"]),
    )
    names = resolve_methods(methods if methods is not None else preset.method if preset else None)

    if strides is not None and levels is not None:
        raise ValueError("give strides or levels, not both")
    level_list = parse_strides(strides) if strides is not None else parse_levels(levels) if levels is not None else None
    if stride is not None and (pyramid is not None or level_list is not None):
        raise ValueError("give stride (one feature map) or a pyramid (strides/levels), not both")
    if pyramid is not None and not isinstance(pyramid, Pyramid):
        raise TypeError(f"pyramid must be a roiloss.Pyramid, got {type(pyramid).__name__}")
    base = pyramid or (None if stride is not None else preset.pyramid if preset else None)
    mapper_given = any(v is not None for v in (level_mapper, canonical_scale, canonical_level))
    if base is not None or level_list is not None or mapper_given:
        base = (base or Pyramid()).with_overrides(levels=level_list, mapper=level_mapper,
                                                  canonical_scale=canonical_scale, canonical_level=canonical_level)
    semantics = Semantics(methods=tuple(names), geometry=geometry, pyramid=base,
                          resize=resolve_resize(resize, preset, min_size, max_size, pad_divisor),
                          preset=preset.name if preset else None, head=head)
    if config is None:
        return semantics
    placed = _first(stride, pyramid, strides, levels)  # a new map or pyramid replaces the config's
    given = {"method": methods, "pool": pool, "sampling_ratio": sampling_ratio, "levels": placed, "stride": placed,
             "mapper": _first(level_mapper, pyramid, stride), "canonical_scale": _first(canonical_scale, pyramid, stride),
             "resize": resize, "min_size": _first(min_size, resize), "max_size": _first(max_size, resize),
             "pad_divisor": _first(pad_divisor, resize)}
    own = tuple(n for n in config.from_file(head) if given.get(n) is None)
    source = ConfigSource(config.path, config.label, config.framework, own, config.warnings)
    return replace(semantics, preset=None, config=source)


def _first(*values):
    return next((v for v in values if v is not None), None)


def resolve_resize(resize, preset: Preset | None, min_size=None, max_size=None, pad_divisor=None) -> Resize:
    """The input transform: ``resize`` (a name, ``fixed:WxH`` or a :class:`Resize`), else the
    preset's, else none; then the explicit ``min_size``/``max_size``/``pad_divisor``."""
    if isinstance(resize, Resize):
        base = resize
    elif isinstance(resize, str):
        rule, _, size = resize.partition(":")
        if rule not in RULES:
            raise ValueError(f"resize must be one of {', '.join(RULES)} (fixed as fixed:WxH), got {resize!r}")
        if rule == "fixed":
            base = Resize("fixed", size=parse_size(size or None, "resize fixed:WxH"))
        elif preset is not None and preset.resize.rule == rule:
            base = preset.resize
        else:
            base = Resize(rule, **_rule_defaults(rule))
    elif resize is None:
        base = preset.resize if preset else Resize()
    else:
        raise TypeError(f"resize must be a rule name or a roiloss.Resize, got {type(resize).__name__}")
    changes = {}
    if min_size is not None:
        if base.rule in ("none", "fixed"):
            raise ValueError(f"min_size needs a resize rule that sets a short side (resize is {base.rule!r})")
        changes["short"] = _parse_sides(min_size)
    if max_size is not None:
        changes["max_size"] = float(max_size)
    if pad_divisor is not None:
        changes["pad_divisor"] = pad_divisor
    return replace(base, **changes) if changes else base


def _rule_defaults(rule: str) -> dict:
    if rule == "fast-rcnn":
        return {"short": (600,), "max_size": 1000}
    if rule == "square":
        return {"short": (800,), "max_size": 1024}
    if rule == "none":
        return {}
    return {"short": (800,), "max_size": 1333, "pad_divisor": 32}


def _parse_sides(value) -> tuple[float, ...]:
    """``800``, ``"640,672,800"``, ``"640-800:32"`` or a sequence -> short sides."""
    if isinstance(value, (int, float)):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(float(v) for v in value)
    text = str(value).strip()
    try:
        if "-" in text:
            span, _, step = text.partition(":")
            a, b = (int(v) for v in span.split("-"))
            step = int(step or 32)
            if b < a or step <= 0:
                raise ValueError
            return tuple(range(a, b + 1, step))
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"min_size must be N, N,N,... or LOW-HIGH[:STEP], got {value!r}") from None
