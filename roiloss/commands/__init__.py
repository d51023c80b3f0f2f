"""The commands: each parses its options (:mod:`.options`), makes one library call, prints or writes."""

from .analyze import analyze
from .audit import audit
from .catalogue import methods, presets
from .grid import grid

COMMANDS = [analyze, grid, audit, methods, presets]
