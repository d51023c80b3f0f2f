"""COCO segmentations for the mask ceiling (docs/semantics.md §12): read apart from the boxes,
validated, decoded with ``pycocotools``, and cut out only where a box needs them.

The box reader (:mod:`roiloss.coco`) never builds a segmentation; this module decodes the same
file a second time with a schema that keeps each ``segmentation`` as raw JSON bytes, and turns an
instance's segmentation into its run-length encoding only when the instance is measured. Every
instance is held as the RLE *counts* of its whole image (column-major runs, zeros first, as COCO
stores them): polygons are rasterised by ``pycocotools`` (``frPyObjects`` + ``merge``, the library
COCO's own tools use), compressed RLE strings are decoded by :func:`rle_counts` (the
``rleFrString`` rule of ``pycocotools/common/maskApi.c``), uncompressed RLE is already counts.
:func:`crop` then builds a boolean window of the mask from the counts without decoding the image.

A segmentation that cannot be decoded is a reason (``bad segmentation: ...``), never an exception.
"""

from __future__ import annotations

import json
import math

import msgspec
import numpy as np

from .errors import InputError

MISSING = "segmentation missing"
EMPTY = "empty mask"


class _Annotation(msgspec.Struct, gc=False):
    segmentation: msgspec.Raw = msgspec.Raw(b"null")


class _Instances(msgspec.Struct, gc=False):
    annotations: list[_Annotation] | None = None


_DECODER = msgspec.json.Decoder(_Instances)


def read_segmentations(data: bytes, name: str) -> list:
    """The ``segmentation`` of every annotation of a COCO file, in file order, as raw JSON bytes
    (``b"null"`` when absent); decoded per instance by :func:`decode_raw`. The box reader has
    already rejected a file that is not COCO JSON."""
    data = data.lstrip(b"\xef\xbb\xbf")
    try:
        coco = _DECODER.decode(data)
        return [a.segmentation for a in coco.annotations or []]
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:  # NaN/Infinity literals, annotations that are not objects: the lenient path
        document = json.loads(data)
    except ValueError as error:
        raise InputError(f"{name}: not valid JSON: {error}") from None
    annotations = document.get("annotations") if isinstance(document, dict) else None
    if not isinstance(annotations, list):
        raise InputError(f"{name}: $.annotations is missing: not a COCO annotation file")
    return [a.get("segmentation") if isinstance(a, dict) else None for a in annotations]


def decode_raw(raw):
    """Raw JSON bytes (or an already decoded value) -> Python value; undecodable -> ``_BROKEN``."""
    if isinstance(raw, (msgspec.Raw, bytes)):
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return _BROKEN
    return raw


_BROKEN = object()


def to_counts(segmentation, height: float, width: float) -> tuple[np.ndarray | None, str]:
    """``(counts, "")`` for a decodable segmentation of an ``height x width`` image, else
    ``(None, reason)``. ``segmentation`` is a COCO polygon list, an RLE dict (``counts`` a list or
    a compressed string), or a 2-D array (the mask itself)."""
    if segmentation is None:
        return None, MISSING
    if segmentation is _BROKEN:
        return None, "bad segmentation: not valid JSON"
    if isinstance(segmentation, np.ndarray):
        return _array_counts(segmentation, height, width)
    if not (math.isfinite(height) and math.isfinite(width)):
        return None, "image size unknown (a segmentation needs it)"
    h, w = int(round(height)), int(round(width))
    try:
        if isinstance(segmentation, list):
            return _polygon_counts(segmentation, h, w)
        if isinstance(segmentation, dict):
            return _rle_dict_counts(segmentation, h, w)
    except (ValueError, TypeError, OverflowError, MemoryError) as error:
        return None, f"bad segmentation: {error}"
    return None, "bad segmentation: not a polygon list or an RLE object"


def _polygon_counts(polygons: list, h: int, w: int):
    if not polygons:
        return None, "bad segmentation: no polygon"
    for polygon in polygons:
        if not isinstance(polygon, list):
            return None, "bad segmentation: a polygon is not a list of numbers"
        if not all(type(v) in (int, float) for v in polygon) or not all(math.isfinite(v) for v in polygon):
            return None, "bad segmentation: a polygon is not a list of numbers"
        if len(polygon) % 2 or len(polygon) < 6:
            return None, f"bad segmentation: a polygon of {len(polygon)} coordinates (needs 3 points or more)"
    from pycocotools import mask as coco_mask  # the rasteriser COCO's annToMask uses

    rles = coco_mask.frPyObjects([[float(v) for v in p] for p in polygons], h, w)
    rle = rles[0] if len(rles) == 1 else coco_mask.merge(rles)
    return _checked(rle_counts(rle["counts"]), h, w)


def _rle_dict_counts(rle: dict, h: int, w: int):
    counts, size = rle.get("counts"), rle.get("size")
    if counts is None or size is None:
        return None, "bad segmentation: an RLE object needs counts and size"
    if (not isinstance(size, list) or len(size) != 2 or not all(type(v) in (int, float) for v in size)
            or [float(v) for v in size] != [float(h), float(w)]):
        return None, f"bad segmentation: RLE size {size!r} is not the image's [{h}, {w}]"
    if isinstance(counts, str):
        return _checked(rle_counts(counts.encode("ascii", "replace")), h, w)
    if isinstance(counts, list):
        if not all(type(v) is int for v in counts):
            return None, "bad segmentation: RLE counts are not whole numbers"
        return _checked(np.array(counts, dtype=np.int64) if counts else np.zeros(0, np.int64), h, w)
    return None, "bad segmentation: RLE counts are neither a list nor a string"


def _checked(counts: np.ndarray | None, h: int, w: int):
    if counts is None:
        return None, "bad segmentation: RLE string is not valid"
    if len(counts) and counts.min() < 0:
        return None, "bad segmentation: negative RLE count"
    total = int(counts.sum())
    if total != h * w:
        return None, f"bad segmentation: RLE counts cover {total} pixels, the image has {h * w}"
    if not counts[1::2].sum():
        return None, EMPTY
    if len(counts) > 1 and not counts[1:].all():  # empty runs inside: merge their neighbours
        value = np.arange(len(counts)) % 2
        keep = counts > 0
        keep[0] = True
        counts, value = counts[keep], value[keep]
        first = np.flatnonzero(np.concatenate([[True], value[1:] != value[:-1]]))
        counts = np.add.reduceat(counts, first)
    return counts, ""


def _array_counts(mask: np.ndarray, height: float, width: float):
    if mask.ndim != 2:
        return None, f"bad segmentation: a mask array must be 2-D, got shape {mask.shape}"
    if math.isfinite(height) and math.isfinite(width) and mask.shape != (int(round(height)), int(round(width))):
        return None, f"bad segmentation: mask shape {mask.shape} is not the image's ({int(height)}, {int(width)})"
    return _checked(mask_counts(mask), *mask.shape)


def mask_counts(mask: np.ndarray) -> np.ndarray:
    """A 2-D mask -> its COCO RLE counts (column-major runs, zeros first)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if not flat.size:
        return np.zeros(1, np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]]))
    return np.concatenate([[0], runs]) if flat[0] else runs


def rle_counts(text: bytes) -> np.ndarray | None:
    """A compressed COCO RLE string -> counts, as ``rleFrString`` (pycocotools ``maskApi.c``):
    each value is 6-bit groups ``c - 48``, 5 data bits each (least significant first), ``0x20``
    = more groups follow, ``0x10`` in the last group = negative; from the fourth value on each
    value is the difference to the value two places before. ``None`` when the string is malformed."""
    c = np.frombuffer(bytes(text), dtype=np.uint8).astype(np.int64) - 48
    if not len(c):
        return np.zeros(0, np.int64)
    if c.min() < 0 or c.max() > 63 or c[-1] & 0x20:
        return None
    end = (c & 0x20) == 0
    last = np.flatnonzero(end)
    first = np.concatenate([[0], last[:-1] + 1])
    groups = last - first + 1
    if groups.max() > 12:  # more than 60 bits: not a pixel count
        return None
    k = np.arange(len(c)) - np.repeat(first, groups)
    x = np.add.reduceat((c & 0x1F) << (5 * k), first)
    negative = (c[last] & 0x10) != 0
    x = np.where(negative, x - (np.int64(1) << (5 * groups)), x)
    counts = x.copy()
    if len(x) > 3:
        counts[3::2] = x[1] + np.cumsum(x[3::2])
    if len(x) > 4:
        counts[4::2] = x[2] + np.cumsum(x[4::2])
    return counts


def crop(counts: np.ndarray, image_height: int, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    """Rows ``[y0, y1)`` x columns ``[x0, x1)`` of the mask with these counts, as a uint8 0/1
    array ``(y1 - y0, x1 - x0)``: the runs of ones that reach the window's columns, cut at column
    boundaries and at the window's rows, become +1/-1 marks summed down each column."""
    h = int(image_height)
    rows, cols = max(y1 - y0, 0), max(x1 - x0, 0)
    if not rows or not cols:
        return np.zeros((rows, cols), dtype=np.uint8)
    ends = np.cumsum(counts)
    on_start, on_end = (ends - counts)[1::2], ends[1::2]
    keep = (on_end > x0 * h) & (on_start < x1 * h) & (on_end > on_start)
    on_start, on_end = np.maximum(on_start[keep], x0 * h), np.minimum(on_end[keep], x1 * h)
    first, last = on_start // h, (on_end - 1) // h
    spans = last - first + 1  # a run crossing into the next columns continues at their top
    run = np.repeat(np.arange(len(first)), spans)
    column = first[run] + np.arange(len(run)) - np.repeat(np.cumsum(spans) - spans, spans)
    top = np.clip(np.maximum(on_start[run] - column * h, 0), y0, y1) - y0
    bottom = np.clip(np.minimum(on_end[run] - column * h, h), y0, y1) - y0
    inside = bottom > top
    marks = np.zeros((rows + 1, cols), dtype=np.int8)
    # within a column the pieces are disjoint and apart (empty runs are merged away), so no two
    # marks land on the same place
    marks[top[inside], column[inside] - x0] = 1
    marks[bottom[inside], column[inside] - x0] -= 1
    return np.cumsum(marks[:-1], axis=0, dtype=np.int8).view(np.uint8)


def area(counts: np.ndarray) -> int:
    """Pixels in the mask."""
    return int(counts[1::2].sum())
