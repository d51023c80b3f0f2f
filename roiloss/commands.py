"""The commands: parse options (cli.py), one library call, print or write."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from . import __version__
from .cli import (
    OUTPUT,
    OUTPUT_FORMATS,
    GroupedCommand,
    err_console,
    handle_errors,
    main,
    option,
    resolve_options,
    semantics_options,
)
from .choices import DETAILS
from .errors import InputError


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


def report_counts(summary, source) -> None:
    """One stderr line about invalid and skipped boxes, so nothing is lost silently."""
    parts = []
    if not len(summary):
        parts.append(f"{source.name}: the input holds no boxes")
    else:
        first = summary.iloc[0]
        if first["invalid"]:
            parts.append(f"{first['invalid']} of {first['boxes']} boxes are invalid (flags invalid:<reason>, "
                         "metrics empty; --strict makes this an error)")
    skipped = source.notes.get("skipped_crowd")
    if skipped:
        parts.append(f"{skipped} crowd boxes skipped (--skip-crowd)")
    for part in parts:
        err_console().print(f"roiloss: {escape(part)}")


@main.command(cls=GroupedCommand)
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
    from .analysis import analyze_table
    from .stats import Accumulator
    from .writers import TableWriter, atomic_output

    check_output_format(ctx, fmt, output)
    semantics, reading = resolve_options(ctx, options)
    from .readers import iter_boxes

    source = iter_boxes(input, **reading)
    tables = with_progress(source, progress)
    accumulator = Accumulator()
    by_level = Accumulator(by="level") if semantics.pyramid else None
    if fmt == "table":
        head, total = [], 0
        for table in tables:
            result = analyze_table(table, semantics)
            accumulator.add(result)
            if by_level:
                by_level.add(result[result["level"].notna()])
            if sum(len(h) for h in head) < rows:
                head.append(result.head(rows))
            total += len(result)
        from .terminal import console, counts_table, level_table, rows_table, summary_table

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
    else:
        with atomic_output(output, binary=True) as stream:
            writer = TableWriter(stream, fmt)
            for table in tables:
                result = analyze_table(table, semantics)
                accumulator.add(result)
                writer.write(result)
            writer.close()
        summary = accumulator.summary()
    report_counts(summary, source)


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


@main.command(cls=GroupedCommand)
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

    from .analysis import model_boxes
    from .api import grid as grid_call
    from .boxes import normalise
    from .writers import TableWriter, atomic_output

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
        from .readers import iter_boxes

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
            if writer is not None:
                writer.write(grid_call(table, semantics=semantics, detail=detail))
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
            from .terminal import console, constant_columns, frame_table, grid_view

            out = console(stream)
            out.print(f"roiloss {__version__} | {escape(name)} | {escape(semantics.describe())} | detail {detail}")
            shown_rows, same = constant_columns(grid_view(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame(),
                                                ["roi_id", "short_side", "level", "stride", "method"])
            out.print(frame_table(shown_rows, title=f"Grid ({same})" if same else "Grid"))
            if more:
                out.print(f"(more rows not shown: --rows N, or --format csv for all)")
    if plot_path:
        if first_valid is None:
            raise InputError(f"{name}: no valid box to plot")
        if not (len(box_specs) == 1 or len(roi_ids) == 1):
            err_console().print(f"roiloss: plotting roi {escape(str(first_valid['roi_id'].iat[0]))} "
                                "(the first valid box; choose another with --roi)")
        plot_first(first_valid, semantics, plot_path, name)


def plot_first(first, semantics, plot_path: str, name: str) -> None:
    """Draw the box ``first`` (a one-row canonical table)."""
    from .analysis import analyze_table, model_boxes
    from .plot import plot_box  # matplotlib is slow to import: only when drawing

    roi = first.iloc[0]
    title = f"roi {roi.roi_id}: ({roi.x1:g}, {roi.y1:g}, {roi.x2:g}, {roi.y2:g}) px | {semantics.describe()}"
    plot_box(first, model_boxes(first, semantics), analyze_table(first, semantics), semantics, plot_path, title=title)


@main.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@semantics_options
@option("--check", "checks", multiple=True, metavar="CHECK", group="Checks",
        help="'[METHOD] [mean|median|p95|max] METRIC <= LIMIT', repeatable or ';'-separated.")
@option("--max-invalid-share", type=click.FloatRange(0, 1), default=0.0, show_default=True, metavar="SHARE",
        group="Checks", help="Largest share of invalid boxes that passes.")
@option("--report", "reports", multiple=True, type=click.Path(dir_okay=False), metavar="FILE", group=OUTPUT,
        help="Write a report: .json (schema roiloss.audit/2), .md (CI step summary) or .xml (JUnit). Repeatable.")
@option("-q", "--quiet", is_flag=True, group=OUTPUT, help="Print nothing; still write reports and set the exit status.")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def audit(ctx, input, checks, max_invalid_share, reports, quiet, progress, **options):
    """Gate a dataset in CI: exit 1 when a check fails, 0 when all pass, 2 on bad input.

    Settings come from options, else from [tool.roiloss] / [tool.roiloss.audit] in pyproject.toml
    (or --config FILE), else defaults. Python: roiloss.audit().

    \b
    Example:
      roiloss audit instances.json --check "roialign p95 lost_frac <= 0.05; sub_cell_share <= 0.01"
    """
    import pandas as pd

    from .checks import CheckError, default_checks, run_audit
    from .writers import atomic_output

    semantics, reading = resolve_options(ctx, options)
    try:
        parsed = default_checks(list(checks), max_invalid_share)
    except CheckError as error:
        raise click.BadParameter(str(error), ctx=ctx, param_hint="--check") from None
    renderers = {".json": "to_json", ".md": "to_markdown", ".xml": "to_junit"}
    for report in reports:
        if Path(report).suffix.lower() not in renderers:
            raise click.BadParameter(f"{report}: report type by extension: .json, .md or .xml", ctx=ctx,
                                     param_hint="--report")
    from .readers import iter_boxes

    source = iter_boxes(input, **reading)
    table = pd.concat(list(with_progress(source, progress, "reading")), ignore_index=True)
    result = run_audit(table, semantics, parsed, source=source.name)
    for report in reports:
        with atomic_output(report, binary=True) as stream:
            stream.write(getattr(result, renderers[Path(report).suffix.lower()])())
    if not quiet:
        from .terminal import checks_table, console, worst_table

        out = console()
        out.print(f"roiloss {__version__} audit | {escape(source.name)} | {len(table)} boxes | "
                  f"{escape(result.semantics.describe())}")
        out.print(checks_table(result))
        for failed in (r for r in result.results if not r.passed):
            out.print(worst_table(failed))
            out.print(f"[bold]remedy:[/] {escape(failed.remedy)}")
        failed = sum(not r.passed for r in result.results)
        out.print(f"audit {'passed' if result.passed else 'FAILED'}: {len(result.results) - failed} of "
                  f"{len(result.results)} checks pass")
    sys.exit(0 if result.passed else 1)


def show(frame, fmt: str, key: str) -> None:
    from .terminal import console, record_list
    from .writers import write_frame

    if fmt != "table":
        write_frame(frame, None, fmt)
    else:
        console().print(record_list(frame, key))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people, csv or json for programs.")
@handle_errors
def presets(fmt):
    """The framework presets: what each resolves to and the source it mirrors.

    \b
    Example:
      roiloss presets --format csv
    """
    from .presets import presets_frame
    show(presets_frame(), fmt, "preset")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people, csv or json for programs.")
@handle_errors
def methods(fmt):
    """The methods roiloss knows: semantics and the implementations they reproduce."""
    from .methods import methods_frame
    show(methods_frame(), fmt, "method")
