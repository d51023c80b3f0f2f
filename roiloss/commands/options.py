"""What every command's options share: groups in ``--help``, the semantics options, config files,
and the translation of library errors into exit codes.

Options left unset are ``None`` so that the library's :func:`roiloss.resolve` can tell a preset's
value from an explicit one; ``[tool.roiloss]`` settings arrive as click defaults, so the command
line still wins over the file.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from .. import config
from ..choices import (
    ARITHMETICS,
    HEADS,
    INPUT_FORMATS,
    MAPPERS,
    METHOD_NAMES,
    PLACEMENTS,
    PRESET_NAMES,
    RULES,
)
from ..errors import InputError, OutputError

OUTPUT_FORMATS = ["table", "csv", "json", "jsonl"]


def err_console():
    """The console for messages on stderr: never wrapped, so a message naming a path stays one line."""
    from ..terminal import console
    return console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    """``roiloss: error: message`` on stderr (the message escaped), then exit ``code``."""
    err_console().print(f"[bold red]roiloss: error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


class GroupedCommand(click.Command):
    """A command whose ``--help`` lists options under headings (``group`` on each option)."""

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):  # arguments are in the usage line, not options
                continue
            record = param.get_help_record(ctx)
            if record:
                sections.setdefault(getattr(param, "group", None) or "Other options", []).append(record)
        for title, records in sections.items():
            with formatter.section(title):
                formatter.write_dl(records)


class Option(click.Option):
    def __init__(self, *args, group: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group


def option(*args, **kwargs):
    return click.option(*args, cls=Option, **kwargs)


def _load_config(ctx: click.Context, param, value):
    """Eager ``--config``: settings become click defaults, so the command line still wins."""
    try:
        path = Path(value) if value else config.find_pyproject()
        if path is None:
            return value
        settings = config.load(path, ctx.info_name, tuple(ctx.parent.command.list_commands(ctx.parent)) if ctx.parent else ())
    except config.ConfigError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None
    # keys are the long option names: --check -> check, --sampling-ratio -> sampling_ratio
    names = {opt.lstrip("-").replace("-", "_"): p.name for p in ctx.command.params
             for opt in getattr(p, "opts", []) if opt.startswith("--") and not getattr(p, "hidden", False)}
    names.pop("config", None)
    for key in settings:
        if key not in names:
            import difflib

            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f" (did you mean {close[0].replace('_', '-')!r}?)" if close else ""
            raise click.BadParameter(f"{path}: unknown setting {key!r}{hint}", ctx=ctx, param=param)
    multiple = {p.name for p in ctx.command.params if getattr(p, "multiple", False)}
    defaults = {}
    for key, setting in settings.items():
        name = names[key]
        if isinstance(setting, list) and name not in multiple:  # methods = ["roialign", "roipool"]
            setting = ",".join(map(str, setting))
        defaults[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    ctx.meta["config_path"] = str(path)
    return value


INPUT, POOLING, PYRAMID, MODEL, OUTPUT = "Input", "Pooling", "Feature pyramid", "Model input (resize and padding)", "Output"


def semantics_options(fn):
    """The options every analysing command shares, grouped by what they configure."""
    options = [
        option("--input-format", type=click.Choice(INPUT_FORMATS), group=INPUT,
               help="Input format (default: detected from the content and the extension)."),
        option("--columns", metavar="NAME=HEADER,...", group=INPUT,
               help="Map CSV headers, e.g. x1=left,y1=top,x2=right,y2=bottom."),
        option("--image-size", metavar="WxH", group=INPUT, help="Image size for boxes whose input gives none."),
        option("--image-sizes", type=click.Path(dir_okay=False), metavar="FILE", group=INPUT,
               help="CSV image_id,width,height: image sizes by image_id (Open Images, YOLO without images, any input)."),
        option("--images", "gt_images", type=click.Path(dir_okay=False), metavar="FILE", group=INPUT,
               help="COCO results: the ground-truth JSON whose images and categories give sizes and names."),
        option("--min-score", type=float, metavar="S", group=INPUT,
               help="COCO results and other detections: leave out those scoring below S; stderr counts them."),
        option("--skip-crowd", is_flag=True, default=None, group=INPUT,
               help="Leave out COCO crowd boxes (iscrowd=1); stderr counts them."),
        option("--strict", is_flag=True, default=None, group=INPUT,
               help="Any invalid box is an input error (exit 2) naming its line or JSON path."),
        option("--preset", type=click.Choice(PRESET_NAMES), group=POOLING,
               help="A framework's semantics: method, sampling, pool, levels, resize; explicit options win."),
        option("--model-config", metavar="FILE", group=POOLING,
               help="The model's own config instead of a preset: Detectron2 or maskrcnn-benchmark YAML, "
                    "mmdetection .py (parsed, never run), .json or .yaml; explicit options win."),
        option("--model", metavar="torchvision:NAME[,K=V]", group=POOLING,
               help="A torchvision builder's defaults: NAME as maskrcnn_resnet50_fpn, K=V as min_size=640 or max_size."),
        option("--head", type=click.Choice(HEADS), default="box", show_default=True, group=POOLING,
               help="With --preset or a model: the box head's pool size or the mask head's."),
        option("--methods", metavar="LIST", group=POOLING,
               help=f"Comma-separated methods or 'all' [default: roipool,roiwarp,roialign]: {', '.join(METHOD_NAMES)}."),
        option("--stride", type=float, metavar="PX", group=POOLING, help="Pixels per feature cell [default: 16]."),
        option("--pool", metavar="N|HxW", group=POOLING, help="Output bins, rows x columns [default: 7]."),
        option("--sampling-ratio", type=click.IntRange(min=0), metavar="N", group=POOLING,
               help="Samples per bin and axis for roialign*; 0 = adaptive ceil(size/pool) [default: 2]."),
        option("--sample-placement", type=click.Choice(PLACEMENTS), group=POOLING,
               help="centered: (k+0.5)/g as the frameworks [default]; thirds: k/(g+1) as the article's figure."),
        option("--arithmetic", type=click.Choice(ARITHMETICS), group=POOLING,
               help="float32: the frameworks' kernels bit for bit [default]; exact: float64 mathematics."),
        option("--strides", metavar="LIST", group=PYRAMID, help="Pyramid strides, e.g. 4,8,16,32: each box at its level."),
        option("--levels", "pyramid_levels", metavar="K-K", group=PYRAMID, help="Pyramid levels, e.g. 2-5 (strides 2^k)."),
        option("--level-mapper", type=click.Choice(MAPPERS), group=PYRAMID,
               help="How boxes are assigned to levels [default: torchvision]."),
        option("--canonical-scale", type=click.FloatRange(min=0, min_open=True), metavar="PX", group=PYRAMID,
               help="Level mapper's canonical box size [default: 224]."),
        option("--canonical-level", type=click.IntRange(0, 16), metavar="K", group=PYRAMID,
               help="Level mapper's canonical level [default: 4]."),
        option("--resize", metavar="RULE", group=MODEL,
               help=f"The model's input resize: {', '.join(r for r in RULES if r != 'fixed')} or fixed:WxH "
                    "[default: none, or the preset's]."),
        option("--min-size", metavar="N|N,N|LO-HI:STEP", group=MODEL,
               help="Short side(s); several analyse every box at each scale."),
        option("--max-size", type=click.FloatRange(min=0, min_open=True), metavar="PX", group=MODEL,
               help="Long-side limit of the resize."),
        option("--pad-divisor", type=click.IntRange(min=0), metavar="N", group=MODEL,
               help="Pad the resized image to a multiple of N (0: none)."),
        option("--config", "config_file", type=click.Path(dir_okay=False), callback=_load_config, is_eager=True,
               expose_value=False, metavar="FILE", group=OUTPUT,
               help="TOML settings (default: [tool.roiloss] of the nearest pyproject.toml)."),
        option("-v", "--verbose", is_flag=True, group=OUTPUT, help="Say which config file was read."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def resolve_options(ctx: click.Context, options: dict):
    """Options -> (Semantics, reading options); a bad value is a usage error (exit 2)."""
    from ..readers import parse_columns
    from ..semantics import resolve

    model_config = options.get("model_config")
    try:
        if model_config and options.get("model"):
            raise ValueError("give --model-config or --model, not both")
        if options.get("model"):
            from ..modelconfig import model_preset
            model_config = model_preset(options["model"])
        if model_config and options["preset"]:
            raise ValueError("give --preset or a model config (--model-config, --model), not both")
        semantics = resolve(
            preset=options["preset"], head=options["head"], methods=options["methods"], stride=options["stride"],
            pool=options["pool"], sampling_ratio=options["sampling_ratio"],
            sample_placement=options["sample_placement"], arithmetic=options["arithmetic"],
            strides=options["strides"], levels=options["pyramid_levels"], level_mapper=options["level_mapper"],
            canonical_scale=options["canonical_scale"], canonical_level=options["canonical_level"],
            resize=options["resize"], min_size=options["min_size"], max_size=options["max_size"],
            pad_divisor=options["pad_divisor"], model_config=model_config)
        reading = {"format": options["input_format"], "columns": parse_columns(options["columns"]),
                   "skip_crowd": bool(options["skip_crowd"]), "strict": bool(options["strict"]),
                   "image_size": options["image_size"], "image_sizes": options.get("image_sizes"),
                   "images": options.get("gt_images"), "min_score": options.get("min_score")}
        from ..geometry import parse_size
        parse_size(options["image_size"], "--image-size")
    except InputError:
        raise  # a bad model config: one line naming the file and the key (handle_errors), exit 2
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error), ctx=ctx) from None
    if options.get("verbose"):
        err_console().print(f"roiloss: config: {escape(ctx.meta.get('config_path') or 'none found')}")
    for warning in semantics.config.warnings if semantics.config else ():
        err_console().print(f"roiloss: warning: {escape(warning)}")
    return semantics, reading


def handle_errors(fn):
    """Input/output errors -> exit 2 with one line; Ctrl-C -> 130; a closed pipe -> quiet exit."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, OutputError) as error:
            fail(str(error))
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
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


