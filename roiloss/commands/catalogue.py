"""``roiloss methods`` and ``roiloss presets``: what roiloss knows, as a list or as data."""

from __future__ import annotations

import click

from .options import handle_errors


def show(frame, fmt: str, key: str) -> None:
    from ..terminal import console, record_list
    from ..writers import write_frame

    if fmt != "table":
        write_frame(frame, None, fmt)
    else:
        console().print(record_list(frame, key))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people, csv or json for programs.")
@handle_errors
def presets(fmt):
    """The framework presets: what each resolves to and the source it mirrors.

    \b
    Example:
      roiloss presets --format csv
    """
    from ..presets import presets_frame
    show(presets_frame(), fmt, "preset")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people, csv or json for programs.")
@handle_errors
def methods(fmt):
    """The methods roiloss knows: semantics and the implementations they reproduce."""
    from ..methods import methods_frame
    show(methods_frame(), fmt, "method")
