"""The canonical box table every reader produces and the engine consumes.

Columns: ``roi_id``, ``image_id``, ``category``, ``x1``, ``y1``, ``x2``, ``y2`` (image pixels,
``x2`` exclusive), ``image_width``, ``image_height`` (NaN when unknown) and ``invalid`` (empty, or
the reason the box cannot be measured). A reader that could not parse a box still emits its row,
with NaN coordinates and the reason, so no box is ever dropped silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .box_table import BoxTable, as_numpy, missing, numbers
from .geometry import parse_size

if TYPE_CHECKING:
    import pandas as pd

# Beyond this many pixels a coordinate is not an image coordinate (and cell indices would overflow);
# a side shorter than MIN_SIDE px has no measurable area (ratios to it overflow).
MAX_COORDINATE = 1e7
MIN_SIDE = 1e-6

IDENTITY = ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2"]
COLUMNS = IDENTITY + ["image_width", "image_height", "invalid"]

# Accepted header spellings (lower-cased) -> canonical name. Corners first, then x/y/w/h.
CORNER_ALIASES = {
    "x1": "x1", "y1": "y1", "x2": "x2", "y2": "y2",
    "xmin": "x1", "ymin": "y1", "xmax": "x2", "ymax": "y2",
}
XYWH_ALIASES = {"x": "x", "y": "y", "w": "w", "h": "h", "width": "w", "height": "h"}
OTHER_ALIASES = {
    "id": "roi_id", "roi_id": "roi_id", "box_id": "roi_id", "annotation_id": "roi_id",
    "image_id": "image_id", "image": "image_id", "filename": "image_id", "file_name": "image_id",
    "image_name": "image_id",
    "category": "category", "label": "category", "class": "category", "category_id": "category",
    "image_width": "image_width", "image_height": "image_height", "img_width": "image_width",
    "img_height": "image_height", "iscrowd": "iscrowd", "imageid": "image_id", "labelname": "category",
    "isgroupof": "iscrowd",
}


def from_array(coords, ids=None) -> pd.DataFrame:
    """An ``(N, 4)`` array of ``x1, y1, x2, y2`` -> the canonical table."""
    import pandas as pd

    coords = np.asarray(coords, dtype=float).reshape(-1, 4)
    n = len(coords)
    return pd.DataFrame({
        "roi_id": np.arange(n) if ids is None else np.asarray(ids),
        "image_id": pd.Series([None] * n, dtype=object),
        "category": pd.Series([None] * n, dtype=object),
        "x1": coords[:, 0], "y1": coords[:, 1], "x2": coords[:, 2], "y2": coords[:, 3],
    })


def from_frame(frame: pd.DataFrame, columns: dict[str, str] | None = None, source: str = "input") -> pd.DataFrame:
    """A table with box columns found by name (docs/semantics.md §6) -> the canonical table.

    ``columns`` maps canonical names (``x1``, ``x``, ``w``, ``image_id``...) to the frame's own
    headers and wins over the aliases. Non-numeric coordinates make the box invalid, not the file.
    """
    return from_columns(BoxTable.of(frame), columns, source).to_pandas()


def from_columns(raw: BoxTable, columns: dict[str, str] | None = None, source: str = "input") -> BoxTable:
    """:func:`from_frame` on columns as a reader parsed them (numbers, booleans or text), without
    pandas unless a coordinate or size column holds text."""
    by_lower = {str(c).strip().lower().lstrip("\ufeff"): c for c in raw.columns}
    found: dict[str, str] = {}
    for alias_table in (CORNER_ALIASES, XYWH_ALIASES, OTHER_ALIASES):
        for alias, canonical in alias_table.items():
            if alias in by_lower and canonical not in found:
                found[canonical] = by_lower[alias]
    for canonical, header in (columns or {}).items():
        if header not in raw:
            raise ValueError(f"{source}: columns maps {canonical} to {header!r}, but the columns are: "
                             f"{', '.join(map(str, raw.columns))}")
        found[canonical] = header

    n = len(raw)
    invalid = np.full(n, "", dtype=object)
    reasoned = np.zeros(n, dtype=bool)  # invalid != "": the first reason given stays

    def flag(mask: np.ndarray, why) -> None:
        new = mask & ~reasoned
        if new.any():
            invalid[new] = why if isinstance(why, str) else why[new]
            reasoned[new] = True

    def numeric(canonical):
        column = raw[found[canonical]]
        kind = column.dtype.kind
        if kind == "b":  # true/false are not coordinates (Parquet bool columns)
            values = np.full(n, np.nan)
            absent = missing(column)
            bad = ~absent
        elif kind in "iuf":  # the common case: the reader parsed the column as numbers
            with np.errstate(over="ignore"):  # a huge integer becomes inf, then the box is flagged
                values = numbers(column)
            absent, bad = np.isnan(values), np.zeros(n, dtype=bool)
        else:
            import pandas as pd

            text = pd.Series(column, dtype=column.dtype)
            with np.errstate(over="ignore"):
                values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            blank = text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
            absent, bad = np.isnan(values) & blank, np.isnan(values) & ~blank
        for mask, why in ((absent, f"missing/NaN {canonical}"), (bad, f"non-numeric {canonical}")):
            flag(mask, why)
        return values

    if all(c in found for c in ("x1", "y1", "x2", "y2")):
        box_columns = ("x1", "y1", "x2", "y2")
        x1, y1, x2, y2 = (numeric(c) for c in box_columns)
    elif all(c in found for c in ("x", "y", "w", "h")) or all(c in found for c in ("x1", "y1", "w", "h")):
        # x, y, w, h; or xmin, ymin, width, height (corners' starts with a size: the box's size)
        box_columns = ("x", "y", "w", "h") if "x" in found and "y" in found else ("x1", "y1", "w", "h")
        x, y, w, h = (numeric(c) for c in box_columns)
        with np.errstate(over="ignore", invalid="ignore"):
            x1, y1, x2, y2 = x, y, x + w, y + h
    elif "bbox" in by_lower:  # one column of [x, y, w, h] lists (Kaggle, COCO-like exports)
        box_columns = ("bbox",)
        found["bbox"] = by_lower["bbox"]
        x, y, w, h, why = _bbox_column(raw[found["bbox"]])
        flag(why != "", why)
        with np.errstate(over="ignore", invalid="ignore"):
            x1, y1, x2, y2 = x, y, x + w, y + h
    else:
        raise ValueError(
            f"{source}: no box columns found; columns are: {', '.join(map(str, raw.columns)) or '(none)'}; "
            "expected x1,y1,x2,y2 or xmin,ymin,xmax,ymax or x,y,w,h or xmin,ymin,width,height or bbox "
            "(or map them with columns)")

    flagged = np.flatnonzero(reasoned)
    suspects = flagged[np.char.startswith(invalid[flagged].astype(str), "non-numeric")] if len(flagged) else flagged
    if len(suspects):  # a header line repeated inside the file (files concatenated with cat)
        repeated = np.ones(len(suspects), dtype=bool)
        for canonical in box_columns:
            header = str(found[canonical]).strip().lower()
            text = np.asarray(as_numpy(raw[found[canonical]]), dtype=object)[suspects]
            repeated &= np.array([str(v).strip().lower() == header for v in text], dtype=bool)
        invalid[suspects[repeated]] = "repeated header line"

    def label(canonical):  # the column as read (its own dtype, no copy), or None everywhere
        return raw[found[canonical]] if canonical in found else np.full(n, None, dtype=object)

    table = BoxTable({
        "roi_id": as_numpy(raw[found["roi_id"]]) if "roi_id" in found else np.arange(n),
        "image_id": label("image_id"), "category": label("category"),
        "x1": x1, "y1": y1, "x2": x2, "y2": y2,
    }, objects=[c for c in ("image_id", "category") if found.get(c) in raw.objects])  # as the reader typed them
    if box_columns in (("x1", "y1", "x2", "y2"), ("bbox",)) and "w" in found and "h" in found \
            and not {"image_width", "image_height"} & set(found):
        # width/height beside corners or a bbox column: the box's own size is redundant, so they are the image's
        w, h = _coerced(raw[found["w"]]), _coerced(raw[found["h"]])
        with np.errstate(invalid="ignore", over="ignore"):
            box_sized = np.allclose(w, x2 - x1, equal_nan=True) and np.allclose(h, y2 - y1, equal_nan=True)
        if not box_sized:
            found["image_width"], found["image_height"] = found["w"], found["h"]
    for side in ("image_width", "image_height"):
        if side in found:
            size = _coerced(raw[found[side]])
            with np.errstate(invalid="ignore"):
                bad = ~np.isnan(size) & ~(size > 0) | np.isinf(size)
                table[side] = np.where(size > 0, size, np.nan)
            flag(bad, f"bad {side}")
    if "iscrowd" in found:
        crowd = _coerced(raw[found["iscrowd"]])
        table["iscrowd"] = np.where(np.isnan(crowd), 0, crowd).astype(int)
    if "score" in by_lower:  # detections: the detector's confidence, kept as a column
        table["score"] = _coerced(raw[by_lower["score"]])
    table["invalid"] = invalid
    return table


def _coerced(column) -> np.ndarray:
    """Numbers as float64, anything else NaN (``pandas.to_numeric(errors="coerce")``)."""
    if column.dtype.kind in "iuf":
        with np.errstate(over="ignore"):
            return numbers(column)
    import pandas as pd

    with np.errstate(over="ignore"):
        return pd.to_numeric(pd.Series(column, dtype=column.dtype), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def text_column(values: np.ndarray) -> pd.Series:
    """An object array as a column that stays ``object``: pandas would otherwise copy every
    string into an Arrow string column (and back, each time the engine reads it)."""
    import pandas as pd

    return pd.Series(values, dtype=object)


def _bbox_column(raw: pd.Series):
    """``[x, y, w, h]`` per row, as a list/array or as text ``"[x, y, w, h]"`` -> four arrays and the
    reason per row (``bbox not 4 numbers``, ``missing/NaN bbox``)."""
    n = len(raw)
    values = np.full((n, 4), np.nan)
    why = np.full(n, "", dtype=object)
    for i, item in enumerate(np.asarray(as_numpy(raw), dtype=object)):
        if item is None or (isinstance(item, float) and np.isnan(item)) or (isinstance(item, str) and not item.strip()):
            why[i] = "missing/NaN bbox"
            continue
        if isinstance(item, str):
            item = item.strip().strip("[]()").replace(";", ",").split(",")
        try:
            numbers = [float(v) for v in item if not isinstance(v, bool)] if not isinstance(item, (int, float)) else []
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 4 or len(numbers) != len(item):
            why[i] = "bbox not 4 numbers"
        else:
            values[i] = numbers
    return values[:, 0], values[:, 1], values[:, 2], values[:, 3], why


def normalise(boxes, image_size=None) -> pd.DataFrame:
    """Anything box-like -> the canonical table, validated.

    Accepts a DataFrame (box columns found by name, docs/semantics.md §6), an ``(N, 4)`` array or
    sequence of ``(x1, y1, x2, y2)``, torchvision-style ``(N, 5)`` rois (batch index first: it
    becomes ``image_id``), or a list of dicts with box keys. ``image_size`` ``(W, H)`` or ``"WxH"``
    fills every box's image size where the input has none. Raises ``TypeError``/``ValueError``
    naming ``boxes`` or ``image_size``.
    """
    import pandas as pd

    image_size = parse_size(image_size)
    if isinstance(boxes, pd.DataFrame):
        table = boxes.copy() if set(IDENTITY) <= set(boxes.columns) else from_frame(boxes, source="boxes")
    elif isinstance(boxes, (list, tuple)) and boxes and all(isinstance(b, dict) for b in boxes):
        table = from_frame(pd.DataFrame(list(boxes)), source="boxes")
    else:
        table = _from_sequence(boxes)
    n = len(table)
    for side, index in (("image_width", 0), ("image_height", 1)):
        if side not in table.columns:
            table[side] = np.nan
        table[side] = table[side].astype(float)
        if image_size is not None:
            table[side] = table[side].fillna(float(image_size[index]))
    table = table.reset_index(drop=True)
    if "invalid" not in table.columns:
        table["invalid"] = text_column(np.full(n, "", dtype=object))
    table["invalid"] = table["invalid"].fillna("").astype(object)
    table["invalid"] = text_column(validate(table))
    return table


def _from_sequence(boxes) -> pd.DataFrame:
    if isinstance(boxes, (str, bytes, dict)) or not hasattr(boxes, "__len__"):
        raise TypeError("boxes must be a DataFrame, an (N, 4) or (N, 5) array, or a list of boxes or dicts; "
                        f"got {type(boxes).__name__}")
    try:
        array = np.asarray(boxes, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("boxes must hold numbers: (x1, y1, x2, y2) per box, or (batch, x1, y1, x2, y2)") from None
    if array.size == 0:
        return from_array(np.zeros((0, 4)))
    if array.ndim == 1 and array.shape[0] in (4, 5):
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] not in (4, 5):
        raise ValueError(f"boxes must have shape (N, 4) or (N, 5) (torchvision rois), got {array.shape}")
    if array.shape[1] == 4:
        return from_array(array)
    import pandas as pd

    table = from_array(array[:, 1:])
    batch = array[:, 0]
    table["image_id"] = pd.array(np.where(np.isfinite(batch), batch, -1).astype(np.int64), dtype="Int64")
    return table


def normalise_columns(table: BoxTable, image_size=None) -> BoxTable:
    """:func:`normalise` of a reader's canonical columns, without pandas: image sizes as float64
    (``image_size`` ``(W, H)`` where none is known), ``invalid`` filled in."""
    n = len(table)
    for side, index in (("image_width", 0), ("image_height", 1)):
        size = numbers(table[side]) if side in table else np.full(n, np.nan)
        if image_size is not None:
            size = np.where(np.isnan(size), float(image_size[index]), size)
        table[side] = size
    if "invalid" in table:
        given = np.asarray(as_numpy(table["invalid"]), dtype=object)
        given = np.where(missing(given), "", given)
    else:
        given = np.full(n, "", dtype=object)
    table["invalid"] = given
    table["invalid"] = validate(table)
    return table


def validate(table) -> np.ndarray:
    """The reason each box of a DataFrame or :class:`~roiloss.box_table.BoxTable` cannot be
    measured, or ``""``; a reason already given is kept."""
    x1, y1, x2, y2 = (numbers(table[c]) for c in ("x1", "y1", "x2", "y2"))
    reason = np.array(as_numpy(table["invalid"]), dtype=object)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN: already "non-finite"
        checks = _checks(x1, y1, x2, y2)
    for bad, why in checks:
        if bad.any():
            reason = np.where((reason == "") & bad, why, reason)
    return reason


def _checks(x1, y1, x2, y2) -> list[tuple[np.ndarray, str]]:
    """(mask, reason) pairs, the first matching reason wins."""
    return [
        (~np.isfinite(x1) | ~np.isfinite(y1) | ~np.isfinite(x2) | ~np.isfinite(y2), "non-finite"),
        (np.abs(np.stack([x1, y1, x2, y2])).max(axis=0, initial=0) > MAX_COORDINATE, "coordinate beyond 1e7 px"),
        (x2 <= x1, "x2<=x1"),
        (y2 <= y1, "y2<=y1"),
        ((x2 - x1 < MIN_SIDE) | (y2 - y1 < MIN_SIDE), "side below 1e-6 px"),
    ]
