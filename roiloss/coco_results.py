"""COCO results files — a bare JSON list of detections — into the canonical box table.

Coordinate convention (docs/semantics.md §6.11): what ``pycocotools``' ``loadRes`` and every
detector's COCO evaluation read: ``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]``
with ``bbox`` in pixels, top-left corner and size, as in COCO annotations (§6.3):
``x1 = x, y1 = y, x2 = x + w, y2 = y + h``. ``score`` becomes a column that every output row
carries. ``roi_id`` is the detection's ``id`` when it has one, else its index in the list.

Image sizes and category names come from a COCO annotation file given as ``images`` (its
``images`` and ``categories``; ``annotations`` may be absent); a detection whose ``image_id`` is not
listed there is flagged ``unknown-image``. Without it sizes are unknown (``image_size`` fills them)
and ``category`` is the ``category_id``. ``min_score`` leaves out detections scoring below it and
counts them (``notes["skipped_low_score"]``); a detection without a numeric score is kept.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pandas as pd

from . import coco as _coco
from .errors import InputError


class _Detection(msgspec.Struct, gc=False):
    id: Any = None
    image_id: Any = None
    category_id: Any = None
    bbox: Any = None
    score: Any = None


_DECODER = msgspec.json.Decoder(list[_Detection])


def _decode(data: bytes, name: str) -> list[_Detection]:
    return _coco.decode_leniently(data, name, _DECODER, list[_Detection], "a COCO results file (a list of detections)")


def read_ground_truth(path) -> tuple[list, list]:
    """``images`` and ``categories`` of a COCO annotation file (for sizes and names)."""
    from .inputs import load_bytes

    name = str(path)
    data = load_bytes(path)
    try:
        document = _coco._LENIENT.decode(data.lstrip(b"\xef\xbb\xbf"))
    except UnicodeDecodeError:
        raise InputError(f"{name}: {_coco._utf8_error(data)}") from None
    except msgspec.ValidationError as error:
        raise InputError(f"{name}: not a COCO annotation file (images=): {error}") from None
    except msgspec.DecodeError as error:
        raise InputError(f"{name}: {_coco._json_error(str(error), data)}") from None
    if not document.images:
        raise InputError(f"{name}: $.images is missing or empty: images= needs the ground-truth file "
                         "whose images the detections are on")
    return document.images, document.categories


def read_coco_results(data: bytes, name: str, images=None, min_score: float | None = None) -> tuple[pd.DataFrame, dict]:
    """The canonical table of a COCO results list; ``images`` is a ground-truth path or
    ``(images, categories)``."""
    detections = _decode(data.lstrip(b"\xef\xbb\xbf"), name)
    n = len(detections)
    coords = np.full((n, 4), np.nan)
    invalid = np.full(n, "", dtype=object)
    for i, d in enumerate(detections):
        numbers = [_coco._number(v) for v in d.bbox] if isinstance(d.bbox, list) else None
        if numbers is None or len(numbers) != 4 or any(v is None for v in numbers):
            invalid[i] = "bbox not 4 numbers"
        else:
            coords[i] = numbers
    scores = np.array([np.nan if _coco._number(d.score) is None else _coco._number(d.score) for d in detections],
                      dtype=float)
    category_ids = pd.Series([_coco._key(d.category_id) for d in detections], dtype=object)
    image_ids = [d.image_id for d in detections]
    notes: dict[str, Any] = {"detections": n}
    if images is not None:
        gt_images, gt_categories = read_ground_truth(images) if not isinstance(images, tuple) else images
        image_w, image_h, problem = _coco._image_sizes(gt_images, image_ids)
        invalid = np.where(invalid == "", problem, invalid)
        names = category_ids.map({_coco._key(c.id): c.name for c in gt_categories})
        category = names.where(names.notna(), category_ids).to_numpy(dtype=object)
        notes["images"] = len(gt_images)
    else:
        image_w = image_h = np.full(n, np.nan)
        category = category_ids.to_numpy(dtype=object)
    ids = _coco._column([d.id for d in detections])
    with np.errstate(over="ignore", invalid="ignore"):
        x2, y2 = coords[:, 0] + coords[:, 2], coords[:, 1] + coords[:, 3]
    table = pd.DataFrame({
        "roi_id": ids if ids.dtype.kind in "iu" else np.where(pd.isna(ids), np.arange(n), ids),
        "image_id": _coco._column(image_ids),
        "category": category,
        "x1": coords[:, 0], "y1": coords[:, 1], "x2": x2, "y2": y2,
        "image_width": image_w, "image_height": image_h,
        "score": scores, "invalid": invalid,
    })
    table["position"] = np.arange(n)
    if min_score is not None:
        with np.errstate(invalid="ignore"):
            low = scores < float(min_score)  # NaN scores are not below: kept
        table = table[~low].reset_index(drop=True)
        notes["skipped_low_score"] = int(low.sum())
    return table, notes
