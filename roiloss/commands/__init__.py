"""The commands: each parses its options (:mod:`.options`), makes one library call, prints or writes."""

from .analyze import analyze
from .audit import audit
from .catalogue import methods, presets
from .compare import compare
from .explain import explain_config
from .grid import grid
from .masks import masks
from .report import report
from .sweep import sweep

COMMANDS = [analyze, grid, audit, methods, presets, explain_config, report, sweep, compare, masks]
