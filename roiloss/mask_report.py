"""Summaries, tables and the figure of ``roiloss masks`` (docs/semantics.md §12).

Summaries are over measured instances: ``mean``, ``median``, ``p5`` (numpy's linear
interpolation) and ``min`` of the ceilings, low values being the bad ones. Tables fit 80 columns.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from .terminal import new_table
from .values import compact, number

KEEP = ["roi_id", "image_id", "category", "method", "mask_area", "size_class", "mask_ceiling", "target_ceiling",
        "flags"]


class MaskSummary:
    """Collects the rows of :func:`roiloss.mask_ceiling` chunk by chunk (only the columns the
    summaries need); :meth:`methods`, :meth:`sizes`, :meth:`categories`, :meth:`worst` at the end."""

    def __init__(self):
        self.parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        part = frame[[c for c in KEEP if c in frame.columns]].copy()
        part["method"] = part["method"].astype(str)
        part["invalid"] = part["flags"].astype(str).str.startswith("invalid:")
        for name in ("mask_ceiling", "target_ceiling"):
            part[name] = part[name].astype(np.float32)
        self.parts.append(part)

    @property
    def rows(self) -> pd.DataFrame:
        if len(self.parts) > 1:
            self.parts = [pd.concat(self.parts, ignore_index=True)]
        return self.parts[0] if self.parts else pd.DataFrame(columns=KEEP + ["invalid"])

    def method_order(self) -> list[str]:
        return list(dict.fromkeys(self.rows["method"]))

    def methods(self) -> pd.DataFrame:
        """Per method: instances, invalid, mean/median/p5/min mask ceiling, mean target ceiling."""
        out = []
        rows = self.rows
        for method in self.method_order():
            group = rows[rows["method"] == method]
            values = group["mask_ceiling"].to_numpy(np.float64)
            values = values[~np.isnan(values)]
            target = group["target_ceiling"].to_numpy(np.float64)
            out.append({"method": method, "instances": len(group), "invalid": int(group["invalid"].sum()),
                        "mean": values.mean() if len(values) else np.nan,
                        "median": np.percentile(values, 50) if len(values) else np.nan,
                        "p5": np.percentile(values, 5) if len(values) else np.nan,
                        "min": values.min() if len(values) else np.nan,
                        "target": np.nanmean(target) if np.isfinite(target).any() else np.nan})
        return pd.DataFrame(out)

    def sizes(self) -> pd.DataFrame:
        """Per method and COCO size class: measured instances, mean mask and target ceilings."""
        rows = self.rows[~self.rows["invalid"]]
        out = []
        for method in self.method_order():
            for size in ("small", "medium", "large"):
                group = rows[(rows["method"] == method) & (rows["size_class"] == size)]
                if len(group):
                    ceiling, target = group["mask_ceiling"].mean(), group["target_ceiling"].mean()
                    out.append({"method": method, "size": size, "instances": len(group), "ceiling": ceiling,
                                "target": target, "gap": target - ceiling})
        return pd.DataFrame(out)

    def categories(self) -> pd.DataFrame:
        """Per category (most instances first): instances and the mean ceiling of each method."""
        rows = self.rows[~self.rows["invalid"]]
        if not len(rows):
            return pd.DataFrame(columns=["category", "instances", "target"])
        rows = rows.assign(category=rows["category"].astype(str))
        wide = rows.pivot_table(index="category", columns="method", values="mask_ceiling", aggfunc="mean",
                                observed=True)
        wide = wide[[m for m in self.method_order() if m in wide.columns]]
        first = self.method_order()[0]
        counts = rows[rows["method"] == first].groupby("category").size()
        target = rows[rows["method"] == first].groupby("category")["target_ceiling"].mean()
        out = wide.assign(instances=counts, target=target).reset_index()
        out = out.sort_values(["instances", "category"], ascending=[False, True], kind="stable")
        return out[["category", "instances", *wide.columns, "target"]].reset_index(drop=True)

    def worst(self, n: int) -> pd.DataFrame:
        """The ``n`` rows with the lowest mask ceiling (ties: input order)."""
        rows = self.rows[~self.rows["invalid"]]
        return rows.sort_values("mask_ceiling", kind="stable").head(n)


def methods_table(summary: pd.DataFrame) -> Table:
    table = new_table("Mask ceiling per method (target: the training target alone)")
    for name in ("method", "instances", "invalid", "mean", "median", "p5", "min", "target"):
        table.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for row in summary.itertuples(index=False):
        table.add_row(escape(row.method), str(row.instances), str(row.invalid), number(row.mean), number(row.median),
                      number(row.p5), number(row.min), number(row.target))
    return table


def sizes_table(summary: pd.DataFrame) -> Table:
    table = new_table("Per size class (means; gap = target - ceiling)")
    for name in ("method", "size", "instances", "ceiling", "target", "gap"):
        table.add_column(name, justify="left" if name in ("method", "size") else "right", no_wrap=True)
    last = None
    for row in summary.itertuples(index=False):
        table.add_row(escape(row.method) if row.method != last else "", row.size, str(row.instances),
                      number(row.ceiling), number(row.target), number(row.gap), end_section=row.size == "large")
        last = row.method
    return table


def categories_table(summary: pd.DataFrame, limit: int) -> Table:
    shown = summary.head(limit)
    more = f" ({len(shown)} of {len(summary)}, --categories N for more)" if len(shown) < len(summary) else ""
    table = new_table(f"Per category (mean mask ceiling){more}")
    for name in shown.columns:
        table.add_column(escape(str(name)), justify="left" if name == "category" else "right",
                         no_wrap=name != "category", overflow="fold")
    for row in shown.itertuples(index=False):
        table.add_row(escape(str(row[0])), str(row[1]), *(number(v) for v in row[2:]))
    return table


def worst_table(rows: pd.DataFrame, total: int) -> Table:
    table = new_table(f"Worst instances: {len(rows)} of {total} rows (--rows N for more)")
    for name in ("roi_id", "image", "category", "method", "area", "ceiling", "target"):
        table.add_column(name, justify="left" if name in ("category", "method") else "right",
                         no_wrap=name != "category", overflow="fold")
    for row in rows.itertuples(index=False):
        table.add_row(escape(compact(row.roi_id)), escape(compact(row.image_id)), escape(compact(row.category)),
                      escape(row.method), number(row.mask_area, 0), number(row.mask_ceiling), number(row.target_ceiling))
    return table


def plot_instance(found: dict, methods: list[str], title: str, path: str) -> None:
    """One panel per method and one for the target: the mask (grey), the feature grid, the box, and
    the round trip (green: kept, orange: added, blue: lost), in input pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    from .writers import atomic_output

    m = found["mask"].astype(bool)
    py0, px0 = found["origin"]
    h, w = m.shape
    extent = (px0, px0 + w, py0 + h, py0)
    panels = [(name, found["pasted"][i], found["paste"], found["ceilings"][i]) for i, name in enumerate(methods)]
    panels.append(("target 28x28" if found["target"].shape[0] == 28 else f"target {found['target'].shape[0]}",
                   found["target_pasted"], found["target_paste"], found["target_ceiling"]))
    colours = ListedColormap(["white", "#bdbdbd", "#f28e2b", "#59a14f", "#4e79a7"])
    with plt.rc_context({"svg.hashsalt": "roiloss", "font.size": 9}):
        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.4), dpi=100, squeeze=False)
        for ax, (name, pasted, paste, ceiling) in zip(axes[0], panels):
            r = np.zeros_like(m)
            r[paste.y0 - py0:paste.y1 - py0, paste.x0 - px0:paste.x1 - px0] = pasted
            code = np.where(m & r, 3, np.where(r, 2, np.where(m, 4, 0)))
            ax.imshow(code, cmap=colours, vmin=0, vmax=4, extent=extent, interpolation="nearest")
            if not name.startswith("target"):
                cell_h, cell_w = found["cell_size"]
                cy0, cy1, cx0, cx1 = found["cells"]
                for c in range(cx0, cx1 + 1):
                    ax.axvline(c * cell_w, color="#888888", lw=0.5)
                for c in range(cy0, cy1 + 1):
                    ax.axhline(c * cell_h, color="#888888", lw=0.5)
            x1, y1, x2, y2 = found["box"]
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="#d62728", lw=1.5))
            ax.set_xlim(px0, px0 + w)
            ax.set_ylim(py0 + h, py0)
            ax.set_title(f"{name}\nIoU {ceiling:.3f}", fontsize=9)
            ax.set_xlabel("x (px)")
        axes[0][0].set_ylabel("y (px)")
        handles = [Rectangle((0, 0), 1, 1, color=c) for c in ("#59a14f", "#f28e2b", "#4e79a7")]
        fig.legend(handles, ["mask and round trip", "round trip only", "mask only (lost)"], loc="lower center",
                   ncol=3, frameon=False, fontsize=8)
        fig.suptitle(textwrap.fill(title, width=55 * len(panels)), fontsize=9)
        fig.subplots_adjust(bottom=0.2, top=0.74, wspace=0.3)
        kind = "svg" if str(path).lower().endswith(".svg") else "png"
        with atomic_output(str(path), binary=True) as stream:
            fig.savefig(stream, format=kind, dpi=100, metadata={"Date": None} if kind == "svg" else {"Software": None})
        plt.close(fig)
