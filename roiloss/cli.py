"""The ``roiloss`` command line: a thin click layer over the library."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd
from click.core import ParameterSource
from rich.console import Console

from . import __version__, config
from .allocator import tune_allocator
from .api import analyze_table
from .boxes import from_array, normalise
from .engine import PLACEMENTS
from .grid import LEVELS
from .methods import METHODS
from .pyramid import MAPPERS, PRESETS
from .readers import InputError, open_boxes
from .report import console, rows_table, summary_table
from .settings import Settings
from .stats import Accumulator
from .writers import OutputError, TableWriter, atomic_output, write_frame

FORMATS = ["table", "csv", "json", "jsonl"]


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, no_color=bool(os.environ.get("NO_COLOR")) or None)


def fail(message: str) -> None:
    """Print ``roiloss: error: message`` on stderr and exit 2."""
    err_console().print(f"[bold red]roiloss: error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    sys.exit(2)


def _load_config(ctx: click.Context, param, value):
    """Eager ``--config``: settings become click defaults, so the command line still wins."""
    command = ctx.info_name
    path = Path(value) if value else config.find_pyproject()
    if path is None:
        return value
    try:
        settings = config.load(path, command)
    except config.ConfigError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None
    # keys are the long option names: --check -> check, --sampling-ratio -> sampling_ratio
    names = {opt.lstrip("-").replace("-", "_"): p.name for p in ctx.command.params
             for opt in getattr(p, "opts", []) if opt.startswith("--")}
    names.pop("config", None)
    unknown = sorted(set(settings) - set(names))
    if unknown:
        err_console().print(f"roiloss: warning: {path}: unknown setting(s) ignored: {', '.join(unknown)}")
    multiple = {p.name for p in ctx.command.params if getattr(p, "multiple", False)}
    defaults = {}
    for key, setting in settings.items():
        if key in names:
            name = names[key]
            if isinstance(setting, list) and name not in multiple:  # methods = ["roialign", "roipool"]
                setting = ",".join(map(str, setting))
            defaults[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    ctx.meta["config_path"] = str(path)
    return value


def geometry_options(fn):
    """The options every command shares: input, geometry, output."""
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False), callback=_load_config, is_eager=True,
                     expose_value=False, help="TOML settings file (default: [tool.roiloss] of the nearest pyproject.toml)."),
        click.option("--stride", type=float, default=16, show_default=True, help="Feature stride in pixels per cell."),
        click.option("--pool", default="7", show_default=True, help="Output bins: N or HxW (rows x columns)."),
        click.option("--methods", default="roipool,roiwarp,roialign", show_default=True,
                     help=f"Comma-separated methods or 'all': {', '.join(METHODS)}."),
        click.option("--sampling-ratio", type=click.IntRange(min=0), default=2, show_default=True,
                     help="Samples per bin and axis for roialign*; 0 = adaptive ceil(size/pool)."),
        click.option("--sample-placement", type=click.Choice(PLACEMENTS), default="centered", show_default=True,
                     help="centered: (k+0.5)/g as the frameworks; thirds: k/(g+1) as the article's figure."),
        click.option("--image-size", default=None, help="WxH in pixels for boxes whose input gives none."),
        click.option("--input-format", type=click.Choice(["csv", "coco"]), default=None,
                     help="Input format (default: sniffed from the content)."),
        click.option("--columns", default=None, help="Map CSV headers, e.g. x1=left,y1=top,x2=right,y2=bottom."),
        click.option("--skip-crowd", is_flag=True, help="Leave out COCO crowd boxes (iscrowd=1); the summary counts them."),
        click.option("--strict", is_flag=True, help="Any invalid box is an input error (exit 2) naming its row or JSON path."),
        click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
                     help="A framework's semantics (method, sampling ratio, pool, levels, mapper); explicit options win."),
        click.option("--head", type=click.Choice(["box", "mask"]), default="box", show_default=True,
                     help="With --preset: the box head's pool or the mask head's."),
        click.option("--strides", default=None, help="Feature pyramid strides, e.g. 4,8,16,32: each box at its level's stride."),
        click.option("--levels", "pyramid_levels", default=None, help="Feature pyramid levels, e.g. 2-5 (strides 2^k)."),
        click.option("--level-mapper", type=click.Choice(MAPPERS), default=None,
                     help="How boxes are assigned to levels (default torchvision)."),
        click.option("--canonical-scale", type=float, default=None, help="Level mapper's canonical box size (224)."),
        click.option("--canonical-level", type=int, default=None, help="Level mapper's canonical level (4)."),
        click.option("-v", "--verbose", is_flag=True, help="Say which config file was read."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_settings(ctx: click.Context, options: dict) -> Settings:
    """Options -> :class:`Settings`; a bad value is a usage error (exit 2)."""
    def given(name):
        source = ctx.get_parameter_source(name)
        return source is not None and source != ParameterSource.DEFAULT

    try:
        settings = Settings(given, **options)
    except ValueError as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    if options.get("verbose"):
        err_console().print(f"roiloss: config: {ctx.meta.get('config_path') or 'none found'}")
    return settings


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, OutputError) as error:
            fail(str(error))
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            err_console().print("roiloss: interrupted")
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as error:  # a bug: one line, not a traceback, unless asked for
            if os.environ.get("ROILOSS_DEBUG"):
                raise
            fail(f"internal error (a bug in roiloss, please report it): {type(error).__name__}: {error}; "
                 "set ROILOSS_DEBUG=1 for the traceback")
    return wrapper


def read_tables(path: str, settings: Settings):
    """Open the input and yield validated canonical chunks; enforce ``--strict``."""
    source = open_boxes(path, input_format=settings.rest.get("input_format"), columns=settings.columns,
                        skip_crowd=settings.rest.get("skip_crowd", False))

    def chunks():
        for chunk in source.chunks:
            table = normalise(chunk, image_size=settings.image_size)
            if settings.rest.get("strict"):
                bad = np.flatnonzero(table["invalid"].to_numpy(dtype=object) != "")
                if len(bad):
                    rows = f"{int(table['position'].iat[0])}-{int(table['position'].iat[-1])}" if "position" in table else "all"
                    raise InputError(f"{source.name}: {place(table, bad[0], source.format)}: "
                                     f"invalid box ({table['invalid'].iat[bad[0]]}) "
                                     f"[--strict; {len(bad)} invalid among boxes {rows}]")
            yield table
    return source, chunks()


def place(table: pd.DataFrame, row: int, fmt: str) -> str:
    position = int(table["position"].iat[row]) if "position" in table.columns else row
    if fmt == "coco":
        field = "image_id" if table["invalid"].iat[row] in ("unknown-image", "bad image size") else "bbox"
        return f"$.annotations[{position}].{field}"
    return f"line {position + 2}"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="roiloss")
def main():
    """Measure what RoI Pool, RoI Warp and RoI Align lose and gain on your boxes."""
    tune_allocator()


@main.command()
@click.argument("input", metavar="INPUT")
@geometry_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", default=None, help="Write to FILE instead of stdout (atomically).")
@click.option("--rows", type=click.IntRange(min=0), default=20, show_default=True, help="Per-box rows in the table view.")
@click.option("--progress/--no-progress", default=None,
              help="Progress on stderr (default: only when stderr is a terminal and not in CI).")
@click.pass_context
@handle_errors
def analyze(ctx, input, fmt, output, rows, progress, **options):
    """Lost and gained area, outside weight, IoU and shift of every box x method.

    INPUT is a CSV file, a COCO JSON file, or - for stdin.
    """
    settings = make_settings(ctx, options)
    source, tables = read_tables(input, settings)
    tables = with_progress(tables, progress)
    accumulator = Accumulator()
    by_level = Accumulator(by="level") if settings.pyramid else None
    head = []
    total = 0
    if fmt == "table":
        for table in tables:
            result = settings.analyse(table)
            accumulator.add(result)
            if by_level:
                by_level.add(result[result["level"].notna()])
            if sum(len(h) for h in head) < rows:
                head.append(result.head(rows))
            total += len(result)
        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} | {source.name} ({source.format}) | {settings.describe()}")
            summary = accumulator.summary()
            out.print(summary_table(summary))
            if by_level:
                levels = by_level.summary().sort_values(["method", "level"], kind="stable")
                out.print(summary_table(levels, title="Summary per method and pyramid level", by="level"))
            if rows and total:
                out.print(rows_table(pd.concat(head).head(rows), total))
    else:
        with atomic_output(output, binary=True) as stream:
            writer = TableWriter(stream, fmt)
            for table in tables:
                result = settings.analyse(table)
                accumulator.add(result)
                writer.write(result)
            writer.close()
        summary = accumulator.summary()
    report_counts(summary, source)


def with_progress(tables, enabled: bool | None):
    """Yield the chunks, showing boxes read so far on stderr (rich, transient) when enabled."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    if not enabled:
        yield from tables
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} boxes"), TimeElapsedColumn()]
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task("analysing", total=None)
        for table in tables:
            yield table
            bar.advance(task, len(table))


def report_counts(summary: pd.DataFrame, source) -> None:
    """One stderr line about invalid and skipped boxes, so nothing is lost silently."""
    parts = []
    if not len(summary):
        parts.append(f"{source.name}: the input holds no boxes")
    if len(summary):
        first = summary.iloc[0]
        if first["invalid"]:
            parts.append(f"{first['invalid']} of {first['boxes']} boxes are invalid (flags invalid:<reason>, "
                         "metrics empty; --strict makes this an error)")
    skipped = source.notes.get("skipped_crowd")
    if skipped:
        parts.append(f"{skipped} crowd boxes skipped (--skip-crowd)")
    for part in parts:
        err_console().print(f"roiloss: {part}")


@main.command()
@click.argument("input", metavar="[INPUT]", required=False)
@click.option("--box", "box_specs", multiple=True, metavar="X1,Y1,X2,Y2", help="A box in image pixels (repeatable).")
@click.option("--roi", "roi_ids", multiple=True, metavar="ID", help="Only the box(es) with this roi_id (repeatable).")
@click.option("--level", type=click.Choice(LEVELS), default="cells", show_default=True,
              help="bins: bin rectangles; samples: sample points and the cells they read; cells: coefficients.")
@geometry_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "jsonl"]), default="table", show_default=True)
@click.option("-o", "--output", default=None, help="Write to FILE instead of stdout (atomically).")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Draw the first selected box, one panel per method (.png or .svg).")
@click.pass_context
@handle_errors
def grid(ctx, input, box_specs, roi_ids, level, fmt, output, plot_path, **options):
    """The sampling grid of boxes: bins, sample points, feature cells and their weights.

    Give INPUT (CSV, COCO JSON or - for stdin), optionally narrowed with --roi, or one or more --box.
    Coordinates are in feature-area units: cell j spans [j, j+1), its centre is j + 0.5.
    """
    settings = make_settings(ctx, options)
    if plot_path and not str(plot_path).lower().endswith((".png", ".svg")):
        raise click.UsageError("--plot takes a .png or .svg file name", ctx=ctx)
    if bool(input) == bool(box_specs):
        raise click.UsageError("give either INPUT or --box X1,Y1,X2,Y2", ctx=ctx)
    if box_specs:
        table = normalise(parse_boxes(box_specs, ctx), image_size=settings.image_size)
        name = "--box"
    else:
        source, tables = read_tables(input, settings)
        table = pd.concat(list(tables), ignore_index=True)
        name = source.name
    if roi_ids:
        wanted = set(roi_ids)
        table = table[table["roi_id"].astype(str).isin(wanted)].reset_index(drop=True)
        missing = wanted - set(table["roi_id"].astype(str))
        if missing:
            raise InputError(f"{name}: no box with roi_id {', '.join(sorted(missing))}")
    invalid = table[table["invalid"] != ""]
    for row in invalid.itertuples():
        err_console().print(f"roiloss: roi {row.roi_id}: invalid box ({row.invalid}), no grid")
    frame = settings.grid(table, level)
    if level == "samples" and len(frame):
        frame.insert(frame.columns.get_loc("weight"), "cell_center_y", frame["cell_y"] + 0.5)
        frame.insert(frame.columns.get_loc("weight"), "cell_center_x", frame["cell_x"] + 0.5)
        frame["cell_y"] = frame["cell_y"].astype("Int64")
        frame["cell_x"] = frame["cell_x"].astype("Int64")
    if fmt == "table":
        with atomic_output(output) as stream:
            out = console(stream)
            out.print(f"roiloss {__version__} | {name} | {settings.describe()} | level {level}")
            out.print(frame_table(frame))
    else:
        write_frame(frame, output, fmt)
    if plot_path:
        valid = table[table["invalid"] == ""]
        if not len(valid):
            raise InputError(f"{name}: no valid box to plot")
        if len(valid) > 1:
            err_console().print(f"roiloss: plotting roi {valid['roi_id'].iat[0]} (first of {len(valid)}; choose with --roi)")
        first = valid.iloc[[0]].reset_index(drop=True)
        geometry = settings.geometry_of(first)
        metrics = analyze_table(first, geometry, settings.methods)
        roi = first.iloc[0]
        title = (f"roi {roi.roi_id}: ({roi.x1:g}, {roi.y1:g}, {roi.x2:g}, {roi.y2:g}) px | {settings.describe()}")
        from .plot import plot_box  # matplotlib is slow to import: only when drawing

        plot_box(first, metrics, geometry, settings.methods, plot_path, title=title)


@main.command()
@click.argument("input", metavar="INPUT")
@geometry_options
@click.option("--check", "checks", multiple=True, metavar="CHECK",
              help="'[METHOD] [mean|median|p95|max] METRIC <= LIMIT', repeatable or ';'-separated, "
                   "e.g. 'roialign p95 lost_frac <= 0.05; sub_cell_share <= 0.01'.")
@click.option("--max-invalid-share", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Largest share of invalid boxes that passes.")
@click.option("--report", "reports", multiple=True, type=click.Path(dir_okay=False),
              help="Write a report: .json (schema roiloss.audit/1), .md (CI step summary) or .xml (JUnit). Repeatable.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; still write reports and set the exit status.")
@click.pass_context
@handle_errors
def audit(ctx, input, checks, max_invalid_share, reports, quiet, **options):
    """Gate a dataset in CI: exit 1 when a check fails, 0 when all pass, 2 on bad input.

    Settings come from options, else from [tool.roiloss] / [tool.roiloss.audit] in pyproject.toml
    (or --config FILE), else defaults.
    """
    from .audit import CheckError, parse_checks, run_audit
    from .audit_report import RENDERERS, REPORT_FORMATS, checks_table, worst_table

    settings = make_settings(ctx, options)
    try:
        parsed = parse_checks(list(checks))
    except CheckError as error:
        raise click.BadParameter(str(error), ctx=ctx, param_hint="--check") from None
    if not any(c.metric == "invalid_share" for c in parsed):
        parsed += parse_checks([f"invalid_share <= {max_invalid_share!r}"])
    for report in reports:
        if Path(report).suffix.lower() not in REPORT_FORMATS:
            raise click.BadParameter(f"{report}: report type by extension: .json, .md or .xml", ctx=ctx,
                                     param_hint="--report")
    source, tables = read_tables(input, settings)
    table = pd.concat(list(tables), ignore_index=True)
    result = run_audit(table, settings.geometry, settings.methods, parsed, analyse=settings.analyse,
                       pyramid=settings.pyramid is not None)
    for report in reports:
        render = RENDERERS[REPORT_FORMATS[Path(report).suffix.lower()]]
        with atomic_output(report, binary=True) as stream:
            stream.write(render(result, source.name, settings.semantics()))
    if not quiet:
        out = console()
        out.print(f"roiloss {__version__} audit | {source.name} | {len(table)} boxes | {settings.describe()}")
        out.print(checks_table(result))
        for failed in (r for r in result.results if not r.passed):
            out.print(worst_table(failed))
            out.print(f"[bold]remedy:[/] {failed.remedy}")
        failed = sum(not r.passed for r in result.results)
        out.print(f"audit {'passed' if result.passed else 'FAILED'}: {len(result.results) - failed} of "
                  f"{len(result.results)} checks pass")
    sys.exit(0 if result.passed else 1)


def parse_boxes(specs, ctx) -> pd.DataFrame:
    rows = []
    for spec in specs:
        try:
            values = [float(v) for v in spec.split(",")]
        except ValueError:
            values = []
        if len(values) != 4:
            raise click.BadParameter(f"expected X1,Y1,X2,Y2 (four numbers), got {spec!r}", ctx=ctx, param_hint="--box")
        rows.append(values)
    return from_array(rows)


def frame_table(frame: pd.DataFrame):
    from rich.table import Table
    table = Table(header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column].dtype) and not pd.api.types.is_bool_dtype(frame[column].dtype)
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    return table


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "-" if np.isnan(value) else f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
    return str(value)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def presets(fmt):
    """The framework presets: the settings each one resolves to and the source it mirrors."""
    rows = []
    for p in PRESETS.values():
        rows.append({"preset": p.name, "method": p.method,
                     "sampling_ratio": p.sampling_ratio if p.method.startswith("roialign") else "-",
                     "pool": f"{p.pool_box} (mask {p.pool_mask})" if p.pool_mask != p.pool_box else str(p.pool_box),
                     "levels": p.pyramid.describe() if p.pyramid else f"stride {p.stride:g}",
                     "mirrors": p.mirrors})
    show(pd.DataFrame(rows), fmt)


def show(frame: pd.DataFrame, fmt: str) -> None:
    if fmt != "table":
        write_frame(frame, None, fmt)
        return
    console().print(frame_table(frame))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def methods(fmt):
    """The methods roiloss knows: semantics and the implementations they reproduce."""
    frame = pd.DataFrame([{"method": m.name, "semantics": m.summary, "reproduces": m.reproduces} for m in METHODS.values()])
    show(frame, fmt)


if __name__ == "__main__":  # pragma: no cover
    main()
