"""roiloss: what RoI Pool, RoI Warp and RoI Align lose and gain on your boxes.

The public API (docs/semantics.md has the semantics):

* reading: :func:`read_boxes`, :func:`iter_boxes`
* analysing: :func:`analyze`, :func:`grid`, :func:`coefficients`, :func:`audit`
* semantics: :func:`resolve`, :class:`Semantics`, :class:`Geometry`, :class:`Pyramid`, :class:`Resize`,
  :data:`PRESETS`, :data:`METHODS`
"""

from .allocator import tune_allocator
from .api import analyze, audit, coefficients, grid
from .errors import InputError, OutputError
from .readers import iter_boxes, read_boxes
from .geometry import Geometry
from .methods import METHODS
from .presets import PRESETS
from .pyramid import Pyramid
from .semantics import Semantics, resolve
from .transforms import Resize

__all__ = ["analyze", "audit", "coefficients", "grid", "read_boxes", "iter_boxes", "InputError", "OutputError", "resolve", "tune_allocator", "Geometry", "METHODS", "PRESETS",
           "Pyramid", "Resize", "Semantics"]
__version__ = "0.2.0"
