"""What an input is: many paths, globs and directories expanded to inputs, the bytes of a file
(decompressed, UTF-16 transcoded), and its format, detected by content and extension
(docs/semantics.md §6.1).

Detection, first match wins: a directory is ``voc`` when it (or its ``Annotations`` folder) holds
``.xml`` files, ``yolo`` when it holds ``.txt`` label files (or a ``labels`` folder); for a file, the
magic bytes of gzip/bzip2/xz/zstd (then the rest on the decompressed bytes and the name without the
suffix), ``PAR1`` (``parquet``), ``ARROW1`` or an Arrow stream (``arrow``); then the content: ``<``
(``voc``), ``[`` (``coco-results``), ``{`` (``jsonl`` when the first line is a whole object and the
extension is ``.jsonl``/``.ndjson`` or a second object line follows, else ``coco``), a header with
``ImageID, XMin, XMax, YMin, YMax`` (``openimages``), lines of 5 or 6 numbers (``yolo``), else ``csv``.
"""

from __future__ import annotations

import contextlib
import glob
import mmap
import os
from pathlib import Path

from .compressed import compression_of, decompress, strip_suffix
from .errors import InputError

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
BOX_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".pq", ".arrow", ".feather",
                ".ipc", ".xml")
GLOB_CHARS = "*?["


def expand(paths) -> list[str]:
    """Paths, globs (``dir/*.xml``, ``**`` recursive) and directories -> the inputs to read, in order.

    A VOC or YOLO directory is one input; any other directory stands for its box files (by
    extension, sorted). A glob that matches nothing or a path that does not exist is an error.
    """
    out: list[str] = []
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else list(paths):
        text = str(path)
        if text == "-" or os.path.exists(text):
            if os.path.isdir(text) and directory_format(Path(text)) is None:
                found = sorted(str(p) for p in Path(text).iterdir() if _is_box_file(p))
                if not found:
                    raise InputError(f"{text}: is a directory, not a file (and holds no box files: "
                                     f"{', '.join(BOX_SUFFIXES)}, VOC .xml or YOLO labels)")
                out.extend(found)
            else:
                out.append(text)
        elif any(c in text for c in GLOB_CHARS):
            found = sorted(glob.glob(text, recursive=True))
            if not found:
                raise InputError(f"{text}: no such file, and no file matches it as a pattern")
            out.extend(found)
        else:
            out.append(text)  # reading it names the problem (no such file)
    if not out:
        raise InputError("no input given")
    if out.count("-") > 1:
        raise InputError("-: standard input can be read only once")
    return out


def _is_box_file(path: Path) -> bool:
    return path.is_file() and strip_suffix(path.name).lower().endswith(BOX_SUFFIXES) and not path.name.startswith(".")


def directory_format(path: Path) -> str | None:
    """``voc`` or ``yolo`` for an annotation folder, else ``None``."""
    from .voc import voc_files
    from .yolo import YAML_FILES, label_files

    if voc_files(path):
        return "voc"
    if (path / "labels").is_dir() or any((path / y).is_file() for y in YAML_FILES):
        return "yolo"
    files = label_files(path)
    if files and all(p.suffix == ".txt" for p in files):
        head = _first_line(files[0])
        from .yolo import is_label_line

        if head is None or is_label_line(head):
            return "yolo"
    return None


def _first_line(path: Path) -> str | None:
    with open(path, "rb") as stream:
        for line in stream:
            if line.strip():
                return line.decode("utf-8", errors="replace")
    return None


@contextlib.contextmanager
def mapped_file(path: str, name: str):
    """The bytes of a regular file as a read-only memory map (no copy: the pages are the page
    cache's), or as bytes when the file cannot be mapped (empty, a pipe)."""
    try:
        stream = open(path, "rb")
    except OSError:
        yield read_file(path, name)  # raises the InputError naming the problem
        return
    with stream:
        try:
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            yield read_file(path, name)
            return
        with mapped:
            yield mapped


def read_file(path: str, name: str, size: int | None = None) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read() if size is None else stream.read(size)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def unwrap(data: bytes, name: str) -> tuple[bytes, str | None]:
    """Decompressed (by magic bytes) and UTF-16 transcoded to UTF-8 bytes; and the compression."""
    kind = compression_of(data)
    if kind:
        data = decompress(data, name, kind)
    return transcode(data, name), kind


def transcode(data: bytes, name: str) -> bytes:
    """UTF-16 text with a byte order mark (Excel's "Unicode text") -> UTF-8 bytes."""
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{name}: not UTF-16 text after its byte order mark (byte {error.start})") from None
    return data


def load_bytes(path) -> bytes:
    """A whole (small) side file — image sizes, ground truth — decompressed and as UTF-8."""
    name = str(path)
    return unwrap(read_file(name, name), name)[0]


def sniff(head: bytes, name: str = "") -> str:
    """The format of a file from its first bytes (decompressed) and its name (docs/semantics.md §6.1)."""
    from .openimages import is_open_images
    from .yolo import is_label_line

    lowered = strip_suffix(name).lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff") or lowered.endswith((".arrow", ".feather", ".ipc")):
        return "arrow"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"<":
        return "voc"
    if text[:1] == b"[":
        return "coco-results"
    if text[:1] == b"{":
        return "jsonl" if _json_lines(text, lowered) else "coco"
    first = text.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    if is_open_images(first):
        return "openimages"
    if is_label_line(first):
        return "yolo"
    return "csv"


def _json_lines(text: bytes, lowered: str) -> bool:
    import msgspec

    lines = [line for line in text.split(b"\n") if line.strip()]
    try:
        first = msgspec.json.decode(lines[0])
    except (msgspec.DecodeError, UnicodeDecodeError):
        return lowered.endswith((".jsonl", ".ndjson"))  # NaN in the first line, or cut at the head's end
    if not isinstance(first, dict) or "annotations" in first or "images" in first:
        return False
    return lowered.endswith((".jsonl", ".ndjson")) or (len(lines) > 1 and lines[1].lstrip()[:1] == b"{")
