"""The mask ceiling (docs/semantics.md §12): how much mask IoU each operator leaves on the table.

For an instance with ground-truth mask ``M`` and box ``B``, a method at its level's stride and pool
``P``: ``F`` = ``M`` area-averaged onto the feature grid (in the model's frame), ``Q`` = the
method's ``P x P`` output on ``F`` for ``B``, ``R`` = ``Q`` pasted back into the image as
torchvision's ``paste_masks_in_image`` does, and ``mask_ceiling = IoU(M, R >= 0.5)``: the best mask
IoU a head that perfectly decodes what it pools could reach. ``target_ceiling`` is the same round
trip through the mask head's training target alone (``roi_align`` at stride 1 to ``mask_size``, as
torchvision's ``project_masks_on_boxes``). The arithmetic is in :mod:`roiloss.mask_engine`, the
segmentations in :mod:`roiloss.segmentation`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Iterator

import msgspec
import numpy as np
import pandas as pd

from .analysis import lead_columns, pandas_columns, passed_through
from .boxes import normalise
from .errors import InputError
from .inputs import read_file
from .mask_engine import decode_chunk, measure_scale
from .metrics import flag_codes
from .segmentation import area, read_segmentations

MASK_SIZE = 28      # torchvision's mask head output: the target resolution
MASK_POOL = 14      # torchvision's and Detectron2's mask pooler
CHUNK = 1024        # instances per pass
SIZE_CLASSES = ("small", "medium", "large")  # COCO: area < 32^2, < 96^2, larger
SEGMENTATION_REASONS = ("segmentation missing", "bad segmentation", "empty mask", "image size unknown (a segm")


@dataclass
class Instances:
    """Instances to measure: a canonical box table and one segmentation per row (raw COCO JSON,
    a decoded polygon list or RLE dict, or a 2-D mask array)."""

    name: str
    table: pd.DataFrame
    segments: list
    notes: dict = field(default_factory=dict)
    format: str = "coco"

    def parts(self, rows: int = CHUNK) -> Iterator[tuple[pd.DataFrame, list]]:
        for start in range(0, len(self.table), rows):
            yield self.table.iloc[start:start + rows].reset_index(drop=True), self.segments[start:start + rows]


def read_instances(path, skip_crowd: bool = False, image_size=None, stdin=None) -> Instances:
    """A COCO instances file (``-`` = stdin): its boxes through the box reader, its segmentations
    through :func:`roiloss.segmentation.read_segmentations` (the box path stays as fast as it is)."""
    from .coco import read_coco

    name = "<stdin>" if str(path) == "-" else str(path)
    if str(path) == "-":
        data = (stdin if stdin is not None else sys.stdin.buffer).read()
        data = data.encode() if isinstance(data, str) else data
    else:
        data = read_file(path, name)
    if not data.strip():
        raise InputError(f"{name}: the file is empty")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
        raise InputError(f"{name}: not COCO instances JSON (roiloss masks reads a COCO annotation file "
                         "whose annotations have a segmentation)")
    table, notes = read_coco(data, name, skip_crowd=skip_crowd)
    table = table.to_pandas()
    segments = read_segmentations(data, name)
    table = normalise(table, image_size=image_size)
    positions = table["position"].to_numpy()
    return Instances(name, table, [segments[p] for p in positions] if len(segments) else [], notes)


def instances_of(instances, masks=None, image_size=None, skip_crowd: bool = False) -> Instances:
    """What :func:`mask_ceiling` accepts -> :class:`Instances` (see there)."""
    if isinstance(instances, Instances):
        return instances
    if isinstance(instances, (str, os.PathLike)):
        if masks is not None:
            raise ValueError("give a COCO file or boxes with masks, not a file and masks")
        return read_instances(instances, skip_crowd=skip_crowd, image_size=image_size)
    if masks is None:
        arrays = [instances] if isinstance(instances, np.ndarray) and instances.ndim == 2 else instances
        if not isinstance(arrays, (list, tuple)) or not all(isinstance(a, np.ndarray) and a.ndim == 2 for a in arrays):
            raise TypeError("instances must be a COCO file, 2-D mask arrays, or boxes with masks=")
        masks = list(arrays)
        instances = [_tight_box(a) for a in masks]
    masks = list(masks)
    table = normalise(instances, image_size=image_size)
    if len(masks) != len(table):
        raise ValueError(f"masks: {len(masks)} masks for {len(table)} boxes")
    for side, axis in (("image_width", 1), ("image_height", 0)):
        known = np.array([m.shape[axis] if isinstance(m, np.ndarray) and m.ndim == 2 else np.nan for m in masks], float)
        table[side] = np.where(np.isnan(table[side].to_numpy(float)), known, table[side].to_numpy(float))
    return Instances("masks", table, masks, {}, "arrays")


def _tight_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The smallest box around a mask's pixels, ``x2``/``y2`` exclusive; the whole image if empty
    (so the row says ``empty mask``)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return 0.0, 0.0, float(mask.shape[1]), float(mask.shape[0])
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def mask_ceiling(instances, masks=None, *, preset: str | None = None, head: str = "mask", methods=None,
                 stride: float | None = None, pool=None, sampling_ratio: int | None = None,
                 sample_placement: str | None = None, arithmetic: str | None = None, pyramid=None, resize=None,
                 mask_size: int = MASK_SIZE, image_size=None, skip_crowd: bool = False, strict: bool = False,
                 workers: int = 1, semantics=None) -> pd.DataFrame:
    """Per instance and method: the mask ceiling and the target-resolution ceiling (docs §12).

    Args:
        instances: a COCO instances file (path, or ``"-"``) whose annotations carry
            ``segmentation`` (polygons, RLE, compressed RLE); or 2-D mask arrays (one instance
            each, its box the mask's tight box, the image its shape); or boxes in any form
            :func:`roiloss.analyze` takes, with ``masks``.
        masks: one per box: a 2-D array of the image, a COCO polygon list or an RLE dict.
        head: the preset's head whose pool is used (default ``mask``: 14 x 14).
        pool: bins of the mask pooler (default 14, or the preset's).
        mask_size: the mask head's output, the target's resolution (default 28).
        skip_crowd: leave out COCO crowd instances. strict: an instance that cannot be measured
            raises :class:`roiloss.InputError`.
        workers: processes measuring chunks of instances side by side (the command line uses one
            per core for inputs of several thousand instances); the rows are the same.
        Other arguments as :func:`roiloss.analyze`: presets, pyramids and the model's resize apply
        (the mask is area-averaged in the model's frame, the round trip pasted in the image).

    Returns:
        One row per instance x input scale x method (box-major): ``roi_id, image_id, category,
        x1, y1, x2, y2``, with a resize ``short_side`` (multi-scale), ``model_width,
        model_height, scale_x, scale_y``; with a pyramid ``level``; ``stride``, ``preset``,
        ``method, pool, sampling_ratio, mask_size, mask_area`` (input pixels), ``size_class``,
        ``mask_ceiling, target_ceiling``, ``iscrowd`` (COCO), ``flags``. An instance that cannot
        be measured keeps its rows, ceilings empty, ``flags = invalid:<reason>``.

    Example:
        >>> square = np.zeros((256, 256), dtype=bool); square[32:96, 32:96] = True
        >>> rows = mask_ceiling([square], methods="roialign,roialign-legacy", stride=32, sampling_ratio=2)
        >>> [round(v, 3) for v in rows.mask_ceiling], round(float(rows.target_ceiling[0]), 3)
        ([0.873, 0.534], 0.97)
    """
    from .api import semantics_of

    if semantics is None and pool is None and preset is None:
        pool = MASK_POOL
    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize)
    size = check_mask_size(mask_size)
    data = instances_of(instances, masks, image_size=image_size, skip_crowd=skip_crowd)
    frames = [frame for _, _, frame in iter_measure(data.parts(), resolved, size, strict=strict, name=data.name,
                                                     workers=workers)]
    if not frames:
        return measure(data.table.iloc[:0], [], resolved, size)
    return pd.concat(frames, ignore_index=True)


def iter_measure(parts, semantics, mask_size: int = MASK_SIZE, strict: bool = False, name: str = "instances",
                 workers: int = 1, ahead: int = 2) -> Iterator[tuple[pd.DataFrame, list, pd.DataFrame]]:
    """``(part, segments, rows)`` for each ``(part, segments)`` of ``parts``, in order; with
    ``workers > 1`` the parts are measured in that many processes (``forkserver``: no inherited
    threads), at most ``ahead`` parts per worker in flight."""
    if workers <= 1:
        for part, segments in parts:
            yield part, segments, measure(part, segments, semantics, mask_size, strict=strict, name=name)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    pending: deque = deque()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        for part, segments in parts:
            portable = [bytes(s) if isinstance(s, msgspec.Raw) else s for s in segments]
            pending.append((part, segments, pool.submit(measure, part, portable, semantics, mask_size, strict, name)))
            while len(pending) > workers * ahead:
                part_, segments_, future = pending.popleft()
                yield part_, segments_, future.result()
        while pending:
            part_, segments_, future = pending.popleft()
            yield part_, segments_, future.result()


def default_workers(instances: int) -> int:
    """Processes for the command line: one per core (at most 4) from 4 chunks of instances on."""
    return min(os.cpu_count() or 1, 4) if instances >= 4 * CHUNK else 1


def check_mask_size(mask_size) -> int:
    if isinstance(mask_size, bool) or not isinstance(mask_size, (int, np.integer)) or not 1 <= mask_size <= 256:
        raise ValueError(f"mask_size must be a whole number from 1 to 256, got {mask_size!r}")
    return int(mask_size)


def measure(table: pd.DataFrame, segments, semantics, mask_size: int = MASK_SIZE, strict: bool = False,
            name: str = "instances") -> pd.DataFrame:
    """The rows of :func:`mask_ceiling` for one canonical table chunk and its segmentations."""
    counts, invalid = decode_chunk(table, segments)
    if strict:
        _raise_first_invalid(table, invalid, name)
    methods = list(semantics.methods)
    m = len(methods)
    areas = np.array([area(c) if c is not None else np.nan for c in counts], dtype=float)
    shorts = list(semantics.resize.scales if semantics.resize.active else (None,))
    parts = []
    for short in shorts:
        ceilings, targets, mb, _ = measure_scale(table, counts, invalid, semantics, mask_size, short)
        parts.append(_frame(table, semantics, short, mb, ceilings, targets, areas, mask_size))
    if len(parts) == 1:
        return parts[0]
    n, k = len(table), len(parts)
    order = (np.arange(k)[None, :, None] * (n * m) + np.arange(n)[:, None, None] * m
             + np.arange(m)[None, None, :]).ravel()
    return pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)


def detail(table: pd.DataFrame, segments, semantics, mask_size: int = MASK_SIZE, short=None) -> dict | None:
    """The arrays of the first instance of ``table`` (mask window, features, outputs, pastes), for a figure."""
    counts, invalid = decode_chunk(table.iloc[:1].reset_index(drop=True), segments[:1])
    return measure_scale(table.iloc[:1].reset_index(drop=True), counts, invalid, semantics, mask_size, short, detail=0)[3]


def _raise_first_invalid(table, invalid, name) -> None:
    bad = np.flatnonzero(invalid != "")
    if len(bad):
        row, reason = bad[0], invalid[bad[0]]
        position = int(table["position"].iat[row]) if "position" in table.columns else int(row)
        field_ = "segmentation" if reason.startswith(SEGMENTATION_REASONS) else "bbox"
        raise InputError(f"{name}: $.annotations[{position}].{field_}: invalid instance ({reason}) "
                         f"[strict; {len(bad)} invalid in this chunk]")


def size_class(mask_area) -> np.ndarray:
    """COCO's size class of a mask area in input pixels (``None`` when unknown)."""
    mask_area = np.asarray(mask_area, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(mask_area < 32 ** 2, "small", np.where(mask_area < 96 ** 2, "medium", "large")).astype(object)
    out[np.isnan(mask_area)] = None
    return out


def _frame(table, semantics, short, mb, ceilings, targets, areas, mask_size) -> pd.DataFrame:
    m = len(semantics.methods)
    out = lead_columns(table, semantics, short, mb, m)
    out["mask_size"] = mask_size
    out["mask_area"] = np.repeat(areas, m)
    out["size_class"] = np.repeat(size_class(areas), m)
    out["mask_ceiling"] = ceilings.ravel()
    out["target_ceiling"] = np.repeat(targets, m)
    for name in passed_through(table):
        out[name] = np.repeat(table[name].to_numpy(), m)
    coords = [table[c].to_numpy(float) for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")]
    with np.errstate(invalid="ignore"):
        sub_cell = ((mb.x2 - mb.x1) < mb.stride) | ((mb.y2 - mb.y1) < mb.stride)
    code, names = flag_codes(*coords, mb.invalid, sub_cell)
    out["flags"] = np.repeat(names[code], m)
    return pd.DataFrame(pandas_columns(out))

