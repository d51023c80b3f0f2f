"""Allocator tuning for processes that analyse millions of boxes.

The engine works in chunks whose temporary arrays are a few MB each. glibc serves blocks that
large with ``mmap`` and returns them to the system on ``free``, so every temporary costs fresh
page faults: about a third of the engine's time on a one-shot run of a million boxes. Raising
glibc's mmap and trim thresholds lets freed blocks be reused instead. The command line does this
at start; a library user running large analyses can call :func:`tune_allocator` once.

numpy asks the kernel for transparent huge pages on every array of 4 MB or more; the engine's
temporaries are such arrays, made and freed thousands of times, and on the machines measured the
first write to each new huge-page block cost more than the huge pages saved (about 10 % of the
engine's time). numpy reads ``NUMPY_MADVISE_HUGEPAGE`` once, when it is imported: so the advice is
turned off only when :func:`tune_allocator` runs before numpy is imported (as the command line
does) and the variable is not set already.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_allocator(mmap_threshold: int = 64 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Raise glibc's mmap and trim thresholds (and, before numpy is imported, turn off its huge
    page advice); True when applied (glibc on Linux), else a no-op."""
    if not sys.platform.startswith("linux"):
        return False
    if "numpy" not in sys.modules:
        os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: glibc's, when it is glibc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
