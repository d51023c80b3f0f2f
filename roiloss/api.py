"""The Python API: every command of the command line is one of these calls first.

Each function takes boxes in any form :func:`roiloss.boxes.normalise` accepts (an ``(N, 4)``
array, torchvision ``(N, 5)`` rois, a DataFrame, a list of tuples or dicts, or the table
:func:`roiloss.read_boxes` returns) and the semantics as keywords (``preset``, ``methods``,
``stride``, ...) or as one resolved :class:`~roiloss.semantics.Semantics` (``semantics=``).
Keywords left at ``None`` take the preset's value, else the default (docs/semantics.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import analyze_table, model_boxes
from .checks import Audit, default_checks, run_audit
from .boxes import normalise
from .geometry import map_length
from .sampling_grid import DETAILS, cross_entries, grid_table
from .methods import axes, resolve_methods
from .modelconfig import ModelConfig
from .presets import Preset
from .pyramid import Pyramid
from .semantics import Semantics, resolve
from .transforms import Resize


def semantics_of(semantics: Semantics | None = None, *, preset: str | Preset | None = None, head: str = "box",
                 methods=None, stride: float | None = None, pool=None, sampling_ratio: int | None = None,
                 sample_placement: str | None = None, arithmetic: str | None = None,
                 pyramid: Pyramid | None = None, resize: str | Resize | None = None,
                 model_config: str | Path | ModelConfig | None = None) -> Semantics:
    """``semantics`` as given, or resolved from the keywords (not both); ``model_config`` is the
    model's own config (a file, ``torchvision:NAME`` or a :class:`~roiloss.modelconfig.ModelConfig`)."""
    if semantics is not None:
        if not isinstance(semantics, Semantics):
            raise TypeError(f"semantics must be a roiloss.Semantics, got {type(semantics).__name__}")
        given = [k for k, v in dict(preset=preset, methods=methods, stride=stride, pool=pool,
                                    sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                                    arithmetic=arithmetic, pyramid=pyramid, resize=resize,
                                    model_config=model_config).items() if v is not None]
        if given:
            raise ValueError(f"give semantics or {', '.join(given)}, not both")
        return semantics
    return resolve(preset=preset, head=head, methods=methods, stride=stride, pool=pool, sampling_ratio=sampling_ratio,
                   sample_placement=sample_placement, arithmetic=arithmetic, pyramid=pyramid, resize=resize,
                   model_config=model_config)


def analyze(boxes, *, preset: str | None = None, head: str = "box", methods=None, stride: float | None = None,
            pool=None, sampling_ratio: int | None = None, sample_placement: str | None = None,
            arithmetic: str | None = None, pyramid: Pyramid | None = None, resize: str | Resize | None = None,
            image_size=None, semantics: Semantics | None = None,
            model_config: str | Path | ModelConfig | None = None) -> pd.DataFrame:
    """Lost and gained area, outside weight, IoU and shift of every box under every method.

    Args:
        boxes: boxes in image pixels, ``x2``/``y2`` exclusive (see the module docstring).
        preset: a framework's semantics (``torchvision``, ``detectron2``, ``mmdet``,
            ``maskrcnn-benchmark``, ``fast-rcnn``, ``mnc``), including its input resize.
        head: ``box`` or ``mask``, the head whose pool size a preset gives.
        methods: names, a comma-separated string or ``"all"`` (default roipool, roiwarp, roialign).
        stride: pixels per feature cell (default 16); one feature map.
        pool: ``N``, ``"HxW"`` or ``(rows, cols)`` (default 7).
        sampling_ratio: samples per bin and axis for the sampling methods; 0 = adaptive (default 2).
        sample_placement: ``centered`` (default, the frameworks) or ``thirds`` (the article's figure).
        arithmetic: ``float32`` (default: the frameworks' kernels bit for bit) or ``exact``.
        pyramid: a :class:`roiloss.Pyramid`: each box is pooled from its level.
        resize: the model's input transform (a rule name or :class:`roiloss.Resize`); default none,
            or the preset's.
        image_size: ``(W, H)`` or ``"WxH"`` for boxes whose input gives none.
        semantics: everything above at once, from :func:`roiloss.resolve`.
        model_config: the model's own config instead of a preset (docs/semantics.md §11): a
            Detectron2, maskrcnn-benchmark or mmdetection config file (``.yaml``, dumped ``.json``,
            or ``.py``, parsed and never run), ``"torchvision:NAME[,min_size=N]"``, or a
            :class:`roiloss.modelconfig.ModelConfig`; ``head`` picks its head, explicit keywords win.

    Returns:
        One row per box x method (box-major; x input scale with a multi-scale resize): ``roi_id,
        image_id, category, x1, y1, x2, y2`` (as given), with a resize ``short_side`` (multi-scale
        rules), ``model_width, model_height, scale_x, scale_y``; with a pyramid ``level``; then
        ``stride``, ``preset`` (with a preset), ``method, pool, sampling_ratio``, ``mapper`` (with a
        pyramid), ``lost_frac, gained_frac, outside_weight, iou, shift_px`` (input-image pixels),
        ``empty_bins``, ``iscrowd`` (COCO), ``flags``. Invalid boxes keep their rows with empty
        metrics and ``flags = invalid:<reason>``.

    Example:
        >>> rows = analyze([(296, 192, 496, 337)], stride=32, pool=3, methods="roipool",
        ...                image_size=(512, 512))
        >>> round(float(rows.gained_frac[0]), 4), float(rows.lost_frac[0])
        (0.483, 0.0)
    """
    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize, model_config=model_config)
    return analyze_table(normalise(boxes, image_size=image_size), resolved)


def coefficients(boxes, method: str | None = None, *, stride: float | None = None, pool=None,
                 sampling_ratio: int | None = None, sample_placement: str | None = None,
                 arithmetic: str | None = None, image_size=None, preset: str | None = None, head: str = "box",
                 pyramid: Pyramid | None = None, resize: str | Resize | None = None,
                 semantics: Semantics | None = None,
                 model_config: str | Path | ModelConfig | None = None) -> pd.DataFrame:
    """The per-bin cell coefficients of every valid box under one method, long format.

    The coefficient of cell ``(cell_y, cell_x)`` in bin ``(bin_y, bin_x)`` is what the method's
    output in that bin would be for a one-hot feature map at that cell: for the sampling methods
    the frameworks' average-mode output, for the window methods ``1 / (cells in the window)``.
    Cells are of the box's feature map (its pyramid level, in the model's frame). ``method``
    defaults to the preset's (or ``semantics``' only) method, else ``roialign``; other arguments as
    :func:`analyze`.

    Returns:
        Columns ``roi_id, method, bin_y, bin_x, cell_y, cell_x, weight``; only non-zero weights,
        sorted by box, bin and cell.

    Example:
        >>> c = coefficients([(0, 0, 32, 32)], method="roialign", stride=16, pool=1, image_size=(64, 64))
        >>> c[["cell_y", "cell_x", "weight"]].values.tolist()
        [[0.0, 0.0, 0.25], [0.0, 1.0, 0.25], [1.0, 0.0, 0.25], [1.0, 1.0, 0.25]]
    """
    resolved = semantics_of(semantics, preset=preset, head=head, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement, arithmetic=arithmetic,
                            pyramid=pyramid, resize=resize, model_config=model_config)
    if method is None:  # a preset's (or a one-method semantics') method, else RoI Align
        method = resolved.methods[0] if len(resolved.methods) == 1 else "roialign"
    names = resolve_methods(method) if isinstance(method, (str, list, tuple)) else None
    if names is None or len(names) != 1:
        raise (TypeError if names is None else ValueError)(f"method must be one method name, got {method!r}")
    (name,) = names
    table = normalise(boxes, image_size=image_size)
    boxes_ = model_boxes(table, resolved)
    ids = table["roi_id"].to_numpy()
    frames = []
    for stride_ in np.unique(boxes_.stride[np.isfinite(boxes_.stride)]):
        rows = np.flatnonzero(boxes_.stride == stride_)
        coords = [c[rows] for c in (boxes_.x1, boxes_.y1, boxes_.x2, boxes_.y2)]
        maps = [map_length(side[rows], stride_) for side in (boxes_.padded_width, boxes_.padded_height)]
        ax = axes(name, *coords, *maps, resolved.geometry.at_stride(float(stride_)))
        cells = cross_entries(ax.y.entries(), ax.x.entries(), len(rows))
        box = rows[cells.pop("box")]
        frame = pd.DataFrame({"roi_id": ids[box], "method": name, **cells})
        frame["_order"] = box
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["roi_id", "method", "bin_y", "bin_x", "cell_y", "cell_x", "weight"])
    out = pd.concat(frames, ignore_index=True).sort_values("_order", kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def grid(boxes, methods=None, detail: str = "cells", *, stride: float | None = None, pool=None,
         sampling_ratio: int | None = None, sample_placement: str | None = None, arithmetic: str | None = None,
         image_size=None, preset: str | None = None, head: str = "box", pyramid: Pyramid | None = None,
         resize: str | Resize | None = None, semantics: Semantics | None = None,
         model_config: str | Path | ModelConfig | None = None) -> pd.DataFrame:
    """The sampling grid of every valid box, long format, in feature-area units of its map.

    Args:
        detail: ``bins`` (each bin's rectangle ``[y0, y1) x [x0, x1)``, its samples and how many are
            valid), ``samples`` (each sample point ``(y, x)``, valid or not, one row per
            neighbouring cell it reads with that cell's centre and bilinear weight; RoI Pool reads
            every window cell at its centre) or ``cells`` (as :func:`coefficients`).
        Other arguments as :func:`analyze`.

    Returns:
        ``roi_id``, (``short_side``, ``level``,) ``stride``, ``method``, then the detail's columns:
        bins ``bin_y, bin_x, y0, x0, y1, x1, height, width, samples, valid_samples, empty``; samples
        ``bin_y, bin_x, sample_y, sample_x, y, x, valid, cell_y, cell_x, cell_center_y,
        cell_center_x, weight``; cells ``bin_y, bin_x, cell_y, cell_x, weight``.

    Example:
        >>> g = grid([(296, 192, 496, 337)], "roialign", "bins", stride=32, pool=3, image_size=(512, 512))
        >>> [round(v, 4) for v in g.loc[0, ["y0", "x0", "height", "width"]]]
        [6.0, 9.25, 1.5104, 2.0833]
    """
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize, model_config=model_config)
    return grid_table(normalise(boxes, image_size=image_size), resolved, detail)


def audit(boxes, checks=(), *, max_invalid_share: float = 0.0, preset: str | None = None, head: str = "box",
          methods=None, stride: float | None = None, pool=None, sampling_ratio: int | None = None,
          sample_placement: str | None = None, arithmetic: str | None = None, pyramid: Pyramid | None = None,
          resize: str | Resize | None = None, image_size=None, semantics: Semantics | None = None,
          source: str = "boxes", model_config: str | Path | ModelConfig | None = None) -> Audit:
    """Evaluate checks on the analysis of ``boxes``: a CI gate.

    Args:
        checks: check strings ``"[METHOD] [mean|median|p95|max] METRIC <= LIMIT"`` (a list, or one
            string with ``;`` between checks), e.g. ``"roialign p95 lost_frac <= 0.05"``. Metrics:
            ``lost_frac, gained_frac, outside_weight, shift_px, lost_any_share, sub_cell_share,
            invalid_share``.
        max_invalid_share: ``invalid_share <= max_invalid_share`` is always checked unless a check
            on ``invalid_share`` is given.
        source: the input's name in the reports.
        Other arguments as :func:`analyze`.

    Returns:
        An :class:`~roiloss.checks.Audit`: ``passed``, ``results`` (per check and method: ``value``,
        ``passed``, the worst boxes and a remedy), ``statistics()``, ``breakdown(by)``, and the
        reports ``to_json()``, ``to_markdown()``, ``to_junit()``.

    Example:
        >>> result = audit([(0, 0, 64, 64), (0, 0, 8, 8)], "sub_cell_share <= 0.1", stride=16)
        >>> result.passed, [round(r.value, 2) for r in result.results]
        (False, [0.5, 0.0])
    """
    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize, model_config=model_config)
    parsed = default_checks(checks, max_invalid_share)
    return run_audit(normalise(boxes, image_size=image_size), resolved, parsed, source=source)
