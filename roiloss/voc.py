"""Pascal VOC XML annotations (one file, or a directory of them) into the canonical box table.

Coordinate convention (docs/semantics.md §6.8): a VOC ``<bndbox>`` holds 1-based, inclusive pixel
indices — ``xmin = 1, xmax = W`` is the whole image. roiloss converts them as Detectron2 does
(``detectron2/data/datasets/pascal_voc.py``, ``load_voc_instances``, at commit
02b5c4e295e990042a714712c21dc79b731e8833): ``x1 = xmin − 1, y1 = ymin − 1, x2 = xmax, y2 = ymax``,
so the box covers pixels ``xmin … xmax`` in roiloss' continuous coordinates (§1.1).

Each ``<object>`` is one box: ``category`` = its ``<name>``, ``image_id`` = the file's ``<filename>``
(the XML file's name without ``.xml`` when there is none), the image size from ``<size>``
(``<width>``, ``<height>``; missing means unknown, zero or negative makes the box invalid).
``difficult`` and ``truncated`` (0 when absent) are kept as columns.

XML is parsed with ``defusedxml``: a file that declares entities (the "billion laughs" expansion
attack) or refers to external resources is refused before anything is expanded. A file that is not
well-formed XML, or whose root is not ``<annotation>``, is an :class:`InputError` naming the file and
line. A bad box (no ``<bndbox>``, a coordinate that is missing or not a number) is a flagged row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

CORNERS = ("xmin", "ymin", "xmax", "ymax")


def voc_files(directory: Path) -> list[Path]:
    """The ``.xml`` files of a VOC directory, or of its ``Annotations`` folder, sorted by name."""
    for folder in (directory, directory / "Annotations"):
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() == ".xml" and p.is_file())
        if files:
            return files
    return []


def parse_xml(data: bytes, name: str):
    """The root element of an XML document, parsed without expanding entities."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as error:
        raise InputError(f"{name}: refused: the XML declares entities or external references ({type(error).__name__}); "
                         "entity expansion ('billion laughs') is not allowed in box files") from None
    except SafeET.ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        reason = str(error).split(":")[0]
        raise InputError(f"{name}: line {line}, column {column + 1}: not well-formed XML: {reason}") from None


def _text(element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _number(text: str | None) -> float | None:
    if text is None or not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _flag(text: str | None) -> int:
    value = _number(text)
    return int(value) if value is not None and np.isfinite(value) else 0


def read_voc(documents: list[tuple[str, bytes]]) -> tuple[pd.DataFrame, dict, list[str]]:
    """The canonical table of VOC documents ``(name, bytes)``, what was found, and the place
    (``file: object N``) of each box."""
    rows: list[dict] = []
    places: list[str] = []
    for name, data in documents:
        root = parse_xml(data, name)
        if root.tag != "annotation":
            raise InputError(f"{name}: not a Pascal VOC annotation: the root element is <{root.tag}>, "
                             "not <annotation>")
        image_id = _text(root, "filename") or Path(name).name.rsplit(".", 1)[0]
        width, height = _number(_text(root, "size/width")), _number(_text(root, "size/height"))
        size_problem = ""
        if (width is not None and not width > 0) or (height is not None and not height > 0):
            size_problem = "bad image size"
        for k, obj in enumerate(root.iter("object")):
            places.append(f"{name}: object {k + 1}")
            row = {"image_id": image_id, "category": _text(obj, "name"),
                   "image_width": width if width and width > 0 else np.nan,
                   "image_height": height if height and height > 0 else np.nan,
                   "difficult": _flag(_text(obj, "difficult")), "truncated": _flag(_text(obj, "truncated")),
                   "invalid": size_problem}
            box = obj.find("bndbox")
            values = [_number(_text(box, c)) if box is not None else None for c in CORNERS]
            if box is None:
                row["invalid"] = row["invalid"] or "missing bndbox"
            else:
                for corner, value in zip(CORNERS, values):
                    if value is None and not row["invalid"]:
                        raw = _text(box, corner)
                        row["invalid"] = f"missing/NaN {corner}" if not raw else f"non-numeric {corner}"
            xmin, ymin, xmax, ymax = (np.nan if v is None else v for v in values)
            # 1-based inclusive pixel indices -> continuous corners, as Detectron2 (module docstring)
            row.update(x1=xmin - 1.0, y1=ymin - 1.0, x2=xmax, y2=ymax)
            rows.append(row)
    n = len(rows)
    table = pd.DataFrame({
        "roi_id": np.arange(n),
        "image_id": np.array([r["image_id"] for r in rows], dtype=object),
        "category": np.array([r["category"] for r in rows], dtype=object),
        **{c: np.array([r[c] for r in rows], dtype=float) for c in ("x1", "y1", "x2", "y2", "image_width", "image_height")},
        "difficult": np.array([r["difficult"] for r in rows], dtype=np.int64),
        "truncated": np.array([r["truncated"] for r in rows], dtype=np.int64),
        "invalid": np.array([r["invalid"] for r in rows], dtype=object),
    })
    table["position"] = np.arange(n)
    return table, {"files": len(documents), "objects": n}, places
