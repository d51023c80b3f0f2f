"""COCO / LVIS annotation files into the canonical box table (docs/semantics.md §6).

Decoded with msgspec into a schema that names only what roiloss reads (``segmentation`` and every
other field are skipped, never built). Three schemas, tried in turn: *typed* (integer ids, numeric
bboxes and sizes, checked in C while decoding: the columns are then built with numpy alone),
*numeric* (numeric bboxes, ids of any JSON type) and *lenient* (anything; bad boxes become
flagged rows). A file that fails a schema fails it at its first odd value, so the retry is cheap
unless that value stands late in the file.
"""

from __future__ import annotations

import gc
import itertools
import re
from typing import Any

import msgspec
import numpy as np

from .box_table import BoxTable
from .errors import InputError


class _Image(msgspec.Struct, gc=False):
    id: Any = None
    width: Any = None
    height: Any = None


class _Category(msgspec.Struct, gc=False):
    id: Any = None
    name: Any = None


class _Annotation(msgspec.Struct, gc=False):
    id: Any = None
    image_id: Any = None
    category_id: Any = None
    bbox: Any = None
    iscrowd: Any = 0


class _Coco(msgspec.Struct, gc=False):
    """Only what roiloss reads; ``segmentation`` and every other field are skipped, never built."""

    annotations: list[_Annotation] | None = None
    images: list[_Image] = []
    categories: list[_Category] = []


class _NumericAnnotation(_Annotation, gc=False):
    bbox: list[float] = []


class _NumericCoco(_Coco, gc=False):
    """The common case, checked in C while decoding: every ``bbox`` a list of numbers (not
    strings, not booleans)."""

    annotations: list[_NumericAnnotation] | None = None


class _TypedImage(msgspec.Struct, gc=False):
    id: int
    width: float | None = None
    height: float | None = None


class _TypedCategory(msgspec.Struct, gc=False):
    id: int
    name: str | None = None


class _TypedAnnotation(msgspec.Struct, gc=False):
    image_id: int
    bbox: list[float]
    id: int | None = None
    category_id: int | None = None
    iscrowd: int = 0


class _TypedCoco(msgspec.Struct, gc=False):
    """COCO as written by its tools: integer ids, numbers where numbers belong."""

    annotations: list[_TypedAnnotation]
    images: list[_TypedImage] = []
    categories: list[_TypedCategory] = []


_TYPED = msgspec.json.Decoder(_TypedCoco)
_NUMERIC = msgspec.json.Decoder(_NumericCoco)
_LENIENT = msgspec.json.Decoder(_Coco)
_NON_STANDARD = (b"NaN", b"Infinity")  # what Python's json.dump writes for nan and inf


def _decode(data, name: str):
    """The annotation file (bytes or a buffer such as a memory map), decoded at msgspec's speed
    when it is clean; a file with non-numeric bboxes, NaN/Infinity literals or numbers beyond float
    range is decoded leniently so that its bad boxes become flagged rows, not a rejected file.
    Returns ``(coco, schema)``, ``schema`` one of ``typed``, ``numeric``, ``lenient``."""
    with memoryview(data) as whole:  # released on every way out: a memory map can then close
        view = whole[3:] if whole[:3] == b"\xef\xbb\xbf" else whole
        try:
            return _TYPED.decode(view), "typed"
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            data = bytes(view)  # the slower paths and their messages work on bytes
        finally:
            view.release()
    try:
        return _NUMERIC.decode(data), "numeric"
    except UnicodeDecodeError:
        raise InputError(f"{name}: {_utf8_error(data)}") from None
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    return decode_leniently(data, name, _LENIENT, _Coco, "a COCO annotation file"), "lenient"


def decode_leniently(data: bytes, name: str, decoder, schema, what: str):
    """Decode with msgspec; a file with NaN/Infinity literals (as Python's ``json.dump`` writes
    them) or numbers beyond float range goes through Python's json, which reads them as nan and
    inf, so that its bad boxes become flagged rows. Anything else is an :class:`InputError`
    naming the file and the place (``what`` names the expected document)."""
    try:
        return decoder.decode(data)
    except UnicodeDecodeError:
        raise InputError(f"{name}: {_utf8_error(data)}") from None
    except msgspec.ValidationError as error:
        if "out of range" not in str(error):
            raise InputError(f"{name}: not {what}: {error}") from None
        failure: Exception = error
    except msgspec.DecodeError as error:
        if not any(token in data for token in _NON_STANDARD):
            raise InputError(f"{name}: {_json_error(str(error), data)}") from None
        failure = error
    import json

    try:
        document = json.loads(data)
    except ValueError:
        raise InputError(f"{name}: {_json_error(str(failure), data)}") from None
    try:
        return msgspec.convert(document, schema)
    except msgspec.ValidationError as error:
        raise InputError(f"{name}: not {what}: {error}") from None


def read_coco(data, name: str, skip_crowd: bool = False) -> tuple[BoxTable, dict]:
    """The canonical table of a COCO/LVIS annotation file (its bytes, or a buffer over them such
    as a memory map) and what was found while reading it."""
    collecting = gc.isenabled()
    gc.disable()  # a million small objects (and lists of them) would trigger useless collections
    try:
        coco, schema = _decode(data, name)
        if coco.annotations is None:
            raise InputError(f"{name}: $.annotations is missing: not a COCO annotation file")
        columns = _typed_columns(coco) if schema == "typed" else None
        if columns is None:
            columns = _any_columns(coco, schema == "numeric")
        images = len(coco.images)
        del coco  # freed while collection is off: its objects are not traversed first
    finally:
        if collecting:
            gc.enable()
    coords, invalid, crowd = columns.pop("coords"), columns.pop("invalid"), columns.pop("iscrowd")
    n = len(coords)
    # negative or zero widths and heights make x2 <= x1 / y2 <= y1 once converted
    with np.errstate(over="ignore", invalid="ignore"):  # huge numbers become inf: flagged, not warned
        x2, y2 = coords[:, 0] + coords[:, 2], coords[:, 1] + coords[:, 3]
    table = BoxTable({
        "roi_id": columns["roi_id"], "image_id": columns["image_id"],
        "category": np.asarray(columns["category"], dtype=object),
        "x1": coords[:, 0], "y1": coords[:, 1], "x2": x2, "y2": y2,
        "image_width": columns["image_width"], "image_height": columns["image_height"],
        "iscrowd": crowd, "invalid": np.asarray(invalid, dtype=object), "position": np.arange(n),
    }, objects=["category"])  # names, or the category_id itself where no category has it
    notes = {"images": images, "annotations": n, "crowd": int(crowd.sum())}
    if skip_crowd:
        table = table.take(crowd == 0)
        notes["skipped_crowd"] = int(crowd.sum())
    return table, notes


def _typed_columns(coco: _TypedCoco) -> dict | None:
    """The columns of a typed file with numpy alone; ``None`` when something needs the general
    path (a bbox not of 4 numbers, a missing id or category, an id beyond int64)."""
    anns = coco.annotations
    n = len(anns)
    bboxes = [a.bbox for a in anns]
    if n and not (np.fromiter(map(len, bboxes), np.int64, n) == 4).all():
        return None
    try:
        ids = np.array([a.id for a in anns], dtype=np.int64)
        image_ids = np.array([a.image_id for a in anns], dtype=np.int64)
        category_ids = np.array([a.category_id for a in anns], dtype=np.int64)
        image_keys = np.array([i.id for i in coco.images], dtype=np.int64)
        category_keys = np.array([c.id for c in coco.categories], dtype=np.int64)
    except (TypeError, OverflowError):  # None, or an integer beyond int64
        return None
    coords = np.fromiter(itertools.chain.from_iterable(bboxes), np.float64, 4 * n).reshape(n, 4)
    image = _last_of_each(image_keys, image_ids)
    width = np.array([i.width for i in coco.images], dtype=np.float64)  # a missing size is NaN
    height = np.array([i.height for i in coco.images], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(width) & np.isfinite(height) & (width > 0) & (height > 0)
    found = image >= 0
    take = np.maximum(image, 0)
    good = found & usable[take] if len(image_keys) else found
    problem = np.array(["", "bad image size", "unknown-image"], dtype=object)[np.where(found, np.where(good, 0, 1), 2)]
    # the category shown: the name of the id's last entry, else the id; looked up per distinct id
    distinct, inverse = np.unique(category_ids, return_inverse=True)
    names = [c.name for c in coco.categories] + [None]
    shown = np.empty(len(distinct), dtype=object)
    shown[:] = [key if names[at] is None else names[at]
                for key, at in zip(distinct.tolist(), _last_of_each(category_keys, distinct).tolist())]
    return {"coords": coords, "invalid": problem, "iscrowd": (np.array([a.iscrowd for a in anns], np.int64) == 1)
            .astype(np.int64), "roi_id": ids, "image_id": image_ids, "category": shown[inverse.ravel()],
            "image_width": np.where(good, width[take] if len(width) else np.nan, np.nan),
            "image_height": np.where(good, height[take] if len(height) else np.nan, np.nan)}


DENSE_KEYS = 1 << 24  # ids below this are looked up in a table indexed by id (COCO's are < 1e6)


def _last_of_each(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each wanted key the index of its last entry in ``keys`` (a repeated id keeps its last
    entry, as a dict would), or -1."""
    if not len(keys):
        return np.full(len(wanted), -1)
    unique, first_from_end = np.unique(keys[::-1], return_index=True)
    index = len(keys) - 1 - first_from_end  # the last entry of each key
    if unique[0] >= 0 and unique[-1] < DENSE_KEYS:
        table = np.full(int(unique[-1]) + 2, -1)  # its extra last entry answers every key out of range
        table[unique] = index
        return table[np.where((wanted >= 0) & (wanted <= unique[-1]), wanted, len(table) - 1)]
    at = np.minimum(np.searchsorted(unique, wanted), len(unique) - 1)
    return np.where(unique[at] == wanted, index[at], -1)


def _any_columns(coco: _Coco, numeric: bool) -> dict:
    """The columns of a file with ids of any JSON type or odd bboxes: bad boxes flagged."""
    import pandas as pd

    anns = coco.annotations
    n = len(anns)
    coords = np.full((n, 4), np.nan)
    invalid = np.full(n, "", dtype=object)
    bboxes = [a.bbox for a in anns]
    try:
        if not numeric:
            raise ValueError
        coords[:] = np.array(bboxes, dtype=float).reshape(n, 4)
    except (ValueError, TypeError):  # some bbox is not 4 numbers: look at each
        for i, bbox in enumerate(bboxes):
            numbers = [_number(v) for v in bbox] if isinstance(bbox, list) else None
            if numbers is None or len(numbers) != 4 or any(v is None for v in numbers):
                invalid[i] = "bbox not 4 numbers"
            else:
                coords[i] = numbers
    image_w, image_h, image_problem = _image_sizes(coco.images, [a.image_id for a in anns])
    invalid = np.where(invalid == "", image_problem, invalid)
    crowd = pd.Series([a.iscrowd for a in anns], dtype=object).isin([1, "1"]).to_numpy(dtype=np.int64)
    category_ids = pd.Series([_key(a.category_id) for a in anns], dtype=object)
    names = category_ids.map({_key(c.id): c.name for c in coco.categories})
    ids = _column([a.id for a in anns])
    return {"coords": coords, "invalid": invalid, "iscrowd": crowd,
            "roi_id": ids if ids.dtype.kind in "iu" else np.where(pd.isna(ids), np.arange(n), ids),
            "image_id": _column([a.image_id for a in anns]),
            "category": names.where(names.notna(), category_ids).to_numpy(dtype=object),
            "image_width": image_w, "image_height": image_h}


def _image_sizes(images, wanted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height and problem ("", "unknown-image", "bad image size") of each wanted image id.

    Looked up in C through a pandas index (a Python loop costs seconds on COCO train); a repeated
    image id keeps its last entry.
    """
    import pandas as pd

    known = pd.DataFrame({
        "key": pd.Series([_key(image.id) for image in images], dtype=object),
        "width": [_number(image.width) for image in images],
        "height": [_number(image.height) for image in images],
    }, columns=["key", "width", "height"]).drop_duplicates("key", keep="last")
    width = pd.to_numeric(known["width"], errors="coerce").to_numpy(dtype=float)
    height = pd.to_numeric(known["height"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(width) & np.isfinite(height) & (width > 0) & (height > 0)
    keys = _column(known["key"].tolist())
    wanted = _column(wanted)
    if keys.dtype.kind in "iu" and wanted.dtype.kind in "iu":  # COCO's integer ids: no per-id Python work
        position = pd.Index(keys).get_indexer(wanted)
    else:
        position = pd.Index(keys, dtype=object).get_indexer(pd.Index([_key(w) for w in wanted], dtype=object))
    found = position >= 0
    take = np.where(found, position, 0)
    good = found & (usable[take] if len(known) else found)
    problem = np.where(~found, "unknown-image", np.where(good, "", "bad image size")).astype(object)
    if not len(known):
        return np.full(len(wanted), np.nan), np.full(len(wanted), np.nan), problem
    return np.where(good, width[take], np.nan), np.where(good, height[take], np.nan), problem


def _column(values: list) -> np.ndarray:
    """A list of JSON values as an int64 array when they are all integers, else as objects."""
    if values and all(type(v) is int for v in values):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _key(value):
    """Ids compare as written in JSON, but 3 and 3.0 are the same image."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _utf8_error(data: bytes) -> str:
    """Where the first byte that is not UTF-8 stands: line, column and byte offset."""
    try:
        data.decode("utf-8")
        return "not UTF-8 text"
    except UnicodeDecodeError as error:
        offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column} (byte {offset}): not UTF-8 text (byte 0x{data[offset]:02x}; save the file as UTF-8)"


def _json_error(message: str, data: bytes) -> str:
    """msgspec's "(byte N)" -> line and column."""
    match = re.search(r"byte (\d+)", message)
    if match:
        offset = int(match.group(1))
    elif "truncated" in message:
        offset = len(data.rstrip())
    else:
        return f"not valid JSON: {message}"
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    reason = re.sub(r"\s*\(byte \d+\)", "", message)
    return f"line {line}, column {column}: not valid JSON: {reason}"
