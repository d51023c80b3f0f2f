"""The figures of the HTML report (:mod:`roiloss.report`), each as inline SVG text.

Every figure is rendered by matplotlib to SVG with text kept as text (small, crisp at any zoom),
a fixed hash salt per figure (deterministic ids and bytes), and no metadata; then made fit to
inline into HTML: no XML prolog, no namespace URLs, ids prefixed per figure so that figures never
share an id.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .stats import STAT_METRICS  # noqa: E402

ECDF_POINTS = 400  # points per curve at most: quantiles of larger groups (the file stays small)
LABELS = {"lost_frac": "lost_frac (box area never read ÷ box)", "gained_frac": "gained_frac (read outside ÷ box)",
          "outside_weight": "outside_weight (share of weight outside)", "shift_px": "shift_px (input px)"}
# matplotlib 3.10 renamed boxplot's vert=False to orientation="horizontal" (vert is deprecated since)
HORIZONTAL = ({"orientation": "horizontal"} if tuple(int(v) for v in matplotlib.__version__.split(".")[:2]) >= (3, 10)
              else {"vert": False})
RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}


def inline_svg(text: str, key: str) -> str:
    """Matplotlib SVG -> an ``<svg>`` element for HTML: prolog, metadata and namespace URLs removed,
    every id prefixed with ``key``, and nothing that reads as a URL left."""
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", text)
    text = re.sub(r'\sversion="1\.1"', "", text, count=1)
    ids = set(re.findall(r'\sid="([^"]+)"', text))

    def rename(match):
        name = match.group(2)
        return f"{match.group(1)}{key}-{name}" if name in ids else match.group(0)

    text = re.sub(r'(\sid="|#)([A-Za-z_][\w.\-]*)(?=["\)])', rename, text)
    text = text.replace("<svg ", f'<svg role="img" aria-labelledby="{key}-caption" ', 1)
    return text.replace("//", "/&#47;").replace("http", "&#104;ttp").strip()


def svg_of(fig, key: str) -> str:
    """Close ``fig`` and return it as inline SVG (deterministic: fixed hash salt, no date)."""
    buffer = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": f"roiloss-{key}", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return inline_svg(buffer.getvalue().decode("utf-8"), key)


def _curve(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ECDF of ``values`` as step points (quantiles when there are many)."""
    values = np.sort(values)
    n = len(values)
    if n <= ECDF_POINTS:
        return values, np.arange(1, n + 1) / n
    p = np.linspace(0, 1, ECDF_POINTS)
    return np.quantile(values, p), p


def ecdf_figure(groups: list[tuple[str, pd.DataFrame]], title: str, key: str) -> str:
    """2 x 2 panels (one per metric), one ECDF curve per group; x cut at the largest group p99."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(2, 2, figsize=(8.4, 6.0))
        for ax, metric in zip(axes.ravel(), STAT_METRICS):
            top = 0.0
            for label, rows in groups:
                values = rows[metric].to_numpy(dtype=float)
                values = values[np.isfinite(values)]
                if not len(values):
                    continue
                x, y = _curve(values)
                ax.step(np.concatenate([[0.0], x]), np.concatenate([[0.0], y]), where="post", lw=1.4,
                        label=f"{label} (n={len(values)})")
                top = max(top, float(np.quantile(values, 0.99)))
            ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(LABELS[metric])
            ax.set_ylabel("share of boxes ≤ x")
            ax.grid(alpha=0.3)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return svg_of(fig, key)


def level_histogram(counts: pd.Series, title: str, key: str) -> str:
    """Boxes per pyramid level (bars, labelled with their counts)."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.0, 3.2))
        labels = [f"P{int(level)}" for level in counts.index]
        bars = ax.bar(labels, counts.to_numpy(), color="#4c72b0")
        ax.bar_label(bars, [str(int(v)) for v in counts.to_numpy()], padding=2)
        ax.set_ylabel("boxes")
        ax.set_xlabel("pyramid level")
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.15)
        fig.tight_layout()
        return svg_of(fig, key)


def category_figure(rows: pd.DataFrame, categories: list[str], title: str, key: str) -> str:
    """2 x 2 panels of horizontal box plots (one per metric), one box per category, worst on top.

    Boxes span the quartiles, whiskers the 5th to 95th percentile; the dot is the mean.
    """
    with plt.rc_context(RC):
        fig, axes = plt.subplots(2, 2, figsize=(9.0, 1.2 + 0.5 * len(categories)), sharey=True)
        for ax, metric in zip(axes.ravel(), STAT_METRICS):
            data = []
            for category in categories:
                values = rows.loc[rows["category"] == category, metric].to_numpy(dtype=float)
                data.append(values[np.isfinite(values)])
            positions = np.arange(len(categories))[::-1]
            ax.boxplot(data, positions=positions, **HORIZONTAL, whis=(5, 95), showfliers=False, showmeans=True,
                       widths=0.6, meanprops={"marker": "o", "markersize": 4, "markerfacecolor": "black",
                                              "markeredgecolor": "black"}, medianprops={"color": "#d62728"})
            ax.set_yticks(positions, [str(c) for c in categories])
            ax.set_xlabel(LABELS[metric])
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        return svg_of(fig, key)


def box_figure(one: pd.DataFrame, semantics, title: str, key: str) -> str:
    """The ``roiloss grid --plot`` figure of one box (a one-row canonical table), as inline SVG."""
    from .analysis import analyze_table, model_boxes
    from .plot import plot_box

    buffer = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        plot_box(one, model_boxes(one, semantics), analyze_table(one, semantics), semantics, buffer, title=title,
                 fmt="svg")
    return inline_svg(buffer.getvalue().decode("utf-8"), key)
