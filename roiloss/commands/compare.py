"""``roiloss compare``: box by box, what side b reads differently from side a; exit 1 beyond --tol."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from .. import __version__
from ..choices import INPUT_FORMATS
from .options import INPUT, OUTPUT, GroupedCommand, handle_errors, option

SPEC_HELP = ("preset:NAME, method:NAME or config:FILE, then ,KEY=VALUE options (sampling_ratio, stride, pool, "
             "strides, levels, mapper, resize, min_size, max_size, pad_divisor, arithmetic, head, method), "
             "e.g. method:roialign-openvino,sampling_ratio=0,stride=16.")


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@option("--a", "spec_a", required=True, metavar="SPEC", group="Sides", help="The reference side: " + SPEC_HELP)
@option("--b", "spec_b", required=True, metavar="SPEC", group="Sides", help="The side checked against it.")
@option("--tol", type=click.FloatRange(min=0), default=1e-5, show_default=True, metavar="W", group="Sides",
        help="A box differs when a cell weight in a bin differs by more than W.")
@option("--input-format", type=click.Choice(INPUT_FORMATS), group=INPUT, help="Input format (default: sniffed).")
@option("--columns", metavar="NAME=HEADER,...", group=INPUT, help="Map CSV headers, e.g. x1=left,y1=top.")
@option("--image-size", metavar="WxH", group=INPUT, help="Image size for boxes whose input gives none.")
@option("--skip-crowd", is_flag=True, group=INPUT, help="Leave out COCO crowd boxes (iscrowd=1).")
@option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
        group=OUTPUT, help="table: the summary for people; csv, json: one row per box.")
@option("-o", "--output", metavar="FILE", group=OUTPUT, help="Write the csv/json rows to FILE instead of stdout.")
@option("--rows", type=click.IntRange(min=0), default=5, show_default=True, metavar="N", group=OUTPUT,
        help="Worst boxes shown in the table view.")
@option("--plot", metavar="FILE.png|.svg", group=OUTPUT, help="Draw the worst box (or --roi) with both grids overlaid.")
@option("--roi", metavar="ID", group=OUTPUT, help="The box --plot draws (its roi_id).")
@click.pass_context
@handle_errors
def compare(ctx, input, spec_a, spec_b, tol, input_format, columns, image_size, skip_crowd, fmt, output, rows,
            plot, roi):
    """Compare what two pooling setups read, box by box: exit 1 when any box differs beyond --tol,
    0 when none does, 2 on a bad SPEC or input. Python: roiloss.compare().

    \b
    Example:
      roiloss compare instances.json --a preset:torchvision --b preset:tensorrt-detectron2
      roiloss compare boxes.csv --a preset:detectron2 --b preset:detectron2,method=roialign-openvino
    """
    import pandas as pd

    from ..comparison import SpecError, compare as run_compare, parse_spec
    from ..geometry import parse_size
    from ..readers import iter_boxes, parse_columns

    try:
        parse_spec(spec_a, "--a")
        parse_spec(spec_b, "--b")
        parse_size(image_size, "--image-size")
        reading = {"format": input_format, "columns": parse_columns(columns), "skip_crowd": skip_crowd,
                   "image_size": image_size}
    except (SpecError, ValueError, TypeError) as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    source = iter_boxes(input, **reading)
    table = pd.concat(list(source.chunks), ignore_index=True)
    try:
        result = run_compare(table, spec_a, spec_b, tol=tol)
    except SpecError as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    if plot:
        from ..compare_plot import plot_comparison
        plot_comparison(result, table, plot, roi)
    if fmt != "table":
        from ..writers import write_frame
        write_frame(result.rows, output, fmt)
    else:
        show(result, source.name, rows)
    sys.exit(0 if result.passed else 1)


def show(result, name: str, worst_rows: int) -> None:
    from ..terminal import console, new_table
    from ..values import number

    out = console()
    s = result.summary()
    out.print(f"roiloss {__version__} compare | {escape(name)} | {s['boxes']} boxes | tol {result.tol:g}")
    out.print(f"a: {escape(result.spec_a)} | {escape(result.a.describe())}", soft_wrap=False)
    out.print(f"b: {escape(result.spec_b)} | {escape(result.b.describe())}", soft_wrap=False)
    for note in result.notes:
        out.print(f"note: {escape(note)}")
    table = new_table("Summary")
    for column in ("boxes", "differ", "share", "max diff", "mean diff", "other level", "invalid"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_row(str(s["compared"]), str(s["differing"]), number(s["differing_share"]), number(s["max_weight_diff"], 4),
                  number(s["mean_max_weight_diff"], 4), str(s["other_level"]), str(s["invalid"]))
    out.print(table)
    deltas = new_table("Metrics, b minus a (means)")
    for column in ("lost_frac", "gained_frac", "outside_weight"):
        deltas.add_column(column, justify="right", no_wrap=True)
    deltas.add_row(*(f"{s['mean_d_' + c]:+.4f}" for c in ("lost_frac", "gained_frac", "outside_weight")))
    out.print(deltas)
    for by, title in (("size", "By size (COCO area classes)"), ("level", "By level of a")):
        frame = result.breakdown(by)
        if not len(frame):
            continue
        t = new_table(title)
        for column in (by, "boxes", "differ", "mean diff", "max diff", "other level"):
            t.add_column(column, justify="right", no_wrap=True)
        for r in frame.itertuples(index=False):
            t.add_row(escape(str(r[0])), str(r.boxes), number(r.differing), number(r.mean_diff, 4),
                      number(r.max_diff, 4), str(r.other_level))
        out.print(t)
    if worst_rows and len(result.compared):
        t = new_table("Worst boxes")
        level = "level_a" in result.rows
        for column in ("roi_id", "category", "box (x1, y1, x2, y2)", "a→b" if level else "stride", "diff", "a/b only"):
            t.add_column(column, justify="right" if column in ("roi_id", "diff") else "left", overflow="fold")
        for r in result.worst(worst_rows).itertuples(index=False):
            box = ", ".join(number(getattr(r, k), 1) for k in ("x1", "y1", "x2", "y2"))
            where = f"{r.level_a}→{r.level_b}" if level else f"{r.stride_a:g}→{r.stride_b:g}"
            t.add_row(escape(str(r.roi_id)), escape(str(r.category)), box, where, number(r.max_weight_diff, 4),
                      f"{r.cells_only_a}/{r.cells_only_b}")
        out.print(t)
    verdict = "passed" if result.passed else "FAILED"
    out.print(f"compare {verdict}: {s['differing']} of {s['compared']} boxes read a cell weight that differs by more "
              f"than {result.tol:g}")
