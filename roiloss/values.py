"""Plain values: numpy/pandas scalars to Python values, and numbers to short text."""

from __future__ import annotations

import math
import sys

import numpy as np


def plain(value):
    """A numpy/pandas scalar, list or dict as plain Python values; NaN, inf and NA become ``None``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or _is_na(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_na(value) -> bool:
    """``pandas.NA`` (no value can be it while pandas is not imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


def plain_record(series) -> dict:
    """One DataFrame row as a dict of plain values."""
    return {str(k): plain(v) for k, v in series.items()}


def number(value, digits: int = 3) -> str:
    """``-`` for missing, integers as written, other numbers with ``digits`` decimals."""
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def compact(value) -> str:
    """A number without trailing zeros (up to 4 decimals); anything else as text."""
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
