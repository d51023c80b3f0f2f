"""How one feature map is pooled: stride, pool size, sampling, placement and arithmetic.

Also the parsers every entry point shares (pool sizes, image sizes), so the library and the
command line accept exactly the same spellings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .choices import ARITHMETICS, PLACEMENTS  # noqa: F401  (re-exported)

MAX_POOL = 256  # bins per axis: mask heads use 14-28; beyond this a pool is a typo and grids explode


def parse_pool(pool) -> tuple[int, int]:
    """``7``, ``"7"``, ``"7x5"`` (rows x columns) or ``(7, 5)`` -> ``(rows, columns)``.

    Raises ``ValueError`` naming ``pool`` for anything else.
    """
    if isinstance(pool, (tuple, list)):
        if len(pool) != 2:
            raise ValueError(f"pool must be N, 'HxW' or (rows, columns), got {pool!r}")
        rows, cols = pool
    elif isinstance(pool, (int, np.integer)) and not isinstance(pool, bool):
        rows = cols = int(pool)
    elif isinstance(pool, str):
        text = pool.strip().lower().replace("×", "x")
        parts = text.split("x") if "x" in text else [text, text]
        if len(parts) != 2:
            raise ValueError(f"pool must be N or HxW (e.g. 7 or 14x7), got {pool!r}")
        rows, cols = parts
    else:
        raise TypeError(f"pool must be an int, 'HxW' or (rows, columns), got {type(pool).__name__}")
    try:
        rows, cols = int(rows), int(cols)
    except (TypeError, ValueError):
        raise ValueError(f"pool must be N or HxW (e.g. 7 or 14x7), got {pool!r}") from None
    if not (1 <= rows <= MAX_POOL and 1 <= cols <= MAX_POOL):
        raise ValueError(f"pool sizes must be between 1 and {MAX_POOL}, got {pool!r}")
    return rows, cols


def parse_size(size, name: str = "image_size") -> tuple[float, float] | None:
    """``(W, H)``, ``"WxH"`` or ``None`` -> ``(W, H)`` in pixels, or ``None``.

    Raises ``ValueError`` (or ``TypeError``) naming ``name`` for anything else.
    """
    if size is None:
        return None
    if isinstance(size, str):
        parts = size.strip().lower().replace("×", "x").split("x")
        if len(parts) != 2:
            raise ValueError(f"{name} must be WxH (e.g. 640x480), got {size!r}")
    elif isinstance(size, (tuple, list, np.ndarray)) and len(size) == 2:
        parts = list(size)
    else:
        raise TypeError(f"{name} must be (width, height) or 'WxH', got {size!r}")
    try:
        w, h = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be WxH (e.g. 640x480), got {size!r}") from None
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        raise ValueError(f"{name} must be positive, got {size!r}")
    return w, h


def parse_stride(stride, name: str = "stride") -> float:
    """A positive, finite number of pixels per feature cell (``"16"`` accepted)."""
    if isinstance(stride, bool):
        raise TypeError(f"{name} must be a number, got {stride!r}")
    try:
        value = float(stride)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {stride!r}") from None
    if not (math.isfinite(value) and 1e-3 <= value <= 1e6):
        raise ValueError(f"{name} must be a number of pixels between 0.001 and 1e6, got {stride!r}")
    return value


@dataclass(frozen=True)
class Geometry:
    """How boxes are pooled from one feature map.

    Args:
        stride: image pixels per feature cell.
        pool: output bins ``(rows, columns)``; ``7``, ``"7x5"`` and ``(7, 5)`` are accepted.
        sampling_ratio: samples per bin and axis for the sampling methods; 0 = adaptive.
        placement: ``centered`` (the frameworks) or ``thirds`` (the seed article's figure).
        arithmetic: ``float32`` (the frameworks' kernels, decision for decision) or ``exact``
            (float64 mathematics); see ``docs/semantics.md`` §9.
    """

    stride: float = 16
    pool: tuple[int, int] = (7, 7)
    sampling_ratio: int = 2
    placement: str = "centered"
    arithmetic: str = "float32"

    def __post_init__(self):
        object.__setattr__(self, "pool", parse_pool(self.pool))
        object.__setattr__(self, "stride", parse_stride(self.stride))
        ratio = self.sampling_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer, float)) or ratio != int(ratio) or ratio < 0:
            raise ValueError(f"sampling_ratio must be a whole number >= 0, got {ratio!r}")
        object.__setattr__(self, "sampling_ratio", int(ratio))
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        if self.arithmetic not in ARITHMETICS:
            raise ValueError(f"arithmetic must be one of {', '.join(ARITHMETICS)}, got {self.arithmetic!r}")

    def at_stride(self, stride: float) -> "Geometry":
        """The same pooling on another feature map (a pyramid level)."""
        return Geometry(stride, self.pool, self.sampling_ratio, self.placement, self.arithmetic)

    def describe(self) -> str:
        rows, cols = self.pool
        return (f"stride {self.stride:g} | pool {rows}x{cols} | sampling ratio {self.sampling_ratio or 'adaptive'} | "
                f"placement {self.placement} | arithmetic {self.arithmetic}")


def map_length(image_side, stride: float) -> np.ndarray:
    """Feature-map cells along one side: ``ceil(side / stride)``; ``inf`` when the side is unknown."""
    side = np.asarray(image_side, dtype=float)
    return np.where(np.isnan(side), np.inf, np.ceil(side / stride))
