"""YOLO label files (a directory of ``.txt``, or one file) into the canonical box table.

Coordinate convention (docs/semantics.md §6.9): each line is ``class xc yc w h`` — the box centre
and size normalised by the image width ``W`` and height ``H`` (a sixth number, the confidence that
``--save-conf`` writes, becomes ``score``). roiloss converts ``x1 = (xc − w/2)·W``,
``x2 = (xc + w/2)·W``, ``y1 = (yc − h/2)·H``, ``y2 = (yc + h/2)·H`` in float64.

The image size is never guessed: it is read from the header of the image beside the label file
(``imagesize``, no pixels decoded) — in the same folder, or where Ultralytics keeps it (the last
``labels`` folder of the path replaced by ``images``) — else taken from ``image_sizes`` (by file
stem or image name), else from ``image_size``; a label file with boxes and none of these is an
:class:`InputError` naming it. Class names come from ``data.yaml`` (``names``: a list or an
``{id: name}`` mapping, read with ``yaml.safe_load``) in the directory or its parent, or from
``classes.txt`` / ``obj.names`` (one name per line); without them ``category`` is the class number.

A bad line keeps its row, flagged: not 5 (or 6) values, a value that is not a number, a class that
is not a whole number, or a normalised value beyond ``[0, 1]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
NAME_FILES = ("classes.txt", "obj.names")
YAML_FILES = ("data.yaml", "data.yml", "dataset.yaml")


def label_files(path: Path) -> list[Path]:
    """The label files of a YOLO dataset folder (its ``labels`` folder when it has one), sorted."""
    root = path / "labels" if (path / "labels").is_dir() else path
    return sorted(p for p in root.rglob("*.txt") if p.is_file() and p.name not in NAME_FILES)


def is_label_line(line: str) -> bool:
    """``0 0.5 0.5 0.2 0.3``: 5 or 6 numbers, the first a whole number."""
    parts = line.split()
    try:
        return len(parts) in (5, 6) and float(parts[0]).is_integer() and all(np.isfinite(float(v)) for v in parts)
    except ValueError:
        return False


def class_names(path: Path) -> tuple[dict[int, str], str | None]:
    """``{class: name}`` from data.yaml or classes.txt near ``path``, and the file read."""
    folders = [path] if path.is_dir() else [path.parent]
    folders += [folders[0].parent, folders[0].parent.parent]
    for folder in folders:
        for name in YAML_FILES:
            if (folder / name).is_file():
                return _yaml_names(folder / name), str(folder / name)
        for name in NAME_FILES:
            if (folder / name).is_file():
                lines = (folder / name).read_text(encoding="utf-8-sig", errors="replace").splitlines()
                return {i: line.strip() for i, line in enumerate(lines) if line.strip()}, str(folder / name)
    return {}, None


def _yaml_names(path: Path) -> dict[int, str]:
    import yaml

    try:
        document = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise InputError(f"{path}: {where}not valid YAML: {getattr(error, 'problem', None) or error}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    names = document.get("names") if isinstance(document, dict) else None
    if isinstance(names, list):
        return {i: str(v) for i, v in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise InputError(f"{path}: names: the keys must be class numbers") from None
    if names is not None:
        raise InputError(f"{path}: names must be a list or a mapping of class numbers to names")
    return {}


def find_image(label: Path) -> Path | None:
    """The image a label file describes: same stem, beside it or in the matching ``images`` folder."""
    folders = [label.parent]
    parts = label.parent.parts
    if "labels" in parts:
        at = len(parts) - 1 - parts[::-1].index("labels")
        folders.append(Path(*parts[:at], "images", *parts[at + 1:]))
    folders.append(label.parent.parent / "images")
    for folder in folders:
        if not folder.is_dir():
            continue
        for suffix in IMAGE_SUFFIXES:
            for candidate in (folder / (label.stem + suffix), folder / (label.stem + suffix.upper())):
                if candidate.is_file():
                    return candidate
    return None


def image_size_of(image: Path) -> tuple[float, float]:
    import imagesize

    try:
        width, height = imagesize.get(str(image))
    except (OSError, ValueError) as error:
        raise InputError(f"{image}: cannot read the image size from its header: {error}") from None
    if not (width > 0 and height > 0):
        raise InputError(f"{image}: cannot read the image size from its header (not a JPEG, PNG, GIF, BMP, "
                         "TIFF or WebP image?)")
    return float(width), float(height)


def _size_for(label: Path, sizes, image_size) -> tuple[str, float, float]:
    image = find_image(label)
    if image is not None:
        return image.name, *image_size_of(image)
    if sizes:
        for key in (label.stem, *(label.stem + s for s in IMAGE_SUFFIXES)):
            if key in sizes:
                return key, *sizes[key]
    if image_size is not None:
        return label.stem, float(image_size[0]), float(image_size[1])
    raise InputError(f"{label}: no image beside it to read the image size from (looked for {label.stem}"
                     f"{{{','.join(IMAGE_SUFFIXES)}}} beside it and in the matching images folder); YOLO boxes are "
                     "normalised: give image_size=WxH or image_sizes= (a CSV image_id,width,height)")


def parse_line(line: str) -> tuple[list[float], str]:
    """``class xc yc w h [conf]`` -> the numbers (NaN where unusable) and the reason it is bad."""
    parts = line.split()
    values = [np.nan] * 6
    if len(parts) not in (5, 6):
        return values, f"line has {len(parts)} values, expected 5 (class xc yc w h)"
    try:
        numbers = [float(v) for v in parts]
    except ValueError:
        return values, "non-numeric value"
    numbers += [np.nan] * (6 - len(numbers))
    if not all(np.isfinite(numbers[:5])):
        return numbers, "non-finite"
    if not numbers[0].is_integer() or numbers[0] < 0:
        return numbers, "class not a whole number"
    if not all(0.0 <= v <= 1.0 for v in numbers[1:5]):
        return numbers, "normalised value beyond [0, 1]"
    return numbers, ""


def read_yolo(path: Path, image_size=None, sizes=None) -> tuple[pd.DataFrame, dict, list[str]]:
    """The canonical table of a YOLO label folder or file, what was found, and each box's place."""
    import pandas as pd

    files = [path] if path.is_file() else label_files(path)
    if not files:
        raise InputError(f"{path}: no YOLO label files (.txt) in this directory")
    names, names_file = class_names(path)
    columns: dict[str, list] = {k: [] for k in ("image_id", "category", "x1", "y1", "x2", "y2", "image_width",
                                                 "image_height", "score", "invalid")}
    places: list[str] = []
    for label in files:
        try:
            text = label.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputError(f"{label}: not UTF-8 text (byte {error.start})") from None
        except OSError as error:
            raise InputError(f"{label}: cannot read: {error.strerror or error}") from None
        lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
        if not lines:
            continue
        image_id, width, height = _size_for(label, sizes, image_size)
        for number, line in lines:
            (cls, xc, yc, w, h, conf), why = parse_line(line)
            places.append(f"{label}: line {number}")
            columns["image_id"].append(image_id)
            columns["category"].append(names.get(int(cls), int(cls)) if np.isfinite(cls) and cls.is_integer() else None)
            columns["x1"].append((xc - w / 2) * width)
            columns["x2"].append((xc + w / 2) * width)
            columns["y1"].append((yc - h / 2) * height)
            columns["y2"].append((yc + h / 2) * height)
            columns["image_width"].append(width)
            columns["image_height"].append(height)
            columns["score"].append(conf)
            columns["invalid"].append(why)
    n = len(places)
    table = pd.DataFrame({"roi_id": np.arange(n), **{k: np.array(v, dtype=object if k in (
        "image_id", "category", "invalid") else float) for k, v in columns.items()}})
    if table["score"].isna().all():
        table = table.drop(columns="score")
    table["position"] = np.arange(n)
    return table, {"files": len(files), "names": names_file}, places
