"""``roiloss explain-config``: how a model's config resolves, key by key."""

from __future__ import annotations

import click
from rich.markup import escape

from .. import __version__
from ..errors import InputError
from .options import err_console, handle_errors


@click.command("explain-config")
@click.argument("config", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people, csv or json for programs.")
@handle_errors
def explain_config(config, fmt):
    """How a model's config resolves: which key gives which setting, which are defaults.

    FILE is a Detectron2 or maskrcnn-benchmark YAML, an mmdetection .py (parsed, never run), .json
    or .yaml config, or torchvision:NAME[,min_size=N,max_size=N]. Python:
    roiloss.modelconfig.read_model_config().

    \b
    Examples:
      roiloss explain-config configs/mask_rcnn_R_50_FPN_3x.yaml
      roiloss explain-config torchvision:maskrcnn_resnet50_fpn,min_size=640 --format csv
    """
    from ..modelconfig import load_model_config
    from ..semantics import resolve

    try:
        model = load_model_config(config)
    except InputError:
        raise  # a bad file: one line naming the file and the key (exit 2)
    except ValueError as error:  # a bad torchvision:NAME spec
        raise click.UsageError(str(error)) from None
    frame = model.explain_frame()
    if fmt != "table":
        from ..writers import write_frame
        write_frame(frame, None, fmt)
    else:
        import pandas as pd

        from ..terminal import console, frame_table

        out = console()
        out.print(f"roiloss {__version__} | {escape(model.label)} ({model.framework})")
        files = {name: i for i, name in enumerate(model.files, 1)}
        for name, i in files.items():
            out.print(f"[{i}] {escape(name)}", soft_wrap=True)
        view = pd.DataFrame({
            "setting": [f"{h or 'input'} {s.replace('_', ' ')}" for h, s in zip(frame["head"], frame["setting"])],
            "value": frame["value"], "from": [_source(r, files) for r in frame.itertuples()]})
        out.print(frame_table(view, "Resolution: key = value in the config [file], or the framework's default"))
        for head in model.heads:
            out.print(f"{head} head: {escape(resolve(model_config=model, head=head).describe())}")
    for warning in model.warnings:
        err_console().print(f"roiloss: warning: {escape(warning)}")


def _source(row, files: dict) -> str:
    if row.default:
        return f"default: {row.key}"
    where = f" [{files[row.file]}]" if row.file in files else ""
    return f"{row.key} = {row.raw}{where}" if row.raw else f"{row.key}{where}"
