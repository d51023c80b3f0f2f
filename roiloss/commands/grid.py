"""``roiloss grid``: bins, samples and cells of boxes, streamed; the figure of one box."""

from __future__ import annotations

import click
from rich.markup import escape

from .. import __version__
from ..choices import DETAILS
from ..errors import InputError
from .options import (
    OUTPUT,
    GroupedCommand,
    err_console,
    handle_errors,
    option,
    resolve_options,
    semantics_options,
)
from .common import check_output_format, output_options, with_progress

GRID_SLICE = 256  # boxes per grid computation when streaming every row


def parse_boxes(specs, ctx):
    rows = []
    for spec in specs:
        try:
            values = [float(v) for v in spec.split(",")]
        except ValueError:
            values = []
        if len(values) != 4:
            raise click.BadParameter(f"expected X1,Y1,X2,Y2 (four numbers), got {spec!r}", ctx=ctx, param_hint="--box")
        rows.append(values)
    return rows


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="[INPUT]", required=False)
@option("--box", "box_specs", multiple=True, metavar="X1,Y1,X2,Y2", group="Input", help="A box in image pixels (repeatable).")
@option("--roi", "roi_ids", multiple=True, metavar="ID", group="Input", help="Only the box(es) with this roi_id (repeatable).")
@option("--detail", type=click.Choice(DETAILS), default=None, group=OUTPUT,
        help="bins: bin rectangles; samples: sample points and the cells they read; cells: coefficients [default: cells].")
@option("--level", "detail_alias", type=click.Choice(DETAILS), default=None, hidden=True)
@semantics_options
@output_options
@option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), metavar="FILE", group=OUTPUT,
        help="Draw the first selected box, one panel per method (.png or .svg).")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def grid(ctx, input, box_specs, roi_ids, detail, detail_alias, fmt, output, rows, plot_path, progress, **options):
    """The sampling grid of boxes: bins, sample points, feature cells and their weights.

    Give INPUT (CSV, COCO JSON or - for stdin), optionally narrowed with --roi, or one or more --box.
    Coordinates are feature-area units of the box's map: cell j spans [j, j+1), centre j + 0.5.
    Python: roiloss.grid().

    \b
    Examples:
      roiloss grid --box 296,192,496,337 --image-size 512x512 --stride 32 --pool 3 --detail samples
      roiloss grid boxes.csv --roi 17 --preset detectron2 --plot box17.png
    """
    import pandas as pd

    from ..analysis import model_boxes
    from ..api import grid as grid_call
    from ..boxes import normalise
    from ..writers import TableWriter, atomic_output

    detail = detail or detail_alias or "cells"
    check_output_format(ctx, fmt, output)
    semantics, reading = resolve_options(ctx, options)
    if plot_path and not str(plot_path).lower().endswith((".png", ".svg")):
        raise click.UsageError("--plot takes a .png or .svg file name", ctx=ctx)
    if bool(input) == bool(box_specs):
        raise click.UsageError("give either INPUT or --box X1,Y1,X2,Y2", ctx=ctx)
    if box_specs:
        name = "--box"
        tables = iter([normalise(parse_boxes(box_specs, ctx), image_size=reading["image_size"])])
    else:
        from ..readers import iter_boxes

        source = iter_boxes(input, **reading)
        name, tables = source.name, with_progress(source, progress, "listing")
    wanted, found, first_valid = set(roi_ids), set(), None
    frames, shown, more = [], 0, False
    with atomic_output(output, binary=fmt != "table") as stream:
        writer = TableWriter(stream, fmt) if fmt != "table" else None
        for table in tables:
            if wanted:
                table = table[table["roi_id"].astype(str).isin(wanted)].reset_index(drop=True)
                found |= set(table["roi_id"].astype(str))
            reasons = model_boxes(table, semantics).invalid  # reading problems and, e.g., a resize without a size
            for roi_id, reason in zip(table["roi_id"][reasons != ""], reasons[reasons != ""]):
                err_console().print(f"roiloss: roi {escape(str(roi_id))}: invalid box ({escape(reason)}), no grid")
            valid = table[reasons == ""]
            if first_valid is None and len(valid):
                first_valid = valid.iloc[[0]].reset_index(drop=True)
            if writer is not None:  # a few hundred boxes at a time: a box's grid can have thousands of rows
                for start in range(0, len(table), GRID_SLICE):
                    writer.write(grid_call(table.iloc[start:start + GRID_SLICE], semantics=semantics, detail=detail))
            elif shown < rows:
                frame = grid_call(table, semantics=semantics, detail=detail)
                frames.append(frame.head(rows - shown))
                shown += len(frames[-1])
                more = more or len(frame) > len(frames[-1])
            elif len(valid):
                more = True
                if not plot_path:
                    break  # the table is full: no need to read further
        missing = wanted - found
        if missing and (writer is not None or not more):
            raise InputError(f"{name}: no box with roi_id {', '.join(sorted(missing))}")
        if writer is not None:
            writer.close()
        else:
            from ..terminal import console, constant_columns, frame_table, grid_view

            out = console(stream)
            out.print(f"roiloss {__version__} | {escape(name)} | {escape(semantics.describe())} | detail {detail}")
            shown_rows, same = constant_columns(grid_view(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame(),
                                                ["roi_id", "short_side", "level", "stride", "method"])
            out.print(frame_table(shown_rows, title=f"Grid ({same})" if same else "Grid"))
            if more:
                out.print("(more rows not shown: --rows N, or --format csv for all)")
    if plot_path:
        if first_valid is None:
            raise InputError(f"{name}: no valid box to plot")
        if not (len(box_specs) == 1 or len(roi_ids) == 1):
            err_console().print(f"roiloss: plotting roi {escape(str(first_valid['roi_id'].iat[0]))} "
                                "(the first valid box; choose another with --roi)")
        plot_first(first_valid, semantics, plot_path, name)


def plot_first(first, semantics, plot_path: str, name: str) -> None:
    """Draw the box ``first`` (a one-row canonical table)."""
    from ..analysis import analyze_table, model_boxes
    from ..plot import plot_box  # matplotlib is slow to import: only when drawing

    roi = first.iloc[0]
    title = f"roi {roi.roi_id}: ({roi.x1:g}, {roi.y1:g}, {roi.x2:g}, {roi.y2:g}) px | {semantics.describe()}"
    plot_box(first, model_boxes(first, semantics), analyze_table(first, semantics), semantics, plot_path, title=title)
