"""``roiloss masks``: the mask ceiling of COCO instances per method, summaries, the worst instance."""

from __future__ import annotations

import types

import click
from click.core import ParameterSource
from rich.markup import escape

from .. import __version__
from .common import check_output_format, output_options, with_progress
from .options import OUTPUT, GroupedCommand, err_console, handle_errors, option, resolve_options, semantics_options


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@semantics_options
@option("--mask-size", type=click.IntRange(1, 256), default=28, show_default=True, metavar="N", group="Pooling",
        help="The mask head's output (the target's resolution, as project_masks_on_boxes).")
@lambda fn: output_options(fn, rows=10)
@option("--categories", type=click.IntRange(min=0), default=10, show_default=True, metavar="N", group=OUTPUT,
        help="Categories in the per-category table (most instances first; 0 = no table).")
@option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), metavar="FILE", group=OUTPUT,
        help="Draw the worst instance: mask, grid, round trip per method (.png or .svg).")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def masks(ctx, input, mask_size, fmt, output, rows, categories, plot_path, progress, **options):
    """The mask ceiling: how much mask IoU each operator leaves on the table, per instance.

    INPUT is a COCO instances JSON file (or - for stdin) whose annotations carry a segmentation
    (polygons, RLE or compressed RLE). Each mask is area-averaged onto the feature grid, pooled by
    each method (pool 14 by default, --head mask with a preset), pasted back as torchvision does,
    and compared with itself (IoU); target = the 28x28 training target alone. Python:
    roiloss.mask_ceiling().

    \b
    Examples:
      roiloss masks instances_val2017.json --stride 16
      roiloss masks instances_val2017.json --preset torchvision --methods roipool,roialign --plot worst.png
    """
    from ..mask_report import MaskSummary
    from ..masks import default_workers, iter_measure, read_instances
    from ..writers import TableWriter, atomic_output

    check_output_format(ctx, fmt, output)
    if plot_path and not str(plot_path).lower().endswith((".png", ".svg")):
        raise click.UsageError("--plot takes a .png or .svg file name", ctx=ctx)
    if ctx.get_parameter_source("head") in (ParameterSource.DEFAULT, None):
        options["head"] = "mask"  # the mask head's pooler
    if options["pool"] is None and options["preset"] is None:
        options["pool"] = "14"
    semantics, reading = resolve_options(ctx, options)
    if reading.get("format") not in (None, "coco"):
        raise click.UsageError(f"roiloss masks reads COCO instances JSON, not --input-format {reading['format']}", ctx=ctx)
    data = read_instances(input, skip_crowd=reading.get("skip_crowd", False), image_size=reading.get("image_size"))
    parts = data.parts()
    segments: list = []

    def chunks():
        for part, segs in parts:
            segments.append(segs)
            yield part

    source = types.SimpleNamespace(name=data.name, chunks=chunks(), progress=lambda: (0, len(data.table)),
                                   unit="boxes", notes=data.notes)
    summary = MaskSummary()
    worst = [None]
    workers = default_workers(len(data.table))

    def frames():
        pairs = ((part, segments.pop(0)) for part in with_progress(source, progress, verb="measuring"))
        for part, segs, frame in iter_measure(pairs, semantics, mask_size, strict=reading.get("strict", False),
                                              name=data.name, workers=workers):
            summary.add(frame)
            if plot_path:
                _track_worst(worst, frame, part, segs, len(semantics.methods))
            yield frame

    if fmt == "table":
        for _ in frames():
            pass
        from ..mask_report import categories_table, methods_table, sizes_table, worst_table
        from ..terminal import console

        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} | {escape(data.name)} (coco, masks) | {escape(semantics.describe())} "
                      f"| mask size {mask_size}")
            out.print(methods_table(summary.methods()))
            sizes = summary.sizes()
            if len(sizes):
                out.print(sizes_table(sizes))
            per_category = summary.categories()
            if len(per_category) and categories:
                out.print(categories_table(per_category, categories))
            if rows:
                shown = summary.worst(rows)
                if len(shown):
                    out.print(worst_table(shown, int((~summary.rows["invalid"]).sum())))
    else:
        with atomic_output(output, binary=True) as stream:
            writer = TableWriter(stream, fmt, background=workers == 1)  # no thread beside a process pool's start
            try:
                for frame in frames():
                    writer.write(frame)
            finally:
                writer.close()
    _report(summary, data)
    if plot_path:
        _plot(worst[0], semantics, mask_size, plot_path, data.name)


def _track_worst(worst, frame, part, segs, methods) -> None:
    """Keep the instance with the lowest mask ceiling so far: its one-row table, segmentation,
    input scale and row."""
    import numpy as np

    values = frame["mask_ceiling"].to_numpy(float)
    if not len(values) or np.isnan(values).all():
        return
    i = int(np.nanargmin(values))
    if worst[0] is None or values[i] < worst[0][0]:
        box = i // (len(frame) // len(part))
        short = frame["short_side"].iat[i] if "short_side" in frame.columns else None
        worst[0] = (values[i], part.iloc[[box]].reset_index(drop=True), segs[box], short, frame.iloc[i])


def _plot(worst, semantics, mask_size, path, name) -> None:
    from ..errors import InputError
    from ..mask_report import plot_instance
    from ..masks import detail

    if worst is None:
        raise InputError(f"{name}: no instance could be measured: nothing to plot")
    _, table, segment, short, row = worst
    found = detail(table, [segment], semantics, mask_size, short)
    title = (f"roi {row['roi_id']} ({row['category']}): ({row['x1']:g}, {row['y1']:g}, {row['x2']:g}, {row['y2']:g}) px"
             f" | {semantics.describe()}")
    plot_instance(found, list(semantics.methods), title, path)


def _report(summary, data) -> None:
    rows = summary.rows
    parts = []
    if not len(data.table):
        parts.append(f"{data.name}: the input holds no instances")
    else:
        first = rows[rows["method"] == rows["method"].iat[0]] if len(rows) else rows
        invalid = int(first["invalid"].sum())
        if invalid:
            parts.append(f"{invalid} of {len(first)} instances cannot be measured (flags invalid:<reason>, ceilings "
                         "empty; --strict makes this an error)")
    skipped = data.notes.get("skipped_crowd")
    if skipped:
        parts.append(f"{skipped} crowd instances skipped (--skip-crowd)")
    for part in parts:
        err_console().print(f"roiloss: {escape(part)}")
