"""Compressed inputs: gzip, bzip2, xz and zstd, recognised by their magic bytes (never by the name).

A compressed file of any format is decompressed in memory and then read as that format, whose own
detection (docs/semantics.md §6.1) sees the decompressed bytes and the name without the compression
suffix. Several concatenated members or frames (``cat a.gz b.gz``) are read as one stream. A file that
ends before its end-of-stream marker, or whose data is corrupt, is an :class:`InputError` naming the
compressed byte where decoding stopped.

Example:
    >>> import gzip
    >>> compression_of(gzip.compress(b"x1,y1,x2,y2\\n"))
    'gzip'
    >>> decompress(gzip.compress(b"x1,y1,x2,y2\\n"), "boxes.csv.gz", "gzip")
    b'x1,y1,x2,y2\\n'
"""

from __future__ import annotations

import zlib

from .errors import InputError

MAGIC = {  # compression -> the bytes every file of it starts with
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}
SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zstd")
_BLOCK = 1 << 20


def compression_of(head: bytes) -> str | None:
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``None``, from the first bytes of a file."""
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def strip_suffix(name: str) -> str:
    """``boxes.csv.gz`` -> ``boxes.csv``: the name whose extension tells the inner format."""
    lowered = name.lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _decompressor(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if kind == "bzip2":
        import bz2

        return bz2.BZ2Decompressor()
    if kind == "xz":
        import lzma

        return lzma.LZMADecompressor()
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def _errors(kind: str) -> tuple[type[BaseException], ...]:
    import lzma

    errors: tuple[type[BaseException], ...] = (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError)
    if kind == "zstd":
        import zstandard

        errors += (zstandard.ZstdError,)
    return errors


def decompress(data: bytes, name: str, kind: str) -> bytes:
    """The decompressed bytes of ``data``; members/frames one after the other are all read."""
    out: list[bytes] = []
    offset = 0  # compressed bytes consumed by finished members
    while True:
        engine = _decompressor(kind)
        start = offset
        try:
            for at in range(start, len(data), _BLOCK):
                out.append(engine.decompress(data[at:at + _BLOCK]))
                if _finished(engine, kind):
                    break
        except _errors(kind) as error:
            raise InputError(f"{name}: corrupt {kind} data (stream starting at byte {start}): {error}") from None
        if not _finished(engine, kind):
            raise InputError(f"{name}: truncated {kind} file: the data ends at byte {len(data)} before the end of "
                             f"the compressed stream that starts at byte {start}")
        rest = _unused(engine, kind)
        offset = len(data) - len(rest)
        if not rest.strip(b"\x00"):  # tar-style zero padding after the last member is not data
            return b"".join(out)
        if compression_of(rest) != kind:
            raise InputError(f"{name}: byte {offset}: data after the end of the {kind} stream is not {kind}")


def _finished(engine, kind: str) -> bool:
    if kind == "zstd":
        return bool(getattr(engine, "eof", False)) or bool(_unused(engine, kind))
    return bool(engine.eof)


def _unused(engine, kind: str) -> bytes:
    return bytes(getattr(engine, "unused_data", b"") or b"")
