"""roiloss: what RoI Pool, RoI Warp and RoI Align lose and gain on your boxes."""

from .allocator import tune_allocator
from .api import analyze, coefficients, grid
from .engine import Geometry
from .methods import METHODS
from .pyramid import PRESETS, Pyramid

__all__ = ["analyze", "coefficients", "grid", "tune_allocator", "Geometry", "METHODS", "PRESETS", "Pyramid"]
__version__ = "0.1.0"
