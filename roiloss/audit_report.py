"""Audit reports: JSON (versioned schema), Markdown (CI step summary), JUnit XML, and the terminal view.

All reports are deterministic: the same input and settings give byte-identical files.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import msgspec
import numpy as np
import pandas as pd
from rich.table import Table

from . import __version__
from .audit import Audit, Result

SCHEMA = "roiloss.audit/1"
REPORT_FORMATS = {".json": "json", ".md": "markdown", ".xml": "junit"}


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [_clean(dict(r)) for r in frame.to_dict("records")]


def breakdowns(audit: Audit) -> list[str]:
    return ["category", "size"] + (["level"] if audit.pyramid else [])


def semantics(audit: Audit, extra: dict | None = None) -> dict:
    g = audit.geometry
    return {"methods": audit.methods, "stride": g.stride, "pool": list(g.pool), "sampling_ratio": g.sampling_ratio,
            "sample_placement": g.placement, **(extra or {})}


def result_record(result: Result) -> dict:
    c = result.check
    return _clean({"check": result.name, "text": c.text, "method": result.method, "statistic": c.statistic,
                   "metric": c.metric, "operator": "<" if c.strict else "<=", "limit": c.limit,
                   "value": result.value, "passed": result.passed, "worst": result.worst, "remedy": result.remedy})


def to_json(audit: Audit, source: str, extra: dict | None = None) -> bytes:
    document = {
        "schema": SCHEMA,
        "roiloss_version": __version__,
        "input": source,
        "semantics": semantics(audit, extra),
        "boxes": int(len(audit.table)),
        "invalid": int((audit.table["invalid"] != "").sum()),
        "passed": audit.passed,
        "checks": [result_record(r) for r in audit.results],
        "statistics": _records(audit.statistics()),
        "breakdowns": {by: _records(audit.breakdown(by)) for by in breakdowns(audit)},
    }
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def _md_value(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def to_markdown(audit: Audit, source: str, extra: dict | None = None) -> bytes:
    s = semantics(audit, extra)
    status = "passed" if audit.passed else "FAILED"
    failed = sum(not r.passed for r in audit.results)
    lines = [f"## roiloss audit: {status}", "",
             f"`{source}`: {len(audit.table)} boxes; " + ", ".join(f"{k} {v}" for k, v in s.items()), "",
             f"{len(audit.results) - failed} of {len(audit.results)} checks passed.", "",
             "| check | value | limit | result |", "|---|---:|---:|---|"]
    for r in audit.results:
        lines.append(f"| `{r.name}` | {_md_value(r.value)} | {r.check.limit:g} | {'pass' if r.passed else '**FAIL**'} |")
    for r in audit.results:
        if r.passed:
            continue
        lines += ["", f"### `{r.name}` failed", "", f"Remedy: {r.remedy}", "",
                  "| roi_id | image_id | category | box | value |", "|---|---|---|---|---:|"]
        for w in r.worst:
            box = ", ".join(_md_value(w[k], 1) for k in ("x1", "y1", "x2", "y2"))
            lines.append(f"| {w['roi_id']} | {_md_value(w['image_id'])} | {_md_value(w['category'])} | {box} | "
                         f"{_md_value(w.get('value')) if w.get('value') is not None else w.get('reason', '-')} |")
    stats = audit.statistics()
    lines += ["", "### Statistics per method", "",
              "| method | boxes | invalid | sub-cell | lost_frac p95 | gained_frac p95 | outside_weight p95 | shift_px p95 |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in stats.itertuples():
        lines.append(f"| {r.method} | {r.boxes} | {r.invalid} | {r.sub_cell} | {_md_value(r.lost_frac_p95)} | "
                     f"{_md_value(r.gained_frac_p95)} | {_md_value(r.outside_weight_p95)} | {_md_value(r.shift_px_p95, 1)} |")
    for by in reversed(breakdowns(audit)):
        table = audit.breakdown(by)
        lines += ["", f"<details><summary>By {by}</summary>", "",
                  f"| method | {by} | boxes | sub-cell | lost_frac mean | lost_frac p95 | gained_frac p95 |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in table.sort_values(["method", by], key=lambda c: c.astype(str)).itertuples():
            lines.append(f"| {r.method} | {getattr(r, by)} | {r.boxes} | {r.sub_cell} | {_md_value(r.lost_frac_mean)} | "
                         f"{_md_value(r.lost_frac_p95)} | {_md_value(r.gained_frac_p95)} |")
        lines += ["", "</details>"]
    return ("\n".join(lines) + "\n").encode()


def to_junit(audit: Audit, source: str, extra: dict | None = None) -> bytes:
    failures = sum(not r.passed for r in audit.results)
    suites = ET.Element("testsuites", name="roiloss audit", tests=str(len(audit.results)), failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=f"roiloss audit {source}", tests=str(len(audit.results)),
                          failures=str(failures), errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for key, value in semantics(audit, extra).items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        ET.SubElement(props, "property", name=key, value=text)
    for r in audit.results:
        case = ET.SubElement(suite, "testcase", classname="roiloss.audit", name=r.name, time="0")
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=f"{_md_value(r.value)} exceeds {r.check.limit:g}",
                                    type="AuditCheckFailed")
            worst = "; ".join(f"roi {w['roi_id']} ({_md_value(w.get('value')) if w.get('value') is not None else w.get('reason')})"
                              for w in r.worst)
            failure.text = f"worst boxes: {worst}\nremedy: {r.remedy}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


RENDERERS = {"json": to_json, "markdown": to_markdown, "junit": to_junit}


def checks_table(audit: Audit) -> Table:
    table = Table(title="Checks", title_justify="left", header_style="bold")
    for name, justify in (("check", "left"), ("value", "right"), ("limit", "right"), ("result", "left")):
        table.add_column(name, justify=justify)
    for r in audit.results:
        table.add_row(r.name, _md_value(r.value), f"{r.check.limit:g}", "pass" if r.passed else "[bold red]FAIL[/]")
    return table


def worst_table(result: Result) -> Table:
    meaning = {"sub_cell_share": "shortest side, px", "invalid_share": "reason"}.get(result.check.metric, result.check.metric)
    table = Table(title=f"{result.name}: worst boxes (value = {meaning})", title_justify="left", header_style="bold")
    for name in ("roi_id", "image_id", "category", "box (x1, y1, x2, y2)", "value"):
        table.add_column(name, justify="right" if name in ("roi_id", "value") else "left")
    for w in result.worst:
        box = ", ".join(_md_value(w[k], 1) for k in ("x1", "y1", "x2", "y2"))
        value = _md_value(w.get("value")) if w.get("value") is not None else str(w.get("reason", "-"))
        table.add_row(str(w["roi_id"]), _md_value(w["image_id"]), _md_value(w["category"]), box, value)
    return table
