"""``roiloss sweep``: statistics per stride x pool x sampling ratio, the cheapest setting that passes."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from .. import __version__
from .options import (
    OUTPUT,
    POOLING,
    GroupedCommand,
    handle_errors,
    option,
    resolve_options,
    semantics_options,
)
from .common import check_output_format, with_progress

SWEPT = ("stride", "pool", "sampling_ratio")  # single-valued in semantics_options, lists here
SHORT = {"lost_frac": "lost", "gained_frac": "gained", "outside_weight": "outside", "shift_px": "shift"}
SHARES = {"lost_any_share": "lost\n>0", "sub_cell_share": "sub-\ncell", "invalid_share": "invalid"}


def sweep_semantics_options(fn):
    """The shared semantics options without the three that sweep takes as lists."""
    fn = semantics_options(fn)
    fn.__click_params__ = [p for p in fn.__click_params__ if p.name not in SWEPT]
    return fn


def header(name: str) -> str:
    """``lost_frac_p95`` -> ``lost\\np95``: two short lines, so the table fits 80 columns."""
    if name in SHARES:
        return SHARES[name]
    metric, _, stat = name.rpartition("_")
    return f"{SHORT.get(metric, metric)}\n{stat}"


def sweep_tables(frame, statistics: list[str]):
    """One table per method: the settings, their cost, the statistics and, with checks, pass/FAIL."""
    import pandas as pd
    from ..terminal import new_table

    from ..values import number

    tables = []
    checks = "passed" in frame.columns
    for method in dict.fromkeys(frame["method"]):
        mine = frame[frame["method"] == method]
        # one space between columns (numbers are right-aligned): the default statistics fit 80 columns
        table = new_table(str(method), padding=(0, 0), collapse_padding=False)
        pyramid = "levels" in mine.columns and mine["stride"].isna().any()
        ratio = mine["sampling_ratio"].notna().any()
        columns = [("levels" if pyramid else "stride", "left" if pyramid else "right"), ("pool", "right")]
        columns += [("ratio", "right")] if ratio else []
        columns += [("cost", "right")] + [(header(s), "right") for s in statistics]
        columns += [("check", "left")] if checks else []
        for name, justify in columns:
            table.add_column(name, justify=justify, no_wrap=True)
        for _, row in mine.iterrows():
            cells = [escape(str(row["levels"])) if pyramid else f"{row['stride']:g}", str(row["pool"])]
            if ratio:
                cells.append("-" if pd.isna(row["sampling_ratio"]) else str(int(row["sampling_ratio"])))
            cost = row["cost"]
            cells.append("-" if pd.isna(cost) else f"{cost:.0f}" if cost >= 100 or float(cost).is_integer() else f"{cost:.1f}")
            cells += [number(row[s], 1 if s.startswith("shift_px") else 3) for s in statistics]
            if checks:
                cells.append("[bold]best[/]" if row["cheapest"] else "pass" if row["passed"] else "FAIL")
            table.add_row(*cells)
        tables.append(table)
    return tables


@click.command(cls=GroupedCommand)
@click.argument("input", metavar="INPUT")
@sweep_semantics_options
@option("--stride", "stride_list", metavar="LIST", group=POOLING,
        help="Strides to try, e.g. 8,16,32 [default: the resolved stride or the preset's pyramid].")
@option("--pool", "pool_list", metavar="LIST", group=POOLING, help="Pool sizes to try, e.g. 5,7,14 or 14x7 [default: 7].")
@option("--sampling-ratio", "ratio_list", metavar="LIST", group=POOLING,
        help="Sampling ratios to try (roialign*), e.g. 0,2; 0 = adaptive [default: 2].")
@option("--statistics", metavar="LIST", group=OUTPUT,
        help="Columns: METRIC_STAT (lost_frac_p95, shift_px_mean...) or lost_any_share, sub_cell_share, "
             "invalid_share [default: mean and p95 of lost_frac, gained_frac, outside_weight; lost_any_share].")
@option("--check", "checks", multiple=True, metavar="CHECK", group="Checks",
        help="'[METHOD] [mean|median|p95|max] METRIC <= LIMIT', repeatable or ';'-separated: mark the settings "
             "that pass and name the cheapest.")
@option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
        group=OUTPUT, help="table for people; csv or json for programs (data only).")
@option("-o", "--output", metavar="FILE", group=OUTPUT, help="Write to FILE (atomically) instead of stdout; - is stdout.")
@option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE", group=OUTPUT,
        help="Heatmaps of the first statistic per method, settings by pool size (.png or .svg).")
@option("--progress/--no-progress", default=None, group=OUTPUT,
        help="Progress on stderr while reading (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def sweep(ctx, input, stride_list, pool_list, ratio_list, statistics, checks, fmt, output, plot_path, progress, **options):
    """Every combination of stride, pool size and sampling ratio on the same boxes, one row per setting.

    The input is read once; each setting is one vectorised pass. cost = mean sampling points per box
    (bins x points per bin; a RoI Pool bin's points are its window's cells). With --check, the
    cheapest setting that passes every check is named (exit 1 when none passes). Python: roiloss.sweep().

    \b
    Examples:
      roiloss sweep instances.json --stride 8,16,32 --pool 5,7,14 --sampling-ratio 0,2 --methods roipool,roialign
      roiloss sweep instances.json --preset detectron2 --pool 7,14 --check "p95 lost_frac <= 0.01" --plot sweep.png
    """
    import pandas as pd

    from ..checks import CheckError, parse_checks
    from ..readers import iter_boxes
    from ..sweeps import cheapest, describe_setting, describe_sweep, parse_statistics, sweep_table
    from ..writers import atomic_output, write_frame

    check_output_format(ctx, fmt, output)
    semantics, reading = resolve_options(ctx, {**options, **dict.fromkeys(SWEPT)})
    try:
        parsed = parse_checks(list(checks))
    except CheckError as error:
        raise click.BadParameter(str(error), ctx=ctx, param_hint="--check") from None
    try:
        names = parse_statistics(statistics)
        described = describe_sweep(semantics, stride_list, pool_list, ratio_list)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    source = iter_boxes(input, **reading)
    table = pd.concat(list(with_progress(source, progress, "reading")), ignore_index=True)
    try:
        frame = sweep_table(table, semantics, stride_list, pool_list, ratio_list, names, parsed)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    best = cheapest(frame)
    if fmt == "table":
        from ..terminal import console

        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} sweep | {escape(source.name)} | {len(table)} boxes | {escape(described)}")
            out.print("cost: sampling points per box, mean over boxes (RoI Pool: its windows' cells)")
            for rendered in sweep_tables(frame, names):
                out.print(rendered)
            if parsed:
                if best is not None:
                    out.print(f"cheapest passing: {escape(describe_setting(best))} (cost {best['cost']:.4g})")
                else:
                    out.print("no setting passes every check")
    else:
        write_frame(frame, output, fmt)
    if plot_path:
        from ..sweep_plot import plot_sweep

        plot_sweep(frame, plot_path, statistic=names[0], title=f"{source.name}: {described}")
    if parsed and best is None:
        sys.exit(1)
