"""``roiloss analyze``: one row per box x method, summaries, per-box rows."""

from __future__ import annotations

import click
from rich.markup import escape

from .. import __version__
from .options import (
    OUTPUT,
    GroupedCommand,
    handle_errors,
    option,
    resolve_options,
    semantics_options,
)
from .common import check_output_format, output_options, report_counts, with_progress


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@semantics_options
@output_options
@option("--wide", is_flag=True, group=OUTPUT,
        help="Per-box rows with image, category, box and empty bins, as wide as they need (160+ columns).")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def analyze(ctx, input, fmt, output, rows, wide, progress, **options):
    """Lost and gained area, outside weight, IoU and shift of every box x method.

    INPUT is a CSV file, a COCO JSON file, or - for stdin. Python: roiloss.analyze().

    \b
    Examples:
      roiloss analyze data/example.csv --stride 32 --pool 3
      roiloss analyze instances.json --preset torchvision --format csv -o rows.csv
    """
    from ..analysis import analyze_rows, rows_arrow
    from ..readers import iter_boxes
    from ..stats import Accumulator
    from ..writers import TableWriter, atomic_output

    check_output_format(ctx, fmt, output)
    semantics, reading = resolve_options(ctx, options)
    source = iter_boxes(input, **reading)
    tables = with_progress(source, progress)
    accumulator = Accumulator()
    by_level = Accumulator(by="level") if semantics.pyramid else None
    if fmt == "table":  # summaries from the arrays; a DataFrame only for the rows shown
        head, total = [], 0
        for table in tables:
            result = analyze_rows(table, semantics)
            accumulator.add(result)
            if by_level:
                by_level.add(result)
            if sum(len(h) for h in head) < rows:
                head.append(result.frame(limit=rows))
            total += len(result)
        from ..terminal import console, counts_table, level_table, rows_table, summary_table

        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} | {escape(source.name)} ({source.format}) | {escape(semantics.describe())}")
            summary = accumulator.summary()
            out.print(counts_table(summary))
            out.print(summary_table(summary))
            if by_level:
                levels = by_level.summary().sort_values(["method", "level"], kind="stable")
                out.print(level_table(levels))
            if rows and total:
                import pandas as pd
                wide_out = console(stream, width=max(out.width, 160)) if wide else out  # as wide as the rows need
                wide_out.print(rows_table(pd.concat(head).head(rows), total, width=wide_out.width, wide=wide))
    else:  # CSV straight from the arrays through Arrow, written on a second thread
        with atomic_output(output, binary=True) as stream:
            writer = TableWriter(stream, fmt, background=True)
            try:
                for table in tables:
                    result = analyze_rows(table, semantics)
                    accumulator.add(result)
                    writer.write(rows_arrow(result) if fmt == "csv" else result.frame())
            finally:
                writer.close()
        summary = accumulator.summary()
    report_counts(summary, source)
