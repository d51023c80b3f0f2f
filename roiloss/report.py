"""Human output: rich tables for the terminal (or a pipe, without colour)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from .stats import STAT_METRICS


def console(stream=None) -> Console:
    """A console on ``stream`` (stdout by default); wide and colourless when not a terminal."""
    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, width=None if tty else 200, no_color=bool(os.environ.get("NO_COLOR")) or not tty,
                   highlight=False, soft_wrap=not tty)


def _num(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.{digits}f}"


def summary_table(summary: pd.DataFrame, title: str = "Summary per method", by: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("method")
    if by:
        table.add_column(by, justify="right")
    for name in ["boxes", "lost>0", "sub-cell", "invalid"]:
        table.add_column(name, justify="right")
    for metric in STAT_METRICS:
        table.add_column(f"{metric}\nmean / median / p95", justify="right")
    for _, row in summary.iterrows():
        cells = [str(row["method"])]
        if by:
            cells.append(str(row[by]))
        cells += [str(row["boxes"]), _num(row["lost_any_share"], 3), str(row["sub_cell"]), str(row["invalid"])]
        digits = {"shift_px": 1}
        for metric in STAT_METRICS:
            d = digits.get(metric, 3)
            cells.append(" / ".join(_num(row[f"{metric}_{s}"], d) for s in ("mean", "median", "p95")))
        table.add_row(*cells)
    return table


ROW_COLUMNS = ["roi_id", "image_id", "category", "method", "lost_frac", "gained_frac", "outside_weight", "iou",
               "shift_px", "empty_bins", "flags"]


def rows_table(rows: pd.DataFrame, total: int) -> Table:
    shown = len(rows)
    title = f"Per-box rows ({shown} of {total}" + (", the rest not shown: use --format csv or --rows)" if total > shown else ")")
    table = Table(title=title, title_justify="left", header_style="bold")
    columns = [c for c in ROW_COLUMNS if c in rows.columns]
    if "level" in rows.columns:
        columns.insert(columns.index("method"), "level")
    for name in columns[:3]:
        table.add_column(name, justify="right" if name == "roi_id" else "left")
    table.add_column("box (x1, y1, x2, y2)", justify="right")
    for name in columns[3:]:
        table.add_column(name, justify="left" if name in ("method", "flags") else "right")
    for _, row in rows.iterrows():
        box = ", ".join(_num(row[c], 1) if not np.isnan(row[c]) else "?" for c in ("x1", "y1", "x2", "y2"))
        cells = [("-" if row[c] is None or (isinstance(row[c], float) and np.isnan(row[c])) else str(row[c])) for c in columns[:3]]
        cells.append(box)
        for name in columns[3:]:
            value = row[name]
            if name in ("method", "flags", "level"):
                cells.append(str(value) if value is not None else "")
            else:
                cells.append(_num(value, 1 if name == "shift_px" else 3))
        table.add_row(*cells)
    return table
