"""The COCO reader's typed fast path builds exactly the table its general path builds.

``roiloss.coco`` decodes a clean file with a typed schema and builds the columns with numpy alone;
anything odd falls back to the general path. Each case below is a small file with one oddity; the
table must be the same whichever path reads it (the general one is forced by disabling the typed
columns), and the odd files must really leave the typed path.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from roiloss import coco

BASE = {
    "images": [{"id": 1, "width": 640, "height": 480}, {"id": 2, "width": 0, "height": 480},
               {"id": 1, "width": 320, "height": 240}],  # image 1 twice: the last entry wins
    "categories": [{"id": 1, "name": "cat"}, {"id": 2}, {"id": 1, "name": "dog"}],
    "annotations": [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 0},
        {"id": 11, "image_id": 2, "category_id": 2, "bbox": [1.5, 2, 3, 4], "iscrowd": 1},
        {"id": 12, "image_id": 3, "category_id": 3, "bbox": [1, 2, -3, 4]},
        {"id": 13, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 2},
    ],
}


def _variant(change):
    document = copy.deepcopy(BASE)
    change(document)
    return document


CASES = {
    "clean": lambda d: None,
    "null id": lambda d: d["annotations"][0].update(id=None),
    "missing id": lambda d: d["annotations"][1].pop("id"),
    "bbox of 3": lambda d: d["annotations"][1].update(bbox=[1, 2, 3]),
    "bbox with text": lambda d: d["annotations"][1].update(bbox=[1, 2, "3", 4]),
    "text image id": lambda d: d["annotations"][1].update(image_id="1"),
    "float ids": lambda d: (d["images"][0].update(id=1.0), d["annotations"][0].update(image_id=1.0)),
    "null category": lambda d: d["annotations"][0].update(category_id=None),
    "no category id": lambda d: d["annotations"][0].pop("category_id"),
    "no images": lambda d: d.update(images=[]),
    "no categories": lambda d: d.update(categories=[]),
    "no annotations": lambda d: d.update(annotations=[]),
    "null width": lambda d: d["images"][0].update(width=None),
    "no height": lambda d: d["images"][0].pop("height"),
    "true width": lambda d: d["images"][0].update(width=True),
    "true iscrowd": lambda d: d["annotations"][0].update(iscrowd=True),
    "id beyond int64": lambda d: d["annotations"][0].update(id=2**70),
    "image id beyond int64": lambda d: d["annotations"][0].update(image_id=2**63),
    "numeric name": lambda d: d["categories"][0].update(name=5),
    "null image id": lambda d: d["annotations"][0].update(image_id=None),
}
TYPED = {"clean", "null width", "no height", "no images", "no categories", "no annotations"}


def _read(document, monkeypatch=None):
    data = json.dumps(document).encode()
    if monkeypatch is not None:
        monkeypatch.setattr(coco, "_typed_columns", lambda _: None)
    table, notes = coco.read_coco(data, "instances.json")
    return table.to_pandas(), notes


@pytest.mark.parametrize("case", list(CASES))
def test_typed_and_general_paths_agree(case, monkeypatch):
    document = _variant(CASES[case])
    fast, fast_notes = _read(document)
    general, general_notes = _read(document, monkeypatch)
    assert fast_notes == general_notes
    assert list(fast.columns) == list(general.columns)
    for column in fast.columns:
        a, b = fast[column].to_numpy(dtype=object), general[column].to_numpy(dtype=object)
        assert [type(v) for v in a] == [type(v) for v in b] or column in ("x1", "y1", "x2", "y2"), column
        assert pd.Series(a).equals(pd.Series(b)), (column, a, b)


@pytest.mark.parametrize("case", list(CASES))
def test_odd_files_leave_the_typed_schema(case):
    decoded, schema = coco._decode(json.dumps(_variant(CASES[case])).encode(), "instances.json")
    typed = schema == "typed" and coco._typed_columns(decoded) is not None
    assert typed == (case in TYPED), schema


def test_clean_file_by_hand():
    table, notes = _read(BASE)
    assert notes == {"images": 3, "annotations": 4, "crowd": 1}
    assert table["roi_id"].tolist() == [10, 11, 12, 13]
    assert table["category"].tolist() == ["dog", 2, 3, "dog"]  # last entry of id 1; no name: the id
    assert table["image_width"].tolist()[0] == 320.0 and np.isnan(table["image_width"].iat[1])
    assert table["invalid"].tolist() == ["", "bad image size", "unknown-image", ""]
    assert table["x2"].tolist() == [4.0, 4.5, -2.0, 10.0]
    assert table["iscrowd"].tolist() == [0, 1, 0, 0]  # only 1 is crowd


def test_last_of_each():
    keys = np.array([5, 3, 5, 9])
    assert coco._last_of_each(keys, np.array([5, 3, 9, 4, 10, 0])).tolist() == [2, 1, 3, -1, -1, -1]
    assert coco._last_of_each(keys[:0], np.array([1])).tolist() == [-1]


def test_memory_mapped_file_with_byte_order_mark(tmp_path):
    from roiloss import read_boxes

    path = tmp_path / "instances.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    table = read_boxes(str(path))
    expected, _ = _read(BASE)
    assert table["roi_id"].tolist() == expected["roi_id"].tolist()
    assert table["x2"].tolist() == expected["x2"].tolist()
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode()[:-5])  # cut short: a clear error, the file closes
    with pytest.raises(Exception, match="instances.json: line 1"):
        read_boxes(str(path))


def test_last_of_each_beyond_the_dense_table():
    keys = np.array([coco.DENSE_KEYS + 7, -3, coco.DENSE_KEYS + 7, 2])
    wanted = np.array([coco.DENSE_KEYS + 7, -3, 2, 5, -1])
    assert coco._last_of_each(keys, wanted).tolist() == [2, 1, 3, -1, -1]
