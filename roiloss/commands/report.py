"""``roiloss report``: one self-contained HTML page showing where the boxes lose."""

from __future__ import annotations

import click
from rich.markup import escape

from .options import (
    OUTPUT,
    GroupedCommand,
    err_console,
    handle_errors,
    option,
    resolve_options,
    semantics_options,
)
from .common import with_progress


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@semantics_options
@option("--check", "checks", multiple=True, metavar="CHECK", group="Checks",
        help="'[METHOD] [mean|median|p95|max] METRIC <= LIMIT', repeatable or ';'-separated: the page shows "
             "the results, the worst boxes and the remedies.")
@option("--max-invalid-share", type=click.FloatRange(0, 1), default=0.0, show_default=True, metavar="SHARE",
        group="Checks", help="With --check: largest share of invalid boxes that passes.")
@option("-o", "--output", required=True, metavar="FILE", group=OUTPUT,
        help="The HTML file to write (atomically); - is stdout.")
@option("--worst", type=click.IntRange(0, 100), default=6, show_default=True, metavar="K", group=OUTPUT,
        help="Draw the K worst boxes on their grids (as grid --plot); 0 for none.")
@option("--timestamp/--no-timestamp", default=True, show_default=True, group=OUTPUT,
        help="Write the time of generation; without it the same input gives the same bytes.")
@option("--title", metavar="TEXT", group=OUTPUT, help="The page title [default: roiloss report: INPUT].")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr while reading (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def report(ctx, input, checks, max_invalid_share, output, worst, timestamp, title, progress, **options):
    """One self-contained HTML page: semantics, summaries, distributions per method, level, size and
    category, the worst boxes on their grids, and the checks.

    The page works offline (no script, no URL; figures are inline SVG) on a laptop or a phone.
    Python: roiloss.report().

    \b
    Examples:
      roiloss report instances.json --preset detectron2 -o report.html
      roiloss report boxes.csv --stride 16 --check "roialign p95 lost_frac <= 0.05" --no-timestamp -o report.html
    """
    import pandas as pd

    from .. import report as report_call
    from ..checks import CheckError, parse_checks
    from ..readers import iter_boxes
    from ..writers import atomic_output

    semantics, reading = resolve_options(ctx, options)
    try:
        parse_checks(list(checks))
    except CheckError as error:
        raise click.BadParameter(str(error), ctx=ctx, param_hint="--check") from None
    source = iter_boxes(input, **reading)
    table = pd.concat(list(with_progress(source, progress, "reading")), ignore_index=True)
    page = report_call(table, semantics=semantics, checks=list(checks) or None, worst=worst, timestamp=timestamp,
                       source=source.name, title=title, max_invalid_share=max_invalid_share)
    with atomic_output(output, binary=True) as stream:
        stream.write(page.encode("utf-8"))
    if output not in (None, "-"):
        err_console().print(f"roiloss: wrote {escape(output)} ({len(page) // 1024} KiB, {len(table)} boxes)")
