"""What the commands share: output options, progress, the closing counts on stderr."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from .options import OUTPUT, OUTPUT_FORMATS, err_console, option


def output_options(fn, formats=OUTPUT_FORMATS, rows: int | None = 20):
    opts = [
        option("--format", "fmt", type=click.Choice(formats), default="table", show_default=True, group=OUTPUT,
               help="table for people (stdout, rich); csv, json or jsonl for programs (data only)."),
        option("-o", "--output", metavar="FILE", group=OUTPUT, help="Write to FILE (atomically) instead of stdout; - is stdout."),
    ]
    if rows is not None:
        opts.append(option("--rows", type=click.IntRange(min=0), default=rows, show_default=True, metavar="N",
                           group=OUTPUT, help="Rows shown in the table view."))
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def check_output_format(ctx, fmt: str, output: str | None) -> None:
    """``-o out.csv`` without ``--format`` would write a table into a .csv: refuse it."""
    if output and output != "-" and fmt == "table" and Path(output).suffix.lower() in (".csv", ".json", ".jsonl"):
        raise click.UsageError(f"-o {output} looks like {Path(output).suffix[1:]}: add --format {Path(output).suffix[1:]}",
                               ctx=ctx)


def with_progress(source, enabled: bool | None, verb: str = "analysing"):
    """Yield the source's chunks, showing progress against its total (bytes of a CSV file, boxes
    of a COCO file) on stderr when enabled (default: stderr is a terminal and not CI)."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    if not enabled:
        yield from source.chunks
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    total = source.progress()[1] if source.progress else None
    columns = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[boxes]:,} boxes"), TimeRemainingColumn()]
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task(f"{verb} {escape(source.name)}", total=total, boxes=0)
        boxes = 0
        for table in source.chunks:
            boxes += len(table)
            done = source.progress()[0] if source.unit == "bytes" else boxes
            bar.update(task, completed=done, boxes=boxes)
            yield table


def report_counts(summary: list[dict], source) -> None:
    """One stderr line about invalid and skipped boxes, so nothing is lost silently (``summary``:
    :meth:`roiloss.stats.Accumulator.records`)."""
    parts = []
    if not summary:
        parts.append(f"{source.name}: the input holds no boxes")
    else:
        first = summary[0]
        if first["invalid"]:
            parts.append(f"{first['invalid']} of {first['boxes']} boxes are invalid (flags invalid:<reason>, "
                         "metrics empty; --strict makes this an error)")
    skipped = source.notes.get("skipped_crowd")
    if skipped:
        parts.append(f"{skipped} crowd boxes skipped (--skip-crowd)")
    low = source.notes.get("skipped_low_score")
    if low:
        parts.append(f"{low} boxes scoring below --min-score skipped")
    for part in parts:
        err_console().print(f"roiloss: {escape(part)}")
