"""roiloss.plain_csv: the fast CSV reader says None or gives exactly pandas' chunks.

Every case is read by both engines (Python's ``csv`` module and pyarrow, the latter also with tiny
blocks so that pyarrow's type inference from its first block and its block boundaries are crossed)
and compared with the pandas call of the contract, chunk by chunk: the same names in the same order,
per column the same dtype kind and the same values (floats bit for bit, NaN where NaN; object arrays
holding the same ``str``/``bool`` objects, NaN where missing).
"""

from __future__ import annotations

import io
import math
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roiloss import plain_csv
from roiloss.delimited import pandas_options
from roiloss.plain_csv import NA_VALUES, read_plain_csv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "example.csv"


@pytest.fixture(autouse=True)
def raise_defects(monkeypatch):
    """Here an unexpected error in the fast reader fails the test (in use it means: not plain)."""
    monkeypatch.setattr(plain_csv, "RAISE_DEFECTS", True)


# (engine, pyarrow block size): the Python engine, pyarrow as it runs, pyarrow with tiny blocks
ENGINES = [("python", None), ("arrow", None), ("arrow", 96)]
ENGINE_IDS = ["python", "arrow", "arrow-blocks"]


def pandas_chunks(data: bytes, delimiter: str, chunk_rows: int):
    """The contract's pandas call; None when pandas refuses the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = pd.read_csv(io.BytesIO(data), sep=delimiter, chunksize=chunk_rows, **pandas_options())
            return [{c: chunk[c].to_numpy() for c in chunk.columns} for chunk in reader]
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OverflowError):
            return None


def difference(got, expected) -> str | None:
    """Where ``got`` differs from ``expected`` by the contract, or None."""
    if len(got) != len(expected):
        return f"{len(got)} chunks, pandas {len(expected)}"
    for number, (ours, theirs) in enumerate(zip(got, expected)):
        if list(ours) != list(theirs):
            return f"chunk {number}: names {list(ours)}, pandas {list(theirs)}"
        for name in ours:
            a, b = ours[name], theirs[name]
            where = f"chunk {number} column {name!r}"
            if not isinstance(a, np.ndarray) or a.ndim != 1:
                return f"{where}: not a 1-D array"
            if a.dtype.kind != b.dtype.kind or a.shape != b.shape:
                return f"{where}: {a.dtype}{a.shape}, pandas {b.dtype}{b.shape}"
            if a.dtype.kind == "f":
                if a.dtype != np.float64 or not np.array_equal(np.isnan(a), np.isnan(b)):
                    return f"{where}: {a.tolist()}, pandas {b.tolist()}"
                known = ~np.isnan(a)
                if not np.array_equal(a[known].view(np.int64), b[known].view(np.int64)):
                    return f"{where}: {a.tolist()}, pandas {b.tolist()}"
            elif a.dtype.kind == "O":
                for x, y in zip(a.tolist(), b.tolist()):
                    if isinstance(y, float) and math.isnan(y):
                        if not (isinstance(x, float) and math.isnan(x)):
                            return f"{where}: {x!r}, pandas NaN"
                    elif type(x) is not type(y) or x != y:
                        return f"{where}: {x!r}, pandas {y!r}"
            elif a.dtype != b.dtype or not np.array_equal(a, b):
                return f"{where}: {a.dtype} {a.tolist()}, pandas {b.dtype} {b.tolist()}"
    return None


def check(data: bytes | str, delimiter: str = ",", chunk_rows: int = 3, engine=ENGINES[0]):
    """read_plain_csv under ``engine``: None, or pandas' chunks exactly (then returned)."""
    if isinstance(data, str):
        data = data.encode()
    name, block_size = engine
    got = read_plain_csv(data, "test.csv", delimiter, chunk_rows, engine=name, block_size=block_size)
    if got is None:
        return None
    expected = pandas_chunks(data, delimiter, chunk_rows)
    assert expected is not None, f"plain to {name}, pandas refuses it: {data!r}"
    problem = difference(got, expected)
    assert problem is None, f"{name}: {problem} in {data!r} (chunks of {chunk_rows})"
    return got


# --- the corpus: (id, text, delimiter, chunk_rows), plain ones must be read -------------------------

PLAIN = [
    ("ints", "a,b\n1,2\n3,4\n-5,0\n", ",", 3),
    ("floats", "a,b\n1e-7,1E5\n-0.0,0.30000000000000004\n2.5,.5\n5.,1.e5\n", ",", 10),
    ("floats 17 digits", "a,b\n0.1,0.30000000000000004\n1.7976931348623157e308,5e-324\n2.2250738585072014e-308,"
     "123456789.12345678\n", ",", 10),
    ("inf spellings", "a,b\ninf,-inf\nInfinity,-Infinity\n+inf,INF\n1.5,2\n", ",", 10),
    ("huge and tiny exponents", "a,b\n1e999,-1e999\n1e-400,2.5\n", ",", 10),
    ("leading zeros and plus", "a,b\n007,+5\n-0,+0\n0010,12\n", ",", 10),
    ("plus in floats", "a,b\n+5,1.5\n+.5,2\n", ",", 10),
    ("missing in every spelling", "a,b,c\n" + "".join(f"{i},{v},x{i}\n" for i, v in enumerate(sorted(NA_VALUES)))
     + "1,2,3\n", ",", 4),  # not first on a line: "#N/A" there is a comment
    ("missing quoted", 'a,b\n"",1\n"NA",2\n"3",3\n', ",", 10),
    ("ints with missing", "a,b\n1,2\n,4\n5,NA\n", ",", 10),
    ("negative zeros", "a,b\n-0,1\n,2\n-0.0,3\n-0,4\n", ",", 2),  # -0 and a missing one: 0.0 to pandas
    ("all missing", "a,b\n,1\nNA,2\n", ",", 10),
    ("text ids", "id,x\nimg_001,1\nimg_002,2\n003,3\n", ",", 10),
    ("mixed numeric and text", "a,b\n1,x\n2.5,y\nabc,z\n007,w\n1e5,v\n", ",", 10),
    ("numbers kept as text", "a,b\nx,1\n1.50,2\n+5,3\n1e5,4\n-0.0,5\n", ",", 10),
    ("nan spellings pandas keeps", "a,b\n1.5,NAN\n2,+nan\nnAn,x\n", ",", 10),
    ("quoted delimiters and newlines", 'a,b\n"x,y",1\n"line\nbreak",2\n"say ""hi""",3\n', ",", 10),
    ("quoted header and values", '"x1","y1","x2","y2","image_id","category","image_width","image_height"\n'
     '11.16,367.61,32.74,398.98,771999,"dog",480,768\n195.86,401.8,233.81,426.29,260721,"book",500,480\n', ",", 1),
    ("quoted numbers", 'a,b\n"1","2.5"\n"3","4"\n', ",", 10),
    ("crlf", "a,b\r\n1,x\r\n2,y\r\n", ",", 10),
    ("crlf quoted newline", 'a,b\r\n"x\r\ny",1\r\n2,2\r\n', ",", 10),
    ("bom", "\ufeffa,b\n1,2\n", ",", 10),
    ("bom quoted header", '\ufeff"a","b"\n1,2\n', ",", 10),
    ("unicode", "name,n\nÉlodie,1\n東京,2\n😀,3\n", ",", 10),
    ("blank lines", "a,b\n1,2\n\n\n3,4\n\n", ",", 10),
    ("blank lines across chunks", "a,b\n1,2\n\n3,x\n\n4,5\n6,7\n", ",", 2),
    ("row of empty fields", "a,b\n1,2\n,\n3,4\n", ",", 10),
    ("tabs", "a\tb\n1\tx\n2\ty\n", "\t", 10),
    ("semicolons", "a;b\n1,5;x\n2;y\n", ";", 10),
    ("semicolons with commas in text", "a;b\nx,y;1\nz;2\n", ";", 10),
    ("no final newline", "a,b\n1,2\n3,4", ",", 10),
    ("no final newline quoted", 'a,b\n1,2\n3,"x"', ",", 10),
    ("bool", "a,b\nTrue,1\nfalse,2\ntRuE,3\nFALSE,4\n", ",", 10),
    ("bool with missing", "a,b\nTrue,1\n,2\nFalse,3\n", ",", 10),
    ("bool and numbers", "a,b\nTrue,1\n1,2\n", ",", 10),
    ("bool and text", "a,b\nTrue,1\nyes,2\n", ",", 10),
    ("dates", "d,t,n\n2020-01-01,12:00:00,1\n2021-12-31,23:59:59,2\n", ",", 10),
    ("timestamps", "d,n\n2020-01-01T00:00:00,1\n2020-01-01 10:00:00Z,2\n", ",", 10),
    ("int64 bounds", "a,b\n9223372036854775807,-9223372036854775808\n1,2\n", ",", 10),
    ("hex", "a,b\n0x10,1\n0X1f,2\n", ",", 10),
    ("chunk types differ", "a,b\n1,1\n2,2\nx,3.5\n4,\n5,6\n", ",", 2),
    ("chunk types differ thirds", "a,b,c\n1,1.5,True\n2,2,False\n3,x,\n4,,True\n5,6,x\n6,7,False\n", ",", 3),
    ("one row per chunk", "a,b\n1,x\n2.5,\nNA,z\ntrue,1\n", ",", 1),
    ("mid-field quote", 'a,b\nx"y,1\n', ",", 10),
    ("spaces inside text", "a,b\ntraffic light,1\nstop sign,2\n", ",", 10),
    ("header named NA", "NA,b\n1,2\n", ",", 10),
    ("header of NA spellings", "nan,None,NA\n1,2,3\n", ",", 10),
    ("blank lines above the header", "\n\na,b\n1,2\n", ",", 10),
    ("numeric header", "1,2\n3,4\n", ",", 10),
    ("example shape", EXAMPLE.read_text(), ",", 3),
]

NOT_PLAIN = [
    ("comment line", "a,b\n# a comment\n1,2\n", ","),
    ("indented comment", "a,b\n1,2\n  \t# note\n3,4\n", ","),
    ("comment above header", "# boxes\na,b\n1,2\n", ","),
    ("comment after bom", "\ufeff# boxes\na,b\n1,2\n", ","),
    ("comment in quoted value", 'a,b\n"x\n# y",1\n', ","),
    ("long row", "a,b\n1,2\n3,4,5\n", ","),
    ("short row", "a,b\n1,2\n3\n", ","),
    ("trailing delimiter", "a,b\n1,2,\n3,4,\n", ","),
    ("trailing delimiter in header", "a,b,\n1,2,\n", ","),
    ("space after delimiter", "a,b\n1, x\n2,y\n", ","),
    ("space after delimiter in numbers", "a,b\n1, 2\n3,4\n", ","),
    ("space in header", "a, b\n1,2\n", ","),
    ("trailing space", "a,b\nx ,1\n", ","),
    ("quoted padded value", 'a,b\n" x",1\n', ","),
    ("quoted newline before number", 'a,b\n"\n5",1\n', ","),
    ("whitespace only field", 'a,b\n" ",1\n', ","),
    ("invalid utf-8", b"a,b\nx\xff,1\n", ","),
    ("invalid utf-8 header", b"a\xff,b\nx,1\n", ","),
    ("empty file", "", ","),
    ("blank file", "\n\n", ","),
    ("header only", "a,b\n", ","),
    ("duplicate names", "a,a\n1,2\n", ","),
    ("empty name", "a,,c\n1,2,3\n", ","),
    ("one column", "a\n1\n2\n", ","),
    ("uint64", "a,b\n9223372036854775808,1\n2,2\n", ","),
    ("beyond uint64", "a,b\n99999999999999999999999,1\n2,2\n", ","),
    ("below int64", "a,b\n-9223372036854775809,1\n2,2\n", ","),
    ("big integer with missing", "a,b\n9223372036854775808,1\n,2\n", ","),
    ("big integer in text", "a,b\n99999999999999999999,1\nx,2\n,3\n", ","),
    ("unterminated quote", 'a,b\n1,"2\n', ","),
    ("unterminated quote no newline", 'a,b\n1,"2', ","),
    ("nul byte", "a,b\n1\x002,3\n", ","),
    ("double bom", "\ufeff\ufeffa,b\n1,2\n", ","),
    ("lone carriage returns", "a,b\r1,2\r3,4\r", ","),
    ("lone carriage return where pandas loses a row", "a,b\n\r,", ","),
    ("carriage return in a quoted value", 'a,b\n"x\ry",1\n', ","),
]


@pytest.mark.parametrize("engine", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("text,delimiter,chunk_rows", [case[1:] for case in PLAIN], ids=[case[0] for case in PLAIN])
def test_plain_files_are_read_exactly(text, delimiter, chunk_rows, engine):
    for rows in sorted({chunk_rows, 1, 2, 1000}):
        got = check(text, delimiter, rows, engine)
        if engine[1] is None:  # tiny blocks may be refused: rows longer than a block
            assert got is not None, f"{engine[0]} refused a plain file: {text!r}"


# files either answer is right for: one engine may prove them plain, another not
EITHER = [
    ("quoted padded numbers", 'a,b\n" 5",1\n"6\t",2\n', ","),
    ("quoted padded text", 'a,b\n" x",1\n"y ",2\n', ","),
    ("escaped quotes", 'a,b\n"say ""hi""",1\n"""",2\n', ","),
    ("quote inside a field", 'a,b\nx"y,1\n"ab"c,2\n', ","),
    ("text after a closing quote", 'a,b\n"ab"c,1\n', ","),
    ("a row of spaces", "a,b\n1,2\n   \n3,4\n", ","),
    ("vertical tab", "a,b\n5\x0b,1\n", ","),
    ("non-breaking space", "a,b\n\u00a05,1\nx\u00a0,2\n", ","),
    ("tab inside a tab file's quoted field", 'a\tb\n"x\ty"\t1\n', "\t"),
]


@pytest.mark.parametrize("engine", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("text,delimiter", [case[1:] for case in EITHER], ids=[case[0] for case in EITHER])
def test_files_either_answer_is_right_for(text, delimiter, engine):
    for rows in (1, 2, 10):
        check(text, delimiter, rows, engine)


@pytest.mark.parametrize("engine", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("text,delimiter", [case[1:] for case in NOT_PLAIN], ids=[case[0] for case in NOT_PLAIN])
def test_files_that_are_not_plain_go_to_pandas(text, delimiter, engine):
    data = text.encode() if isinstance(text, str) else text
    name, block_size = engine
    assert read_plain_csv(data, "x.csv", delimiter, 2, engine=name, block_size=block_size) is None


def test_the_corpus_covers_both_answers():
    """Every plain case has pandas agreeing it is a table, and the not-plain ones differ."""
    assert not {case[0] for case in PLAIN} & {case[0] for case in NOT_PLAIN}
    for case in PLAIN:
        data = case[1].encode()
        assert pandas_chunks(data, case[2], case[3]) is not None, case[0]


# --- files on disk, sizes, engines ----------------------------------------------------------------


def box_csv(rows: int, seed: int = 1) -> bytes:
    """A file shaped like benchmarks/data/full/boxes-1000000.csv: quoted header, quoted categories."""
    rng = np.random.default_rng(seed)
    x = (rng.uniform(0, 400, rows)).round(2)
    y = (rng.uniform(0, 300, rows)).round(2)
    w = (rng.lognormal(3.8, 1.1, rows)).round(2)
    h = (rng.lognormal(3.8, 1.1, rows)).round(2)
    names = np.array(["person", "car", "chair", "book", "bottle", "cup", "dog", "bird"])[rng.integers(0, 8, rows)]
    ids = rng.integers(0, 10**6, rows)
    widths = rng.choice([640, 480, 500, 1024], rows)
    heights = rng.choice([480, 640, 375, 768], rows)
    lines = ['"x1","y1","x2","y2","image_id","category","image_width","image_height"']
    lines += [f'{a!r},{b!r},{round(a + c, 2)!r},{round(b + d, 2)!r},{i},"{n}",{ww},{hh}'
              for a, b, c, d, i, n, ww, hh in zip(x.tolist(), y.tolist(), w.tolist(), h.tolist(), ids.tolist(),
                                                  names.tolist(), widths.tolist(), heights.tolist())]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("engine", ["python", "arrow", None])
def test_a_box_file_read_from_its_path(tmp_path, engine):
    data = box_csv(5000)
    path = tmp_path / "boxes.csv"
    path.write_bytes(data)
    got = read_plain_csv(str(path), "boxes.csv", ",", 1024, engine=engine)
    assert got is not None
    assert difference(got, pandas_chunks(data, ",", 1024)) is None
    assert [c.dtype.kind for c in got[0].values()] == ["f", "f", "f", "f", "i", "O", "i", "i"]
    assert sum(len(chunk["x1"]) for chunk in got) == 5000


def test_a_big_box_file_goes_to_pyarrow_in_many_blocks():
    data = box_csv(60_000, seed=7)
    assert len(data) > plain_csv.SMALL_BYTES
    got = check(data, ",", 16384, (None, None))
    assert got is not None and len(got) == 4
    assert check(data, ",", 16384, ("arrow", 1 << 16)) is not None


def test_a_big_file_of_every_kind_with_pyarrows_own_blocks():
    """120 000 rows in pyarrow's default blocks: per column, chunks that pandas types differently."""
    rng = np.random.default_rng(3)
    n = 120_000
    ints_then_floats = [str(v) for v in rng.integers(0, 500, n // 2)] + [f"{v:.2f}" for v in rng.uniform(0, 9, n // 2)]
    floats_with_an_integer_chunk = [f"{v:.3f}" for v in rng.uniform(0, 9, n)]
    floats_with_an_integer_chunk[40_000:50_000] = [str(v) for v in rng.integers(0, 9, 10_000)]
    sparse = ["" if k % 97 else str(k) for k in range(n)]
    text_later = [str(k) for k in range(n)]
    text_later[100_000] = "img_1"
    names = rng.choice(["traffic light", "person", "NA", "dog"], n).tolist()
    lines = ["a,b,c,d,e"] + [",".join(row) for row in zip(ints_then_floats, floats_with_an_integer_chunk, sparse,
                                                          text_later, names)]
    data = ("\n".join(lines) + "\n").encode()
    got = check(data, ",", 10_000, ("arrow", None))
    assert got is not None
    assert [c["a"].dtype.kind for c in got] == ["i"] * 6 + ["f"] * 6
    assert [c["b"].dtype.kind for c in got] == ["f"] * 4 + ["i"] + ["f"] * 7
    assert [c["d"].dtype.kind for c in got] == ["i"] * 10 + ["O"] + ["i"]
    assert got[0]["e"].dtype == object


def test_a_later_block_that_refutes_the_first_blocks_type():
    """pyarrow infers from its first block: a text value further down makes the column strings."""
    rows = [f"{i},{i * 0.5}" for i in range(3000)] + ["x,1.5", "7,y"] + [f"{i},{i}" for i in range(3000)]
    data = ("a,b\n" + "\n".join(rows) + "\n").encode()
    got = check(data, ",", 1000, ("arrow", 1 << 12))
    assert got is not None
    assert [chunk["a"].dtype.kind for chunk in got] == ["i", "i", "i", "O", "i", "i", "i"]
    assert [chunk["b"].dtype.kind for chunk in got] == ["f", "f", "f", "O", "i", "i", "i"]


def test_a_column_missing_in_the_first_block_and_numbers_later():
    rows = [f"{i}," for i in range(3000)] + [f"{i},{i % 7}" for i in range(3000)] + [f"{i},{i}.5" for i in range(2000)]
    data = ("a,b\n" + "\n".join(rows) + "\n").encode()
    got = check(data, ",", 1000, ("arrow", 1 << 12))
    assert got is not None
    assert [chunk["b"].dtype.kind for chunk in got] == ["f"] * 3 + ["i"] * 3 + ["f"] * 2


def test_integers_in_the_first_block_and_floats_later():
    rows = [f"{i},{i}" for i in range(5000)] + [f"{i},{i}.25" for i in range(3000)] + ["1,-0", "2,"]
    data = ("a,b\n" + "\n".join(rows) + "\n").encode()
    got = check(data, ",", 1000, ("arrow", 1 << 12))
    assert got is not None
    assert [chunk["b"].dtype.kind for chunk in got] == ["i"] * 5 + ["f"] * 4


def test_float_columns_whose_chunks_are_all_integers():
    """pyarrow types 2 and 2.5 as floats; pandas makes a chunk of 2, 3 (written so) int64."""
    data = "a,b\n1.5,x\n2,y\n3,z\n4.0,w\n".encode()
    got = check(data, ",", 1, ("arrow", None))
    assert [chunk["a"].dtype.kind for chunk in got] == ["f", "i", "i", "f"]


def test_quoted_newlines_across_pyarrow_blocks():
    rows = [f'{i},"line {i}\nnext {i}",{i}.5' for i in range(400)]
    data = ("a,b,c\n" + "\n".join(rows) + "\n").encode()
    for block_size in (None, 256, 1000):
        assert check(data, ",", 64, ("arrow", block_size)) is not None


def test_files_over_the_limit_go_to_pandas(tmp_path, monkeypatch):
    data = box_csv(100)
    path = tmp_path / "boxes.csv"
    path.write_bytes(data)
    monkeypatch.setattr(plain_csv, "MAX_BYTES", len(data) - 1)
    assert read_plain_csv(str(path), "boxes.csv", ",", 10) is None
    assert read_plain_csv(data, "boxes.csv", ",", 10) is None
    monkeypatch.setattr(plain_csv, "MAX_BYTES", len(data))
    assert read_plain_csv(str(path), "boxes.csv", ",", 10) is not None


def test_unreadable_paths_and_bad_arguments_go_to_pandas(tmp_path):
    assert read_plain_csv(str(tmp_path / "missing.csv"), "missing.csv", ",", 10) is None
    assert read_plain_csv(str(tmp_path), "a folder", ",", 10) is None
    assert read_plain_csv(b"a,b\n1,2\n", "x.csv", ",", 0) is None
    assert read_plain_csv(b"a|b\n1|2\n", "x.csv", "|", 10) is None
    with pytest.raises(ValueError):
        read_plain_csv(b"a,b\n1,2\n", "x.csv", ",", 10, engine="polars")


@pytest.mark.parametrize("engine", ["python", "arrow"])
def test_a_defect_of_the_fast_reader_means_not_plain_in_use(monkeypatch, engine):
    def broken(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(plain_csv, "_kind", broken)
    data = b"a,b\n1,x\n2a1,y\n"  # "1" and "2a1" may be numbers: each engine types them
    with pytest.raises(RuntimeError):
        read_plain_csv(data, "x.csv", ",", 10, engine=engine)
    monkeypatch.setattr(plain_csv, "RAISE_DEFECTS", False)
    assert read_plain_csv(data, "x.csv", ",", 10, engine=engine) is None


def test_the_arrays_are_writable_and_independent():
    got = read_plain_csv(box_csv(300), "boxes.csv", ",", 100, engine="arrow")
    for chunk in got:
        for array in chunk.values():
            assert array.flags.writeable
    got[0]["x1"][:] = -1
    assert (got[1]["x1"] != -1).all()


def test_neither_pandas_nor_pyarrow_compute_is_imported(tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(EXAMPLE.read_bytes())
    big.write_bytes(box_csv(3000))
    code = (
        "import sys\n"
        "from roiloss.plain_csv import read_plain_csv\n"
        f"assert read_plain_csv({str(small)!r}, 's', ',', 65536) is not None\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported for a small file'\n"
        f"assert read_plain_csv({str(big)!r}, 'b', ',', 65536, engine='arrow') is not None\n"
        "assert 'pyarrow' in sys.modules\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'pandas' or m == 'pyarrow.compute')\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


CTRL_C_CHILD = """
import signal, sys
sys.path.insert(0, {tests!r})
from test_plain_csv import box_csv
from roiloss.plain_csv import read_plain_csv
data = box_csv({rows})
print("reading", flush=True)
try:
    while True:
        assert read_plain_csv(data, "boxes.csv", ",", 1000, engine={engine!r}) is not None
except KeyboardInterrupt:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent signals until the child is gone
    sys.exit(130)
"""


@pytest.mark.parametrize("engine", ["python", "arrow"])
def test_ctrl_c_propagates(engine):
    """A SIGINT during the read is a KeyboardInterrupt, never a None (the child's assert would fail).
    In a child process, signalled until it stops: a SIGINT that lands in a finalizer is lost
    (Python cannot raise there), the next one is not."""
    code = CTRL_C_CHILD.format(tests=str(ROOT / "tests"), rows=20_000 if engine == "arrow" else 3000, engine=engine)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout.readline().strip() == "reading"
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        child.send_signal(signal.SIGINT)
    _, errors = child.communicate(timeout=60)
    assert child.returncode == 130, errors


# --- properties -------------------------------------------------------------------------------------

TEXT_CHARS = st.sampled_from(list("abcxyzAEIN019.-+é東 _/#\"',;\t\n\r"))
SPECIAL = ["inf", "-inf", "Infinity", "+inf", "1e5", "1E-7", "-0.0", "-0", "+5", "007", ".5", "5.", "0x1A", "NAN",
           "+nan", "True", "false", "TRUE", "2020-01-01", "12:00", "1e999", "0.30000000000000004",
           "9223372036854775807", "9223372036854775808", "-9223372036854775808", " 5", "5 ", "x ", " "]


def cell_strategy(kind: str):
    if kind == "int":
        return st.integers(-10**6, 10**6).map(str)
    if kind == "bigint":
        return st.integers(-2**64, 2**64).map(str)
    if kind == "float":
        return st.floats(allow_nan=False, width=64).map(repr) | st.floats(-1e3, 1e3).map(lambda v: f"{v:.3f}")
    if kind == "na":
        return st.sampled_from(sorted(NA_VALUES))
    if kind == "bool":
        return st.sampled_from(["True", "False", "true", "FALSE", "tRuE"])
    if kind == "special":
        return st.sampled_from(SPECIAL)
    return st.text(TEXT_CHARS, min_size=1, max_size=6)


KINDS = ["int", "bigint", "float", "na", "bool", "special", "text"]


@st.composite
def tables(draw):
    """A random table written as CSV: columns of a few kinds mixed, fields quoted at random (always
    when they hold the delimiter, a quote or a line break), random line ends."""
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    width = draw(st.integers(2, 4))
    height = draw(st.integers(1, 9))
    names = draw(st.lists(st.text("abcxy_1", min_size=1, max_size=3), min_size=width, max_size=width, unique=True))
    columns = []
    for _ in range(width):
        kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))
        columns.append(draw(st.lists(st.one_of(*[cell_strategy(k) for k in kinds]), min_size=height,
                                     max_size=height)))
    newline = draw(st.sampled_from(["\n", "\r\n"]))

    def field(value: str) -> str:
        must = any(c in value for c in (delimiter, '"', "\n", "\r")) or value.lstrip(" \t").startswith("#")
        if must or draw(st.booleans()):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(field(n) for n in names)]
    for row in zip(*columns):
        lines.append(delimiter.join(field(v) for v in row))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + text).encode(), delimiter, draw(st.integers(1, 5))


@pytest.mark.parametrize("engine", ENGINES, ids=ENGINE_IDS)
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_random_tables_are_none_or_pandas(table, engine):
    data, delimiter, chunk_rows = table
    check(data, delimiter, chunk_rows, engine)


RAW_TOKENS = st.sampled_from(["1", "22", "-3", "4.5", "e", "a", "NA", "True", "x", "é", ",", ";", "\t", " ", "\n",
                              "\r", '"', '"', '""', "#", "0x1", "inf", "nan", "+", "."])


@st.composite
def raw_files(draw):
    """Text of random tokens (stray quotes, spaces, comments, carriage returns), mostly in lines with
    as many delimiters as the header has."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(2, 3))
    header = delimiter.join(draw(st.sampled_from(["a", "b", '"c"', "d e", "f"])) + str(i) for i in range(width))
    lines = [header]
    for _ in range(draw(st.integers(0, 6))):
        cells = draw(st.integers(width - 1, width + 1) if draw(st.integers(0, 5)) == 0 else st.just(width))
        lines.append(delimiter.join(draw(st.lists(RAW_TOKENS, max_size=3).map("".join)) for _ in range(cells)))
    ends = st.sampled_from(["\n", "\n", "\r\n", "\r", ""])
    text = "".join(line + draw(ends) for line in lines)
    return text.encode(), delimiter, draw(st.integers(1, 4))


@pytest.mark.parametrize("engine", ENGINES, ids=ENGINE_IDS)
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=raw_files())
def test_random_bytes_are_none_or_pandas(raw, engine):
    """Whatever the text, None or pandas' chunks."""
    data, delimiter, chunk_rows = raw
    check(data, delimiter, chunk_rows, engine)
