"""The commands: each parses its options (:mod:`.options`), makes one library call, prints or writes.

A command's module is imported only when the command runs (or help lists it): ``roiloss analyze``
does not pay for the options of ``grid`` or ``masks``.
"""

from __future__ import annotations

import importlib

import click

# command name -> (module, function), in this package
COMMANDS = {
    "analyze": ("analyze", "analyze"), "audit": ("audit", "audit"), "compare": ("compare", "compare"),
    "explain-config": ("explain", "explain_config"), "grid": ("grid", "grid"), "masks": ("masks", "masks"),
    "methods": ("catalogue", "methods"), "presets": ("catalogue", "presets"), "report": ("report", "report"),
    "sweep": ("sweep", "sweep"),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, function = COMMANDS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)
