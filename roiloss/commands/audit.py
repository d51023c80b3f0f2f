"""``roiloss audit``: checks on the analysis, reports, exit 1 when one fails."""

from __future__ import annotations

import sys
from pathlib import Path

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
from .common import with_progress


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT...", nargs=-1, required=True)
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

    from ..checks import CheckError, default_checks, run_audit
    from ..writers import atomic_output

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
    from ..readers import iter_boxes

    source = iter_boxes(list(input), **reading)
    table = pd.concat(list(with_progress(source, progress, "reading")), ignore_index=True)
    result = run_audit(table, semantics, parsed, source=source.name)
    for report in reports:
        with atomic_output(report, binary=True) as stream:
            stream.write(getattr(result, renderers[Path(report).suffix.lower()])())
    if not quiet:
        from ..terminal import checks_table, console, worst_table

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
