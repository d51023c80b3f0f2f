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

# boxes per chunk: the reader and the engine need about 110 MB for a chunk of 65,536, on top of
# what the table view's summaries keep; the engine works on the next chunk while this one is
# summarised or written (analyze_chunks), so larger chunks gain nothing (1 M boxes to a table:
# 1.76 s with 65,536, 1.78 s with 131,072) and cost memory (16 M boxes: 1.07 GB peak, 1.14 GB)
CHUNK_ROWS = 1 << 16


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT...", nargs=-1, required=True)
@semantics_options
@output_options
@option("--by", type=click.Choice(["source"]), default=None, group=OUTPUT,
        help="Table view: also count boxes per input file (rows always carry source with several inputs).")
@option("--wide", is_flag=True, group=OUTPUT,
        help="Per-box rows with image, category, box and empty bins, as wide as they need (160+ columns).")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def analyze(ctx, input, fmt, output, rows, wide, progress, by, **options):
    """Lost and gained area, outside weight, IoU and shift of every box x method.

    INPUT is one or more box files, directories or globs (CSV, COCO, COCO results, Pascal VOC,
    YOLO, Open Images, JSON Lines, Parquet, Arrow; compressed or not), or - for stdin.
    Python: roiloss.analyze().

    \b
    Examples:
      roiloss analyze data/example.csv --stride 32 --pool 3
      roiloss analyze instances.json --preset torchvision --format csv -o rows.csv
      roiloss analyze Annotations/ 'more/*.csv.gz' --by source
    """
    from ..analysis import analyze_chunks
    from ..prefetch import prefetch
    from ..readers import iter_box_tables
    from ..row_tables import row_tables
    from ..stats import Accumulator
    from ..writers import TableWriter, atomic_output

    check_output_format(ctx, fmt, output)
    semantics, reading = resolve_options(ctx, options)
    source = iter_box_tables(list(input), **reading, source_column=True if by == "source" else None,
                             chunk_rows=CHUNK_ROWS)
    source.chunks = prefetch(source.chunks)  # the next chunk is read while this one is analysed
    tables = with_progress(source, progress)
    accumulator = Accumulator(values=fmt == "table")  # for machine output: the counts on stderr only
    by_level = Accumulator(by="level") if semantics.pyramid else None
    by_source = {} if by == "source" else None  # a chunk never spans two inputs
    if fmt == "table":  # summaries from the arrays; plain records for the rows shown
        head, total = [], 0
        for result in analyze_chunks(tables, semantics):
            accumulator.add(result)
            if by_level:
                by_level.add(result)
            if by_source is not None and len(result.table):
                by_source.setdefault(str(result.table["source"][0]), Accumulator()).add(result)
            if len(head) < rows:
                head += result.records(limit=rows - len(head))
            total += len(result)
        from ..terminal import console, counts_table, level_table, rows_table, summary_table

        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} | {escape(source.name)} ({source.format}) | {escape(semantics.describe())}")
            summary = accumulator.records()
            out.print(counts_table(summary))
            if by_source:
                per, folder = _per_source(by_source, semantics.methods)
                out.print(counts_table(per, by="source", title="Boxes per method and source"
                                       + (f" (in {escape(folder)})" if folder else "")))
            out.print(summary_table(summary))
            if by_level:
                levels = sorted(by_level.records(), key=lambda row: (row["method"], row["level"]))
                if levels:  # none when no box could be placed on a level
                    out.print(level_table(levels))
            if rows and total:
                wide_out = console(stream, width=max(out.width, 160)) if wide else out  # as wide as the rows need
                wide_out.print(rows_table(head, total, width=wide_out.width, wide=wide))
    else:  # CSV straight from the arrays through Arrow; encoded and written on other threads
        with atomic_output(output, binary=True) as stream:
            writer = TableWriter(stream, fmt, background=True)
            try:
                # no chunk queued ahead: the encoding threads are the bottleneck here, and an engine
                # running ahead only takes cores from them (1 M boxes to CSV: 4.7 s ahead, 4.5 s not)
                for result in analyze_chunks(tables, semantics, ahead=0):
                    accumulator.add(result)
                    writer.write(row_tables(result) if fmt == "csv" else result)
            finally:
                writer.close()
        summary = accumulator.records()
    report_counts(summary, source)


def _per_source(accumulators: dict, methods):
    """The summaries of each input, method-major, inputs in the order read; the inputs' names
    relative to their common folder, and that folder (``""`` when none)."""
    import os

    names = list(accumulators)
    try:
        folder = os.path.commonpath(names) if len(names) > 1 and all(os.sep in n for n in names) else ""
    except ValueError:  # absolute and relative paths mixed
        folder = ""
    folder = folder if folder and folder not in names else os.path.dirname(folder)
    shown = {n: os.path.relpath(n, folder) if folder else n for n in names}
    per = [{**row, "source": shown[n]} for n, a in accumulators.items() for row in a.records()]
    order = {method: i for i, method in enumerate(dict.fromkeys(map(str, methods)))}
    return sorted(per, key=lambda row: order[str(row["method"])]), folder + os.sep if folder else ""
