"""The HTML report: one self-contained page that shows where a dataset loses.

One file, readable offline on a laptop or a phone: no script, no external style sheet, font or
image, no URL at all; every figure is inline SVG (:mod:`roiloss.report_figures`). Every user
string (input name, ids, categories, reasons) is HTML-escaped, and any ``/`` or ``http`` in it is
written as a character reference, so nothing in the page reads as a link. The same input and
settings give the same bytes; only the timestamp (``timestamp=False`` leaves it out) changes.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from . import __version__
from .analysis import analyze_table
from .boxes import normalise
from .checks import default_checks, parse_checks, run_audit, size_bucket, SIZE_BUCKETS
from .errors import InputError
from .pyramid import Pyramid
from .semantics import Semantics
from .stats import STAT_METRICS, STATISTICS, summarize
from .transforms import Resize
from .values import number

WORST = 6           # boxes drawn by default
TOP_CATEGORIES = 12  # categories in the box-plot figures (the table lists all)
TABLE_ROWS = 20      # category rows shown; the others are one click away
RANK = ("lost_frac", "outside_weight")  # worst boxes: largest first, ties by the second

CSS = """
:root{color-scheme:light;--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bad:#b3261e;--good:#1e6b35}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:#fff}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0;overflow-wrap:anywhere}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
p,li{max-width:72ch}.muted{color:var(--muted)}code{font-size:.9em}
nav ul{display:flex;flex-wrap:wrap;gap:.3rem 1rem;padding:0;list-style:none}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
th,td{padding:.2rem .55rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#f3f5f8}th:first-child,td:first-child,td.text,th.text{text-align:left}
tr.first td{border-top:2px solid var(--line)}
.fail{color:var(--bad);font-weight:600}.pass{color:var(--good)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.9rem}dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
figure{margin:1rem 0}figure svg{display:block;width:100%;height:auto;max-width:900px}
figure.wide .scroll svg{min-width:640px;max-width:none}
figcaption{font-size:.85rem;color:var(--muted)}
@media (max-width:600px){body{font-size:14px}main{padding:.6rem}th,td{padding:.15rem .35rem}}
"""


def esc(value) -> str:
    """HTML-escape a user string; ``/`` and ``http`` become character references (never a URL)."""
    text = html.escape("" if value is None or value is pd.NA else str(value), quote=True)
    return re.sub(r"(?i)h(?=ttp)", lambda m: f"&#{ord(m.group(0))};", text.replace("/", "&#47;"))


def _cell(value, digits: int = 3, cls: str = "", key: str | None = None) -> str:
    text = number(value, digits) if not isinstance(value, str) else esc(value)
    attrs = (f' class="{cls}"' if cls else "") + (f' data-key="{esc(key)}"' if key else "")
    return f"<td{attrs}>{text}</td>"


def _table(headers: list[str], rows: list[str], text_columns: int = 1, table_id: str | None = None) -> str:
    heads = "".join(f'<th{" class=text" if i < text_columns else ""}>{h}</th>' for i, h in enumerate(headers))
    ident = f' id="{table_id}"' if table_id else ""
    return f'<div class="scroll"><table{ident}><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _figure(svg: str, key: str, caption: str, wide: bool = False, style: str = "") -> str:
    inner = f'<div class="scroll">{svg}</div>' if wide else svg
    styled = f' style="{style}"' if style else ""
    return (f'<figure class="{"wide" if wide else "plain"}" data-figure="{key}"{styled}>{inner}'
            f'<figcaption id="{key}-caption">{caption}</figcaption></figure>')


def _digits(metric: str) -> int:
    return 1 if metric.startswith("shift_px") else 3


def summary_section(summary: pd.DataFrame) -> str:
    """Boxes per method and the mean/median/p95/max of each metric (cells carry ``data-key``
    ``method/metric/statistic``, the numbers as ``roiloss analyze`` prints them)."""
    counts = [f'<tr><td class="text">{esc(r.method)}</td>{_cell(r.boxes)}{_cell(r.measured)}{_cell(r.invalid)}'
              f'{_cell(r.sub_cell)}{_cell(r.lost_any_share, key=f"{r.method}/lost_any_share")}</tr>'
              for r in summary.itertuples()]
    rows = []
    for r in summary.itertuples():
        for i, metric in enumerate(STAT_METRICS):
            cells = "".join(_cell(getattr(r, f"{metric}_{s}"), _digits(metric), key=f"{r.method}/{metric}/{s}")
                            for s in STATISTICS)
            method = esc(r.method) if i == 0 else ""
            rows.append(f'<tr{" class=first" if i == 0 else ""}><td class="text">{method}</td>'
                        f'<td class="text">{metric}</td>{cells}</tr>')
    return ('<section id="summary"><h2>Summary per method</h2>'
            + _table(["method", "boxes", "measured", "invalid", "sub-cell", "lost&gt;0"], counts, table_id="counts")
            + _table(["method", "metric", *STATISTICS], rows, 2, table_id="metrics")
            + '<p class="muted">lost&gt;0: share of measured boxes that lose some of their area. shift_px in '
              "input-image pixels.</p></section>")


def group_table(frame: pd.DataFrame, by: str, label: str) -> str:
    rows = [f'<tr><td class="text">{esc(r["method"])}</td><td class="text">{esc(r[by])}</td>{_cell(r["boxes"])}'
            f'{_cell(r["lost_any_share"])}{_cell(r["lost_frac_mean"])}{_cell(r["lost_frac_p95"])}'
            f'{_cell(r["gained_frac_mean"])}{_cell(r["outside_weight_mean"])}{_cell(r["shift_px_mean"], 1)}</tr>'
            for _, r in frame.iterrows()]
    return _table(["method", label, "boxes", "lost&gt;0", "lost mean", "lost p95", "gained mean", "outside mean",
                   "shift mean"], rows, 2)


def checks_section(audit) -> str:
    rows = []
    for r in audit.results:
        verdict = '<td class="pass">pass</td>' if r.passed else '<td class="fail">FAIL</td>'
        rows.append(f'<tr><td class="text">{esc(r.name)}</td>{_cell(r.value, 4)}<td>{r.check.limit:g}</td>{verdict}</tr>')
    parts = ['<section id="checks"><h2>Checks</h2>',
             f'<p class="{"pass" if audit.passed else "fail"}">audit {"passed" if audit.passed else "FAILED"}: '
             f'{sum(r.passed for r in audit.results)} of {len(audit.results)} checks pass</p>',
             _table(["check", "value", "limit", "result"], rows, table_id="check-results")]
    for r in audit.results:
        if r.passed:
            continue
        worst = [f'<tr><td class="text">{esc(w["roi_id"])}</td><td class="text">{esc(w["image_id"])}</td>'
                 f'<td class="text">{esc(w["category"])}</td>'
                 f'<td>{", ".join(number(w[k], 1) for k in ("x1", "y1", "x2", "y2"))}</td>'
                 f'{_cell(w["value"], 4) if w.get("value") is not None else _cell(str(w.get("reason", "-")))}</tr>'
                 for w in r.worst]
        parts += [f"<h3>{esc(r.name)}: failed</h3>", f"<p><strong>Remedy:</strong> {esc(r.remedy)}</p>",
                  _table(["roi_id", "image", "category", "box (x1, y1, x2, y2)", "value"], worst, 3)]
    return "".join(parts) + "</section>"


def semantics_section(semantics: Semantics, source: str, table: pd.DataFrame) -> str:
    items = []
    for key, value in semantics.to_dict().items():
        if key == "summary" or (key == "stride" and semantics.pyramid is not None):
            continue  # with a pyramid each box has its level's stride
        if key == "pool":
            value = "x".join(map(str, value))
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, [], ""))
        elif isinstance(value, list):
            value = ",".join(map(str, value))
        items.append(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>")
    invalid = int((table["invalid"] != "").sum())
    return ('<section id="semantics"><h2>Semantics</h2>'
            f"<p>{esc(semantics.describe())}</p><p>input {esc(source)}: {len(table)} boxes ({invalid} invalid)</p>"
            "<details><summary>every setting</summary><dl>" + "".join(items) + "</dl></details></section>")


def report_html(table: pd.DataFrame, semantics: Semantics, checks=None, worst: int = WORST, timestamp: bool = True,
                source: str = "boxes", max_invalid_share: float = 0.0, title: str | None = None) -> str:
    """The report of a canonical box table (see :func:`report`)."""
    from .report_figures import box_figure, category_figure, ecdf_figure, level_histogram

    if not len(table):
        raise InputError(f"{source}: the input holds no boxes: nothing to report")
    parsed = parse_checks(checks) if checks else []
    audit = None
    if parsed:
        audit = run_audit(table, semantics, default_checks(parsed, max_invalid_share), source=source)
        rows, semantics = audit.rows, audit.semantics
    else:
        rows = analyze_table(table, semantics)
        rows["size"] = np.repeat(size_bucket(table), len(rows) // len(table))
        rows["category"] = rows["category"].astype(object).where(rows["category"].notna(), "(none)")
    rows["_box"] = np.repeat(np.arange(len(table)), len(rows) // len(table))
    methods = list(semantics.methods)
    primary = methods[0]
    measured = rows[rows["lost_frac"].notna()]
    summary = summarize(rows)
    nav = [("semantics", "Semantics"), ("summary", "Summary")] + ([("checks", "Checks")] if audit else [])
    body = [semantics_section(semantics, source, table), summary_section(summary)]
    if audit:
        body.append(checks_section(audit))

    figures = [ecdf_figure([(m, measured[measured["method"] == m]) for m in methods],
                           "ECDF per method", "fig-methods")]
    body.append('<section id="methods"><h2>Distributions per method</h2>'
                + _figure(figures[-1], "fig-methods", "Share of boxes at or below each value (ECDF), one curve per "
                          "method; x axes end at the largest 99th percentile.") + "</section>")
    nav.append(("methods", "Distributions"))

    if semantics.pyramid is not None:
        levels = summarize(rows, by="level")
        levels = levels[levels["level"].notna()].sort_values(["method", "level"], kind="stable")
        first = measured[measured["method"] == primary]
        counts = first["level"].astype(int).value_counts().sort_index()
        counts = counts.reindex([k for k in semantics.pyramid.levels], fill_value=0)
        parts = ['<section id="levels"><h2>Per pyramid level</h2>', group_table(levels, "level", "level"),
                 _figure(level_histogram(counts, "Boxes per pyramid level", "fig-levels"), "fig-levels",
                         f"Measured boxes per level ({esc(semantics.pyramid.describe())}).")]
        for i, m in enumerate(methods):
            mine = measured[measured["method"] == m]
            groups = [(f"P{int(k)}", mine[mine["level"] == k]) for k in sorted(mine["level"].dropna().unique())]
            parts.append(_figure(ecdf_figure(groups, f"{m}: ECDF per level", f"fig-level-{i}"), f"fig-level-{i}",
                                 f"{esc(m)}: one curve per pyramid level."))
        body.append("".join(parts) + "</section>")
        nav.append(("levels", "Levels"))

    sizes = summarize(rows, by="size")
    sizes = sizes[sizes["size"].isin(SIZE_BUCKETS)]
    sizes = sizes.assign(_o=sizes["size"].map(SIZE_BUCKETS.index)).sort_values(["method", "_o"], kind="stable")
    parts = ['<section id="sizes"><h2>Per COCO size class</h2>', group_table(sizes, "size", "size"),
             '<p class="muted">small: box area below 32², medium: below 96², large: the rest (input pixels).</p>']
    for i, m in enumerate(methods):
        mine = measured[measured["method"] == m]
        groups = [(s, mine[mine["size"] == s]) for s in SIZE_BUCKETS if (mine["size"] == s).any()]
        parts.append(_figure(ecdf_figure(groups, f"{m}: ECDF per size class", f"fig-size-{i}"), f"fig-size-{i}",
                             f"{esc(m)}: one curve per COCO size class."))
    body.append("".join(parts) + "</section>")
    nav.append(("sizes", "Sizes"))

    body.append(category_section(rows, measured, methods, category_figure))
    nav.append(("categories", "Categories"))
    if worst:
        body.append(worst_section(table, measured, semantics, primary, worst, box_figure))
        nav.append(("worst", "Worst boxes"))

    stamp = f" · generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}" if timestamp else ""
    heading = esc(title or f"roiloss report: {source}")
    links = "".join(f'<li><a href="#{k}">{v}</a></li>' for k, v in nav)
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="roiloss {__version__}"><title>{heading}</title>'
            f"<style>{CSS}</style></head><body><main>"
            f"<header><h1>{heading}</h1><p class=\"muted\">{len(table)} boxes · methods {esc(', '.join(methods))}"
            f" · roiloss {__version__}{stamp}</p><nav><ul>{links}</ul></nav></header>"
            + "".join(body) + "</main></body></html>\n")


def category_section(rows, measured, methods, category_figure) -> str:
    primary = methods[0]
    cats = summarize(rows[rows["method"] == primary], by="category")
    cats = cats[cats["measured"] > 0]
    if not len(cats) or set(cats["category"].astype(str)) == {"(none)"}:
        return ('<section id="categories"><h2>Per category</h2><p class="muted">The input names no '
                "categories.</p></section>")
    cats = cats.assign(_c=cats["category"].astype(str)).sort_values(
        ["lost_frac_mean", "lost_any_share", "_c"], ascending=[False, False, True], kind="stable")
    order = list(cats["category"])
    parts = ['<section id="categories"><h2>Per category</h2>',
             f'<p class="muted">Worst first: ranked by the mean lost_frac of {esc(primary)}, then the share '
             f"losing anything; {len(order)} categories.</p>", group_table(cats.head(TABLE_ROWS), "category", "category")]
    if len(cats) > TABLE_ROWS:
        parts.append(f"<details><summary>the other {len(cats) - TABLE_ROWS} categories</summary>"
                     + group_table(cats.iloc[TABLE_ROWS:], "category", "category") + "</details>")
    top = order[:TOP_CATEGORIES]
    for i, m in enumerate(methods):
        mine = measured[(measured["method"] == m) & measured["category"].isin(top)]
        parts.append(_figure(category_figure(mine, top, f"{m}: the {len(top)} worst categories", f"fig-cat-{i}"),
                             f"fig-cat-{i}", f"{esc(m)}: box plots per category (quartiles; whiskers 5th–95th "
                             "percentile; dot: mean), worst on top."))
    return "".join(parts) + "</section>"


def worst_section(table, measured, semantics, primary, worst, box_figure) -> str:
    mine = measured[measured["method"] == primary]
    order = mine.assign(_a=-mine[RANK[0]].fillna(-np.inf), _b=-mine[RANK[1]].fillna(-np.inf)).sort_values(
        ["_a", "_b", "_box"], kind="stable")
    boxes = list(dict.fromkeys(order["_box"]))[:worst]
    parts = ['<section id="worst"><h2>Worst boxes</h2>',
             f'<p class="muted">The {len(boxes)} boxes with the largest {RANK[0]} under {esc(primary)} (ties: '
             f"{RANK[1]}), each on its grid: blue is box area never read, green cell area read outside the box, "
             "dashed orange the bins, dots the sample points.</p>"]
    for n, index in enumerate(boxes):
        one = table.iloc[[index]]
        roi = one.iloc[0]
        box = ", ".join(f"{roi[k]:g}" for k in ("x1", "y1", "x2", "y2"))
        metrics = measured[measured["_box"] == index].drop_duplicates("method")
        values = "; ".join(f"{esc(r.method)}: lost {number(r.lost_frac)}, outside {number(r.outside_weight)}"
                           for r in metrics.itertuples())
        key = f"fig-worst-{n}"
        svg = box_figure(one, semantics, f"roi {roi['roi_id']}: ({box}) px", key)
        caption = (f"roi {esc(roi['roi_id'])} · image {esc(roi['image_id'])} · category {esc(roi['category'])} · "
                   f"box ({box}) px · {values}")
        parts.append(_figure(svg, key, caption, wide=len(semantics.methods) > 1, style=f"max-width:{480 * len(metrics)}px"))
    return "".join(parts) + "</section>"


def report(boxes, *, checks=None, worst: int = WORST, timestamp: bool = True, source: str = "boxes",
           title: str | None = None, max_invalid_share: float = 0.0, preset: str | None = None, head: str = "box",
           methods=None, stride: float | None = None, pool=None, sampling_ratio: int | None = None,
           sample_placement: str | None = None, arithmetic: str | None = None, pyramid: Pyramid | None = None,
           resize: str | Resize | None = None, image_size=None, semantics: Semantics | None = None) -> str:
    """One self-contained HTML page showing where ``boxes`` lose: write it to a ``.html`` file.

    Args:
        checks: audit checks (as :func:`roiloss.audit`); the page then shows their results, the
            worst boxes of each failed one and its remedy (``invalid_share <= max_invalid_share``
            is added as in the audit).
        worst: how many of the worst boxes (largest ``lost_frac`` under the first method) to draw on
            their grids, as ``roiloss grid --plot`` does; 0 draws none.
        timestamp: write the time of generation (``False``: the same input gives the same bytes).
        source: the input's name in the page; ``title`` the page title.
        Other arguments as :func:`roiloss.analyze`.

    Returns:
        The HTML text: the resolved semantics; per-method counts and statistics; ECDFs of
        ``lost_frac``, ``gained_frac``, ``outside_weight`` and ``shift_px`` per method, per pyramid
        level (with the boxes per level), per COCO size class; per category (worst first) a table
        and box plots; the worst boxes; the checks. No script and no URL: it works offline.

    Example:
        >>> page = report([(296, 192, 496, 337)], stride=32, pool=3, image_size=(512, 512), worst=0,
        ...               timestamp=False)
        >>> page.startswith("<!DOCTYPE html>"), "http" in page, "//" in page
        (True, False, False)
    """
    from .api import semantics_of

    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize)
    return report_html(normalise(boxes, image_size=image_size), resolved, checks=checks, worst=worst,
                       timestamp=timestamp, source=source, max_invalid_share=max_invalid_share, title=title)
