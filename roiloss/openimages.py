"""Open Images box CSVs, and image-size tables, into canonical box tables.

Coordinate convention (docs/semantics.md §6.10): an Open Images box row
``ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,...``
gives the box normalised to ``[0, 1]`` — note the column order, ``XMin, XMax`` before ``YMin,
YMax``: columns are found by name, never by position. roiloss converts ``x1 = XMin·W``,
``x2 = XMax·W``, ``y1 = YMin·H``, ``y2 = YMax·H``, with ``W, H`` the image's size from
``image_sizes`` (a CSV ``image_id,width,height``, looked up by ``ImageID``) or ``image_size``;
without either the file is an :class:`InputError` (a size is never guessed). ``category`` is the
``LabelName`` (a MID such as ``/m/01g317``) and ``IsGroupOf`` becomes ``iscrowd``. A box whose image is not in ``image_sizes`` (and no ``image_size``)
is flagged ``unknown-image``; a value beyond ``[0, 1]`` is flagged ``normalised value beyond [0, 1]``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Iterator

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

HEADERS = ("imageid", "xmin", "xmax", "ymin", "ymax")


def is_open_images(header: str) -> bool:
    """The header line of an Open Images box CSV: ImageID and XMin, XMax, YMin, YMax."""
    names = {part.strip().strip('"').lower() for part in header.replace("\t", ",").split(",")}
    return set(HEADERS) <= names


def read_image_sizes(path) -> dict[str, tuple[float, float]]:
    """``{image_id: (width, height)}`` from a CSV with columns ``image_id`` (or ``ImageID``,
    ``file_name``...), ``width`` and ``height`` (or ``image_width``, ``image_height``)."""
    import pandas as pd

    from .inputs import load_bytes

    name = str(path)
    data = load_bytes(path)
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", skipinitialspace=True, comment=None,
                            dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{name}: not a readable image-size CSV: {str(error).strip().splitlines()[0]}") from None
    lowered = {str(c).strip().lower().lstrip("\ufeff"): c for c in frame.columns}

    def pick(*names):
        for candidate in names:
            if candidate in lowered:
                return lowered[candidate]
        raise InputError(f"{name}: an image-size CSV needs columns image_id, width, height; columns are: "
                         f"{', '.join(map(str, frame.columns))}")

    ids = frame[pick("image_id", "imageid", "id", "image", "file_name", "filename", "image_name")]
    width = pd.to_numeric(frame[pick("width", "image_width", "img_width", "w")], errors="coerce")
    height = pd.to_numeric(frame[pick("height", "image_height", "img_height", "h")], errors="coerce")
    bad = ~((width > 0) & (height > 0) & np.isfinite(width) & np.isfinite(height))
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{name}: line {first + 2}: image size must be two positive numbers, got "
                         f"{frame.iloc[first][width.name]!r} x {frame.iloc[first][height.name]!r}")
    return dict(zip(ids.astype(str).str.strip(), zip(width.astype(float), height.astype(float))))


def open_images_chunks(chunks: Iterator[pd.DataFrame], name: str, sizes=None, image_size=None) -> Iterator[pd.DataFrame]:
    """Canonical chunks in pixels from the normalised chunks of the generic CSV reader."""
    if sizes is None and image_size is None:
        raise InputError(f"{name}: Open Images boxes are normalised to [0, 1]: give image sizes with "
                         "image_sizes= (a CSV image_id,width,height) or image_size=WxH")
    for table in chunks:
        yield convert(table, sizes, image_size)


def convert(table: pd.DataFrame, sizes=None, image_size=None) -> pd.DataFrame:
    """Normalised corners -> pixels, by each box's image size."""
    table = table.copy()
    n = len(table)
    width, height = np.full(n, np.nan), np.full(n, np.nan)
    if sizes:
        keys = table["image_id"].astype(str).str.strip()
        width = keys.map(lambda k: sizes.get(k, (np.nan, np.nan))[0]).to_numpy(dtype=float)
        height = keys.map(lambda k: sizes.get(k, (np.nan, np.nan))[1]).to_numpy(dtype=float)
    if image_size is not None:
        width = np.where(np.isnan(width), float(image_size[0]), width)
        height = np.where(np.isnan(height), float(image_size[1]), height)
    invalid = table["invalid"].to_numpy(dtype=object).copy()
    coords = {c: table[c].to_numpy(dtype=float) for c in ("x1", "y1", "x2", "y2")}
    with np.errstate(invalid="ignore"):
        beyond = np.zeros(n, dtype=bool)
        for values in coords.values():
            beyond |= (values < 0) | (values > 1)
    invalid = np.where((invalid == "") & beyond, "normalised value beyond [0, 1]", invalid)
    invalid = np.where((invalid == "") & np.isnan(width), "unknown-image", invalid)
    table["x1"], table["x2"] = coords["x1"] * width, coords["x2"] * width
    table["y1"], table["y2"] = coords["y1"] * height, coords["y2"] * height
    table["image_width"], table["image_height"] = width, height
    table["invalid"] = invalid
    return table

