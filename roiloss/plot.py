"""The article's figure for one box: feature grid, RoI, bins, samples, lost (blue) and gained (green) area.

One panel per method, side by side on the same grid. Feature-area units on the axes (cell ``j``
spans ``[j, j + 1)``), image pixels on the secondary axes.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .analysis import ModelBoxes  # noqa: E402
from .sampling_grid import grid_table  # noqa: E402
from .semantics import Semantics  # noqa: E402
from .methods import METHODS  # noqa: E402
from .writers import atomic_output  # noqa: E402

LOST = "#3373f2"    # box area the method never reads
GAINED = "#4dbf59"  # cell area read outside the box
READ = "#f2ecc4"    # box area the method reads
BOX = "#d62728"
BIN = "#ff7f0e"
PANEL_INCHES = 5.0
DPI = 100


def plot_box(table: pd.DataFrame, model: ModelBoxes, metrics: pd.DataFrame, semantics: Semantics, path,
             title: str | None = None, fmt: str | None = None) -> tuple[int, int]:
    """Draw the first box of ``table`` for every method into ``path`` (.png or .svg); return (width, height) px.

    ``path`` may also be a binary stream (the HTML report draws into memory); ``fmt`` (``png`` or
    ``svg``) then says which, else the extension decides.

    ``model`` is the box in the model's frame (:func:`roiloss.analysis.model_boxes`): the figure
    shows its level's grid in the model's frame, at the first input scale.
    """
    box = table.iloc[[0]]
    methods = list(semantics.methods)
    s = float(model.stride[0])
    r = np.array([model.x1[0], model.y1[0], model.x2[0], model.y2[0]]) / s

    def first_scale(frame):
        return frame[frame.short_side == frame.short_side.iat[0]] if "short_side" in frame and len(frame) else frame

    cells, bins, samples = (first_scale(grid_table(box, semantics, d)) for d in ("cells", "bins", "samples"))
    metrics = first_scale(metrics)
    map_w = math.ceil(model.padded_width[0] / s) if not np.isnan(model.padded_width[0]) else None
    map_h = math.ceil(model.padded_height[0] / s) if not np.isnan(model.padded_height[0]) else None

    lo_x = min(np.floor(r[0]), cells.cell_x.min() if len(cells) else np.inf) - 1
    hi_x = max(np.ceil(r[2]), cells.cell_x.max() + 1 if len(cells) else -np.inf) + 1
    lo_y = min(np.floor(r[1]), cells.cell_y.min() if len(cells) else np.inf) - 1
    hi_y = max(np.ceil(r[3]), cells.cell_y.max() + 1 if len(cells) else -np.inf) + 1
    side = max(hi_x - lo_x, hi_y - lo_y)
    view = (lo_x, lo_x + side, lo_y, lo_y + side)

    with plt.rc_context({"svg.hashsalt": "roiloss", "font.size": 9}):
        title = textwrap.fill(title, width=70 * len(methods)) if title else None
        lines = title.count("\n") + 1 if title else 0
        fig, panels = plt.subplots(1, len(methods), figsize=(PANEL_INCHES * len(methods), PANEL_INCHES + 1.0 + 0.16 * lines),
                                   dpi=DPI, squeeze=False)
        for ax, method in zip(panels[0], methods):
            _panel(ax, method, r, view, (map_w, map_h), s,
                   cells[cells.method == method], bins[bins.method == method], samples[samples.method == method],
                   metrics[metrics.method == method].iloc[0], semantics.resize.active)
        if title:
            fig.suptitle(title, fontsize=9)
        handles = [Rectangle((0, 0), 1, 1, facecolor=LOST), Rectangle((0, 0), 1, 1, facecolor=GAINED),
                   Rectangle((0, 0), 1, 1, facecolor=READ), Rectangle((0, 0), 1, 1, fill=False, edgecolor=BOX, lw=2),
                   Rectangle((0, 0), 1, 1, fill=False, edgecolor=BIN, ls="--")]
        labels = ["lost: box area never read", "gained: cell area read outside the box", "box area read",
                  "RoI", "bins (windows for RoI Pool)"]
        fig.legend(handles, labels, loc="lower center", ncol=5 if len(methods) > 1 else 2, frameon=False, fontsize=8)
        height = PANEL_INCHES + 1.0 + 0.16 * lines
        fig.subplots_adjust(left=0.06 if len(methods) > 1 else 0.12, right=0.97 if len(methods) > 1 else 0.88,
                            top=1 - (1.05 + 0.16 * lines) / height, bottom=(0.5 if len(methods) > 1 else 0.75) / height,
                            wspace=0.35)
        kind = fmt or ("svg" if str(path).lower().endswith(".svg") else "png")
        metadata = {"Date": None} if kind == "svg" else {"Software": None}
        if hasattr(path, "write"):
            fig.savefig(path, format=kind, dpi=DPI, metadata=metadata)
        else:
            with atomic_output(str(path), binary=True) as stream:
                fig.savefig(stream, format=kind, dpi=DPI, metadata=metadata)
        size = fig.canvas.get_width_height()
        plt.close(fig)
    return size


def _panel(ax, method, r, view, map_size, stride, cells, bins, samples, metrics, model_frame=False):
    x0, x1, y0, y1 = view
    support = set(zip(cells.cell_y.astype(int), cells.cell_x.astype(int)))
    for cy in range(int(y0), int(y1)):
        for cx in range(int(x0), int(x1)):
            ix0, ix1 = max(cx, r[0]), min(cx + 1, r[2])
            iy0, iy1 = max(cy, r[1]), min(cy + 1, r[3])
            inside = ix1 > ix0 and iy1 > iy0
            if (cy, cx) in support:
                ax.add_patch(Rectangle((cx, cy), 1, 1, facecolor=GAINED, edgecolor="none", zorder=1))
                if inside:
                    ax.add_patch(Rectangle((ix0, iy0), ix1 - ix0, iy1 - iy0, facecolor=READ, edgecolor="none", zorder=2))
            elif inside:
                ax.add_patch(Rectangle((ix0, iy0), ix1 - ix0, iy1 - iy0, facecolor=LOST, edgecolor="none", zorder=2))
    for v in range(int(x0), int(x1) + 1):
        ax.axvline(v, color="#999999", lw=0.5, zorder=3)
    for v in range(int(y0), int(y1) + 1):
        ax.axhline(v, color="#999999", lw=0.5, zorder=3)
    map_w, map_h = map_size
    if map_w is not None and map_h is not None:
        ax.add_patch(Rectangle((0, 0), map_w, map_h, fill=False, edgecolor="black", lw=1.5, zorder=4))
    for b in bins.itertuples():
        ax.add_patch(Rectangle((b.x0, b.y0), b.width, b.height, fill=False, edgecolor=BIN, lw=1.2, ls="--", zorder=5))
    ax.add_patch(Rectangle((r[0], r[1]), r[2] - r[0], r[3] - r[1], fill=False, edgecolor=BOX, lw=2, zorder=6))
    points = samples.drop_duplicates(["bin_y", "bin_x", "sample_y", "sample_x"])
    if METHODS[method].kind == "sample":  # pooling reads whole cells; its "samples" are the cell centres
        good = points[points.valid]
        ax.scatter(good.x, good.y, s=14, color="black", zorder=7)
        bad = points[~points.valid]
        ax.scatter(bad.x, bad.y, s=20, color="black", marker="x", zorder=7)

    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # image convention: y grows downwards
    ax.set_aspect("equal")
    step = max(1, int(round((x1 - x0) / 12)))
    ax.set_xticks(np.arange(math.ceil(x0), x1 + 1e-9, step))
    ax.set_yticks(np.arange(math.ceil(y0), y1 + 1e-9, step))
    ax.set_xlabel("x (cells)")
    ax.set_ylabel("y (cells)")
    ax.tick_params(top=False)
    top = ax.secondary_xaxis("top", functions=(lambda u: u * stride, lambda p: p / stride))
    top.set_xlabel("x (model px)" if model_frame else "x (px)")
    right = ax.secondary_yaxis("right", functions=(lambda u: u * stride, lambda p: p / stride))
    right.set_ylabel("y (model px)" if model_frame else "y (px)")
    ax.set_title(f"{method}\nlost {metrics.lost_frac:.3f} | gained {metrics.gained_frac:.3f} | "
                 f"IoU {metrics.iou:.3f} | shift {metrics.shift_px:.1f} px", fontsize=9, pad=28)
