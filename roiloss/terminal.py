"""Every rich table roiloss prints, laid out for a real terminal (80 columns and up).

User strings (ids, categories, paths, reasons) are escaped before they reach rich, so ``[/]`` in
a category is text, not markup. Nothing here is machine output: that is :mod:`roiloss.writers`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import numpy as np
from rich import box as boxes
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .stats import STAT_METRICS
from .values import compact, number

if TYPE_CHECKING:
    import pandas as pd

WIDE = 120  # from this width on, per-box rows show image, category and box too
# rich's SIMPLE_HEAD with an ASCII rule: every character one byte and one column, in any terminal,
# pipe or log that counts bytes
ASCII_HEAD = boxes.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``roiloss ... | head``): not an error (rich would exit 1)."""
        self.quiet = True
        raise BrokenPipeError

    def print(self, *objects, **options) -> None:
        """As rich prints; a table without colour that fits is laid out by :func:`plain_table_lines`
        (the same text, a tenth of the time: most of a small run's printing)."""
        if len(objects) == 1 and not options and isinstance(objects[0], Table) and self.color_system is None \
                and not self.record and not self.quiet and not getattr(self, "_live_stack", None) \
                and not getattr(self, "_buffer_index", 0):
            lines = plain_table_lines(objects[0], self.width)
            if lines is not None:
                try:
                    self.file.write("".join(line + "\n" for line in lines))
                    self.file.flush()
                except BrokenPipeError:
                    self.on_broken_pipe()
                return
        super().print(*objects, **options)


def plain_table_lines(table: Table, width: int) -> list[str] | None:
    """The lines rich renders for ``table`` on a console ``width`` columns wide without colour, for
    the tables :func:`new_table` makes whose cells are plain text and that fit; ``None`` for any
    other table (rich lays those out).

    Layout (rich's, for this style): the title left-justified on the table's width; a top edge, the
    header, the ASCII rule and a bottom edge; every line starts and ends with the box's edge (a
    space) and puts one space between columns, a row that ends a section is followed by a blank
    line (not the last row); a column is as wide as its widest cell plus one space
    of padding on its right (none on the last column), and each cell is justified in it."""
    columns = table.columns
    if (not columns or table.box is not ASCII_HEAD or not table.show_header or not table.show_edge
            or table.show_lines or table.show_footer or table.caption or table.leading or table.expand
            or table.width is not None or table.min_width is not None or tuple(table.padding) != (0, 1, 0, 1)
            or table.pad_edge or not table.collapse_padding or table.title_justify != "left"):
        return None
    texts = []
    for column in columns:
        if column.justify not in ("left", "right", "default") or column.width is not None \
                or column.min_width is not None or column.max_width is not None or column.ratio is not None:
            return None
        cells = [column.header, *column._cells]
        if not all(type(cell) is str and _plain(cell) for cell in cells):
            return None
        texts.append(cells)
    title = table.title or ""
    if type(title) is not str or not _plain(title):
        return None
    from rich.cells import cell_len

    last = len(columns) - 1
    lengths = [[cell_len(cell) for cell in cells] for cells in texts]
    widths = [max(max(lens) + (i < last), 1) for i, lens in enumerate(lengths)]  # padding: one on the right
    table_width = sum(widths) + 2 + last
    if table_width > width or cell_len(title) > table_width:
        return None
    lines = [title + " " * (table_width - cell_len(title))] if title else []
    lines.append(" " * table_width)  # the top edge
    for r in range(len(texts[0])):
        parts = []
        for i, column in enumerate(columns):
            text, room = texts[i][r], widths[i] - (i < last)
            gap = " " * (room - lengths[i][r])
            parts.append((gap + text if column.justify == "right" else text + gap) + " " * (i < last))
        lines.append(" " + " ".join(parts) + " ")
        if r == 0:  # the rule under the header
            lines.append(" " + "-" * (table_width - 2) + " ")
        elif r < len(table.rows) and table.rows[r - 1].end_section:  # a blank line ends a section
            lines.append(" " * table_width)
    lines.append(" " * table_width)  # the bottom edge
    return lines


def _plain(text: str) -> bool:
    """Text that rich renders as itself: no markup or escapes, one line, printable, not padded."""
    return "[" not in text and "\\" not in text and text.isprintable() and text == text.strip()


def console(stream=None, stderr: bool = False, soft_wrap: bool = False, width: int | None = None) -> Console:
    """A console on ``stream`` (stdout by default): colour only on a terminal and without
    ``NO_COLOR``; the width of the terminal, else ``COLUMNS``, else 80. ``soft_wrap``: text is
    not wrapped at the width (one-line messages stay one line)."""
    stream = stream or (sys.stderr if stderr else sys.stdout)
    tty = hasattr(stream, "isatty") and stream.isatty()
    columns = os.environ.get("COLUMNS", "")
    if width is None:
        width = int(columns) if columns.isdigit() and int(columns) > 0 else (None if tty else 80)
    return _Console(file=stream, width=width,
                    no_color=bool(os.environ.get("NO_COLOR")) or not tty, highlight=False, soft_wrap=soft_wrap,
                    emoji=False)  # ":x:" in a category or file name stays as written


def new_table(title: str | None = None, **options) -> Table:
    """A table in roiloss's terminal style: ASCII rule under the header, no outer padding; the
    title is escaped. ``options`` go to :class:`rich.table.Table`."""
    style = dict(title_justify="left", header_style="bold", box=ASCII_HEAD, pad_edge=False, collapse_padding=True)
    return Table(title=escape(title) if title else None, **{**style, **options})


def _text(value) -> str:
    return escape(compact(value))


def _records(rows) -> list[dict]:
    """Rows as dicts: a list of dicts as is, a DataFrame's rows."""
    return rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)


def counts_table(summary, by: str | None = None, title: str = "Boxes per method") -> Table:
    """Per method (and group): boxes, share losing anything, sub-cell and invalid counts."""
    table = new_table(title)
    table.add_column("method", no_wrap=True)
    if by:
        table.add_column(by, justify="right", no_wrap=True)
    for name in ("boxes", "lost>0", "sub-cell", "invalid"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in _records(summary):
        cells = [escape(str(row["method"]))] + ([_text(row[by])] if by else [])
        cells += [str(row["boxes"]), number(row["lost_any_share"]), str(row["sub_cell"]), str(row["invalid"])]
        table.add_row(*cells)
    return table


def summary_table(summary, by: str | None = None, title: str = "Metrics per method") -> Table:
    """One row per method (and group) and metric: mean, median, p95, max. Fits 80 columns."""
    table = new_table(title)
    table.add_column("method", no_wrap=True)
    if by:
        table.add_column(by, justify="right", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    for name in ("mean", "median", "p95", "max"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in _records(summary):
        for i, metric in enumerate(STAT_METRICS):
            digits = 1 if metric == "shift_px" else 3
            head = [escape(str(row["method"])) if i == 0 else ""] + ([_text(row[by]) if i == 0 else ""] if by else [])
            table.add_row(*head, metric, *(number(row[f"{metric}_{s}"], digits) for s in ("mean", "median", "p95", "max")),
                          end_section=i == len(STAT_METRICS) - 1)
    return table


def level_table(summary, title: str = "Per pyramid level (means)") -> Table:
    """Per method and level: boxes, share losing anything and the mean of each metric. Fits 80 columns."""
    table = new_table(title)
    for name in ("method", "level", "boxes", "lost>0", "lost", "gained", "outside", "shift"):
        table.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for row in _records(summary):
        table.add_row(escape(str(row["method"])), _text(row["level"]), str(row["boxes"]), number(row["lost_any_share"]),
                      number(row["lost_frac_mean"]), number(row["gained_frac_mean"]),
                      number(row["outside_weight_mean"]), number(row["shift_px_mean"], 1))
    return table


ROW_COLUMNS = [("roi_id", "roi_id"), ("level", "level"), ("method", "method"), ("lost_frac", "lost"),
               ("gained_frac", "gained"), ("outside_weight", "outside"), ("iou", "iou"), ("shift_px", "shift"),
               ("flags", "flags")]
WIDE_COLUMNS = [("image_id", "image"), ("category", "category"), ("box", "box (x1, y1, x2, y2)"),
                ("empty_bins", "empty")]


def rows_table(rows, total: int, width: int = 80, wide: bool = False) -> Table:
    """The first per-box rows (dicts, or a DataFrame); at ``width`` >= 120 (or ``wide``) with
    image, category, box and empty bins."""
    rows = _records(rows)
    names = set(rows[0]) if rows else set()
    shown = len(rows)
    more = ", --rows N for more" if total > shown else ""
    table = new_table(f"Per-box rows: {shown} of {total}{more} (shift in input px)")
    columns = [c for c in ROW_COLUMNS if c[0] in names]
    if wide or width >= WIDE:
        columns[1:1] = [c for c in WIDE_COLUMNS if c[0] in names or c[0] == "box"]
    for name, header in columns:
        numeric = name not in ("method", "flags", "image_id", "category", "box")
        table.add_column(header, justify="right" if numeric else "left", no_wrap=name not in ("flags", "category"),
                         overflow="fold")
    for row in rows:
        cells = []
        for name, _ in columns:
            if name == "box":
                cells.append(", ".join(number(row[c], 1) if np.isfinite(row[c]) else "?" for c in ("x1", "y1", "x2", "y2")))
            elif name in ("roi_id", "image_id", "category", "method", "level", "empty_bins"):
                cells.append(_text(row[name]))
            elif name == "flags":
                cells.append(escape(str(row[name]).replace(";", "; ")))
            else:
                cells.append(number(row[name], 1 if name == "shift_px" else 3))
        table.add_row(*cells)
    return table


def constant_columns(frame, names) -> tuple[pd.DataFrame, str]:
    """Drop the columns of ``names`` that hold one value in every row; return the rest and a line
    stating the dropped ones (``method roialign | stride 16``), so narrow terminals fit the table."""
    same = [c for c in names if c in frame.columns and len(frame) and frame[c].astype(str).nunique() == 1]
    text = " | ".join(f"{c} {compact(frame[c].iat[0])}" for c in same)
    return frame.drop(columns=same), text


def frame_table(frame, title: str | None = None) -> Table:
    """Any DataFrame as a table (grid rows, presets, methods); text columns wrap."""
    import pandas as pd

    table = new_table(title)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column].dtype) and not pd.api.types.is_bool_dtype(frame[column].dtype)
        table.add_column(escape(str(column)), justify="right" if numeric else "left", no_wrap=numeric, overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_text(v) for v in row])
    return table


def record_list(frame, key: str):
    """A catalogue (methods, presets) as one block per row: the key in bold, then ``field  value``
    lines whose values wrap at word boundaries. Reads at any width, unlike a wide table."""
    from rich.console import Group

    blocks = []
    for _, row in frame.iterrows():
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for column in frame.columns:
            if column != key:
                grid.add_row(escape(str(column)), _text(row[column]))
        blocks += [f"[bold]{escape(str(row[key]))}[/]", grid, ""]
    return Group(*blocks)


def checks_table(audit) -> Table:
    table = new_table("Checks")
    for name, justify in (("check", "left"), ("value", "right"), ("limit", "right"), ("result", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for r in audit.results:
        table.add_row(escape(r.name), number(r.value, 4), f"{r.check.limit:g}", "pass" if r.passed else "[bold red]FAIL[/]")
    return table


def worst_table(result) -> Table:
    meaning = {"sub_cell_share": "shortest side, px", "invalid_share": "reason"}.get(result.check.metric, result.check.metric)
    table = new_table(f"{result.name}: worst boxes (value = {meaning})")
    for name in ("roi_id", "image", "category", "box (x1, y1, x2, y2)", "value"):
        table.add_column(name, justify="right" if name in ("roi_id", "value") else "left", overflow="fold")
    for w in result.worst:
        box = ", ".join(number(w[k], 1) for k in ("x1", "y1", "x2", "y2"))
        value = number(w.get("value"), 4) if w.get("value") is not None else escape(str(w.get("reason", "-")))
        table.add_row(_text(w["roi_id"]), _text(w["image_id"]), _text(w["category"]), box, value)
    return table


def grid_view(frame):
    """A grid listing for the terminal: ``(y, x)`` pairs in one column each (bin, sample, point,
    cell, rectangle), so every detail level fits 80 columns. The CSV/JSON output keeps the columns."""
    import pandas as pd

    if not len(frame):
        return frame

    def pair(a, b, digits=None):
        fmt = (lambda v: compact(v)) if digits is None else (lambda v: number(v, digits))
        return [f"{fmt(y)}, {fmt(x)}" if pd.notna(y) else "-" for y, x in zip(frame[a], frame[b])]

    out = {c: frame[c] for c in ("roi_id", "short_side", "level", "stride", "method") if c in frame.columns}
    out["bin (y, x)"] = pair("bin_y", "bin_x")
    if "y0" in frame.columns:  # bins
        out["y0 - y1"] = [f"{number(a, 3)} - {number(b, 3)}" for a, b in zip(frame.y0, frame.y1)]
        out["x0 - x1"] = [f"{number(a, 3)} - {number(b, 3)}" for a, b in zip(frame.x0, frame.x1)]
        out["samples"] = frame["samples"]
        out["valid"] = frame["valid_samples"]
    elif "sample_y" in frame.columns:  # samples
        out["sample"] = pair("sample_y", "sample_x")
        out["point (y, x)"] = pair("y", "x", 3)
        out["valid"] = frame["valid"]
        out["cell (y, x)"] = pair("cell_y", "cell_x")
        out["weight"] = [number(w, 4) for w in frame["weight"]]
    else:  # cells
        out["cell (y, x)"] = pair("cell_y", "cell_x")
        out["weight"] = [number(w, 4) for w in frame["weight"]]
    return pd.DataFrame(out)
