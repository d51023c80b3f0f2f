"""roiloss: what RoI Pool, RoI Warp and RoI Align lose and gain on your boxes.

The public API (docs/semantics.md has the semantics):

* reading: :func:`read_boxes`, :func:`iter_boxes` (:func:`iter_box_tables`: the same chunks as
  :class:`BoxTable`, numpy columns read without pandas, as the command line reads them)
* analysing: :func:`analyze`, :func:`grid`, :func:`coefficients`, :func:`audit`, :func:`sweep`, :func:`report`,
  :func:`compare`
* semantics: :func:`resolve`, :class:`Semantics`, :class:`Geometry`, :class:`Pyramid`, :class:`Resize`,
  :data:`PRESETS`, :data:`METHODS`
* model configs: :func:`read_model_config`, :func:`model_preset`, :class:`ModelConfig`
* masks: :func:`mask_ceiling` (docs/semantics.md §12)

Names are imported on first use, so ``roiloss --version`` does not pay for pandas (and the table
view of ``roiloss analyze`` on one plain CSV or COCO file never imports it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

_EXPORTS = {
    "analyze": "api", "audit": "api", "coefficients": "api", "grid": "api",
    "read_boxes": "readers", "iter_boxes": "readers", "iter_box_tables": "readers", "BoxTable": "box_table",
    "InputError": "errors", "OutputError": "errors",
    "resolve": "semantics", "Semantics": "semantics",
    "Geometry": "geometry", "METHODS": "methods", "PRESETS": "presets", "Pyramid": "pyramid",
    "Resize": "transforms", "tune_allocator": "allocator",
    "mask_ceiling": "masks",
    "read_model_config": "modelconfig", "model_preset": "modelconfig", "ModelConfig": "modelconfig",
    "summary_part": "partitions", "merge_summaries": "partitions", "summarize": "stats",
    "report": "html_report", "sweep": "sweeps", "compare": "comparison",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'roiloss' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .allocator import tune_allocator
    from .api import analyze, audit, coefficients, grid
    from .box_table import BoxTable
    from .errors import InputError, OutputError
    from .geometry import Geometry
    from .masks import mask_ceiling
    from .methods import METHODS
    from .modelconfig import ModelConfig, model_preset, read_model_config
    from .presets import PRESETS
    from .pyramid import Pyramid
    from .readers import iter_box_tables, iter_boxes, read_boxes
    from .comparison import compare
    from .html_report import report
    from .semantics import Semantics, resolve
    from .sweeps import sweep
    from .partitions import merge_summaries, summary_part
    from .stats import summarize
    from .transforms import Resize
