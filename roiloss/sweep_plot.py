"""The figure of a sweep: one heatmap per method, settings (stride x sampling ratio) by pool size.

Each cell shows one statistic (colour and value); with checks, passing settings say ``pass`` and
the cheapest passing one is framed in black.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .writers import atomic_output  # noqa: E402


def _row_label(row) -> str:
    where = f"stride {row['stride']:g}" if pd.notna(row["stride"]) else str(row.get("levels", "pyramid"))
    if pd.isna(row["sampling_ratio"]):
        return where
    return f"{where}, ratio {int(row['sampling_ratio'])}"


def sweep_figure(frame: pd.DataFrame, statistic: str | None = None, title: str | None = None):
    """The heatmaps of a sweep table (:func:`roiloss.sweep`) as a matplotlib figure."""
    statistic = statistic or next(c for c in frame.columns if c.endswith(("_mean", "_median", "_p95", "_max", "_share")))
    methods = list(dict.fromkeys(frame["method"]))
    pools = list(dict.fromkeys(frame["pool"]))
    values = frame[statistic].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if vmax <= vmin:
        vmax = vmin + 1e-9
    layouts = []
    for method in methods:
        mine = frame[frame["method"] == method]
        labels = list(dict.fromkeys(_row_label(r) for _, r in mine.iterrows()))
        layouts.append((method, mine, labels))
    width = 3.2 + 1.1 * len(pools)
    lines = len(textwrap.wrap(title, width=int(width * 14))) if title else 0
    height = sum(0.45 * len(labels) + 0.9 for _, _, labels in layouts) + 0.2 + 0.2 * lines
    with plt.rc_context({"svg.hashsalt": "roiloss-sweep", "font.size": 9}):
        fig, axes = plt.subplots(len(layouts), 1, figsize=(width, height), dpi=100, squeeze=False,
                                 gridspec_kw={"height_ratios": [len(labels) + 1.5 for _, _, labels in layouts]})
        image = None
        for ax, (method, mine, labels) in zip(axes[:, 0], layouts):
            grid = np.full((len(labels), len(pools)), np.nan)
            marks = {}
            for _, row in mine.iterrows():
                i, j = labels.index(_row_label(row)), pools.index(row["pool"])
                grid[i, j] = row[statistic]
                marks[(i, j)] = (bool(row.get("passed", False)), bool(row.get("cheapest", False)))
            image = ax.imshow(grid, cmap="YlOrRd", vmin=vmin, vmax=vmax, aspect="auto")
            for (i, j), (passed, best) in marks.items():
                value = grid[i, j]
                dark = np.isfinite(value) and (value - vmin) / (vmax - vmin) > 0.6
                text = "-" if not np.isfinite(value) else f"{value:.3f}"
                if "passed" in frame.columns:
                    text += "\npass" if passed else ""
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
                if best:
                    ax.add_patch(Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, edgecolor="black", lw=2.5))
            ax.set_xticks(range(len(pools)), [f"pool {p}" for p in pools])
            ax.set_yticks(range(len(labels)), labels)
            ax.set_title(method, fontsize=9, loc="left")
        fig.colorbar(image, ax=axes[:, 0].tolist(), label=statistic, shrink=0.9)
        if title:
            fig.suptitle(textwrap.fill(title, width=int(width * 14)), fontsize=8)
    return fig


def plot_sweep(frame: pd.DataFrame, path, statistic: str | None = None, title: str | None = None) -> None:
    """Write the sweep's heatmaps to ``path`` (.png or .svg; deterministic bytes)."""
    fig = sweep_figure(frame, statistic, title)
    kind = "svg" if str(path).lower().endswith(".svg") else "png"
    metadata = {"Date": None} if kind == "svg" else {"Software": None}
    with plt.rc_context({"svg.hashsalt": "roiloss-sweep"}), atomic_output(str(path), binary=True) as stream:
        fig.savefig(stream, format=kind, dpi=100, metadata=metadata, bbox_inches="tight")
    plt.close(fig)
