"""The same made-up boxes written in every box format roiloss reads (tests/test_formats.py,
tests/test_many_inputs.py, and ``python tests/box_formats.py DIR`` for tests/data/formats/).

Image sizes are powers of two and coordinates whole pixels, so that the normalised formats (YOLO,
Open Images) hold exact binary fractions and every format gives bit-identical boxes.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import struct
import sys
import zlib
from pathlib import Path

IMAGES = {"img1": (256, 128), "img2": (512, 256)}
CATEGORIES = ["cat", "dog", "bird"]
# image, category, x1, y1, x2, y2 (pixels, x2/y2 exclusive)
BOXES = [
    ("img1", "cat", 32, 16, 96, 80),
    ("img1", "dog", 0, 0, 256, 128),
    ("img1", "cat", 200, 100, 210, 104),
    ("img1", "bird", 5, 3, 77, 61),
    ("img2", "dog", 100, 50, 400, 250),
    ("img2", "cat", 17, 9, 33, 41),
]
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]


def png_header(width: int, height: int) -> bytes:
    """The smallest PNG whose header gives ``width x height`` (no pixel data: never decoded)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def write_csv(path: Path) -> Path:
    lines = ["image_id,category,x1,y1,x2,y2,image_width,image_height"]
    lines += [f"{i},{c},{x1},{y1},{x2},{y2},{IMAGES[i][0]},{IMAGES[i][1]}" for i, c, x1, y1, x2, y2 in BOXES]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_coco(path: Path) -> Path:
    ids = {name: k + 1 for k, name in enumerate(IMAGES)}
    path.write_text(json.dumps({
        "images": [{"id": ids[n], "file_name": f"{n}.jpg", "width": w, "height": h} for n, (w, h) in IMAGES.items()],
        "categories": [{"id": k + 1, "name": c} for k, c in enumerate(CATEGORIES)],
        "annotations": [{"id": k, "image_id": ids[i], "category_id": CATEGORIES.index(c) + 1,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": 0}
                        for k, (i, c, x1, y1, x2, y2) in enumerate(BOXES)]}))
    return path


def write_coco_results(path: Path, ground_truth: Path) -> Path:
    ids = {name: k + 1 for k, name in enumerate(IMAGES)}
    write_coco(ground_truth)
    path.write_text(json.dumps([{"image_id": ids[i], "category_id": CATEGORIES.index(c) + 1,
                                 "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s}
                                for (i, c, x1, y1, x2, y2), s in zip(BOXES, SCORES)]))
    return path


def write_detections(path: Path) -> Path:
    """A detector's output for the same images: each box found 3 px right, 2 px up and 10 % larger."""
    ids = {name: k + 1 for k, name in enumerate(IMAGES)}
    path.write_text(json.dumps([{"image_id": ids[i], "category_id": CATEGORIES.index(c) + 1,
                                 "bbox": [x1 + 3, y1 - 2, round((x2 - x1) * 1.1, 1), round((y2 - y1) * 1.1, 1)],
                                 "score": s} for (i, c, x1, y1, x2, y2), s in zip(BOXES, SCORES)]))
    return path


def write_voc(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for image, (w, h) in IMAGES.items():
        objects = "".join(
            f"<object><name>{c}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>{k % 2}</difficult>"
            f"<bndbox><xmin>{x1 + 1}</xmin><ymin>{y1 + 1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>\n"
            for k, (i, c, x1, y1, x2, y2) in enumerate(BOXES) if i == image)
        (folder / f"{image}.xml").write_text(
            f"<annotation>\n<folder>made-up</folder><filename>{image}.jpg</filename>\n"
            f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>\n{objects}</annotation>\n")
    return folder


def write_yolo(folder: Path, images: bool = True) -> Path:
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    (folder / "data.yaml").write_text("path: .\ntrain: images\nnames:\n" + "".join(f"  {k}: {c}\n" for k, c in enumerate(CATEGORIES)))
    for image, (w, h) in IMAGES.items():
        lines = [f"{CATEGORIES.index(c)} {(x1 + x2) / 2 / w!r} {(y1 + y2) / 2 / h!r} {(x2 - x1) / w!r} {(y2 - y1) / h!r}"
                 for i, c, x1, y1, x2, y2 in BOXES if i == image]
        (folder / "labels" / f"{image}.txt").write_text("\n".join(lines) + "\n")
        if images:
            (folder / "images" / f"{image}.png").write_bytes(png_header(w, h))
    return folder


def write_openimages(path: Path, sizes: Path) -> Path:
    lines = ["ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside"]
    for i, c, x1, y1, x2, y2 in BOXES:
        w, h = IMAGES[i]
        lines.append(f"{i},xclick,{c},1,{x1 / w!r},{x2 / w!r},{y1 / h!r},{y2 / h!r},0,0,0,0,0")
    path.write_text("\n".join(lines) + "\n")
    sizes.write_text("image_id,width,height\n" + "".join(f"{n},{w},{h}\n" for n, (w, h) in IMAGES.items()))
    return path


def records() -> list[dict]:
    return [{"image_id": i, "category": c, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
             "image_width": IMAGES[i][0], "image_height": IMAGES[i][1]} for i, c, x1, y1, x2, y2 in BOXES]


def write_jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records()))
    return path


def write_parquet(path: Path, row_group_size: int = 4) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records()), path, row_group_size=row_group_size)
    return path


def write_arrow(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.feather as feather

    feather.write_feather(pa.Table.from_pylist(records()), str(path))
    return path


def write_xywh_csv(path: Path) -> Path:
    """``xmin,ymin,width,height`` headers (box size), image size in image_width/image_height."""
    lines = ["# made-up boxes, x/y/width/height", "image_id,label,xmin,ymin,width,height,image_width,image_height"]
    lines += [f"{i},{c},{x1},{y1},{x2 - x1},{y2 - y1},{IMAGES[i][0]},{IMAGES[i][1]}" for i, c, x1, y1, x2, y2 in BOXES]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_bbox_csv(path: Path, encoding: str = "utf-8") -> Path:
    """Kaggle style: ``bbox = "[x, y, w, h]"`` with width/height = the image's size."""
    lines = ["image_id,category,width,height,bbox"]
    lines += [f'{i},{c},{IMAGES[i][0]},{IMAGES[i][1]},"[{x1}, {y1}, {x2 - x1}, {y2 - y1}]"' for i, c, x1, y1, x2, y2 in BOXES]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def compress(path: Path, suffix: str) -> Path:
    data = path.read_bytes()
    if suffix == ".zst":
        import zstandard

        packed = zstandard.ZstdCompressor().compress(data)
    else:
        packed = COMPRESSORS[suffix](data)
    out = path.with_name(path.name + suffix)
    out.write_bytes(packed)
    return out


def write_all(folder: Path) -> dict[str, Path]:
    """Every format in ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "csv": write_csv(folder / "boxes.csv"),
        "coco": write_coco(folder / "instances.json"),
        "voc": write_voc(folder / "voc"),
        "yolo": write_yolo(folder / "yolo"),
        "openimages": write_openimages(folder / "openimages-boxes.csv", folder / "openimages-sizes.csv"),
        "coco-results": write_coco_results(folder / "detections.json", folder / "instances.json"),
        "detections": write_detections(folder / "detections-shifted.json"),
        "jsonl": write_jsonl(folder / "boxes.jsonl"),
        "parquet": write_parquet(folder / "boxes.parquet"),
        "arrow": write_arrow(folder / "boxes.arrow"),
        "xywh": write_xywh_csv(folder / "boxes-xywh.csv"),
        "bbox": write_bbox_csv(folder / "boxes-bbox.csv"),
        "utf16": write_bbox_csv(folder / "boxes-utf16.csv", "utf-16"),
    }


if __name__ == "__main__":
    write_all(Path(sys.argv[1]))
