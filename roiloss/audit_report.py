"""Audit reports: JSON (versioned schema), Markdown (CI step summary) and JUnit XML.

Each renderer takes a :class:`roiloss.checks.Audit` (whose ``to_json()``, ``to_markdown()`` and
``to_junit()`` call them).

All reports are deterministic: the same input and settings give byte-identical files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import msgspec
import pandas as pd

from . import __version__
from .values import number, plain

SCHEMA = "roiloss.audit/2"
REPORT_FORMATS = {".json": "json", ".md": "markdown", ".xml": "junit"}


def _records(frame: pd.DataFrame) -> list[dict]:
    return [plain(dict(r)) for r in frame.to_dict("records")]


def breakdowns(audit) -> list[str]:
    return ["category", "size"] + (["level"] if audit.pyramid else [])


def _md(value, digits: int = 4) -> str:
    """A Markdown table cell: numbers formatted, ``|``, ``<``, ``>`` and ``&`` escaped."""
    text = number(value, digits)
    return text.replace("&", "&amp;").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def result_record(result) -> dict:
    c = result.check
    return plain({"check": result.name, "text": c.text, "method": result.method, "statistic": c.statistic,
                   "metric": c.metric, "operator": "<" if c.strict else "<=", "limit": c.limit,
                   "value": result.value, "passed": result.passed, "worst": result.worst, "remedy": result.remedy})


def to_json(audit) -> bytes:
    """The JSON report, schema ``roiloss.audit/2``."""
    document = {
        "schema": SCHEMA,
        "roiloss_version": __version__,
        "input": audit.source,
        "semantics": plain(audit.semantics.to_dict()),
        "boxes": int(len(audit.table)),
        "invalid": int((audit.table["invalid"] != "").sum()),
        "passed": audit.passed,
        "checks": [result_record(r) for r in audit.results],
        "statistics": _records(audit.statistics()),
        "breakdowns": {by: _records(audit.breakdown(by)) for by in breakdowns(audit)},
    }
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def to_markdown(audit) -> bytes:
    """The Markdown report (a CI step summary); every user string escaped."""
    status = "passed" if audit.passed else "FAILED"
    failed = sum(not r.passed for r in audit.results)
    lines = [f"## roiloss audit: {status}", "",
             f"{_md(audit.source)}: {len(audit.table)} boxes; {_md(audit.semantics.describe())}", "",
             f"{len(audit.results) - failed} of {len(audit.results)} checks passed.", "",
             "| check | value | limit | result |", "|---|---:|---:|---|"]
    for r in audit.results:
        lines.append(f"| {_md(r.name)} | {_md(r.value)} | {r.check.limit:g} | {'pass' if r.passed else '**FAIL**'} |")
    for r in audit.results:
        if r.passed:
            continue
        lines += ["", f"### {_md(r.name)} failed", "", f"Remedy: {_md(r.remedy)}", "",
                  "| roi_id | image_id | category | box | value |", "|---|---|---|---|---:|"]
        for w in r.worst:
            box = ", ".join(number(w[k], 1) for k in ("x1", "y1", "x2", "y2"))
            value = _md(w.get("value")) if w.get("value") is not None else _md(w.get("reason"))
            lines.append(f"| {_md(w['roi_id'])} | {_md(w['image_id'])} | {_md(w['category'])} | {box} | {value} |")
    stats = audit.statistics()
    lines += ["", "### Statistics per method", "",
              "| method | boxes | invalid | sub-cell | lost_frac p95 | gained_frac p95 | outside_weight p95 | shift_px p95 |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in stats.itertuples():
        lines.append(f"| {r.method} | {r.boxes} | {r.invalid} | {r.sub_cell} | {_md(r.lost_frac_p95)} | "
                     f"{_md(r.gained_frac_p95)} | {_md(r.outside_weight_p95)} | {_md(r.shift_px_p95, 1)} |")
    for by in reversed(breakdowns(audit)):
        table = audit.breakdown(by)
        lines += ["", f"<details><summary>By {by}</summary>", "",
                  f"| method | {by} | boxes | sub-cell | lost_frac mean | lost_frac p95 | gained_frac p95 |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in table.sort_values(["method", by], key=lambda c: c.astype(str)).itertuples():
            lines.append(f"| {r.method} | {_md(getattr(r, by))} | {r.boxes} | {r.sub_cell} | {_md(r.lost_frac_mean)} | "
                         f"{_md(r.lost_frac_p95)} | {_md(r.gained_frac_p95)} |")
        lines += ["", "</details>"]
    return ("\n".join(lines) + "\n").encode()


def to_junit(audit) -> bytes:
    """The JUnit XML report: one test case per check."""
    source = audit.source
    failures = sum(not r.passed for r in audit.results)
    suites = ET.Element("testsuites", name="roiloss audit", tests=str(len(audit.results)), failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=f"roiloss audit {source}", tests=str(len(audit.results)),
                          failures=str(failures), errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for key, value in audit.semantics.to_dict().items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        ET.SubElement(props, "property", name=key, value=text)
    for r in audit.results:
        case = ET.SubElement(suite, "testcase", classname="roiloss.audit", name=r.name, time="0")
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=f"{number(r.value, 4)} exceeds {r.check.limit:g}",
                                    type="AuditCheckFailed")
            worst = "; ".join(f"roi {w['roi_id']} ({number(w.get('value'), 4) if w.get('value') is not None else w.get('reason')})"
                              for w in r.worst)
            failure.text = f"worst boxes: {worst}\nremedy: {r.remedy}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


RENDERERS = {"json": to_json, "markdown": to_markdown, "junit": to_junit}
