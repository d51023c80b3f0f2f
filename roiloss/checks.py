"""Dataset audit: checks on per-method summary statistics, with the worst boxes and a remedy.

A check reads ``[METHOD] [STATISTIC] METRIC <= LIMIT``:

* ``roialign p95 lost_frac <= 0.05`` - the 95th percentile of RoI Align's lost area;
* ``mean gained_frac <= 1`` - every analysed method's mean gained area (one result per method);
* ``sub_cell_share <= 0.01`` - boxes narrower or shorter than one cell, as a share of valid boxes;
* ``invalid_share <= 0`` - invalid boxes as a share of all boxes (always checked; default limit 0).

``STATISTIC`` is ``mean``, ``median``, ``p95`` or ``max`` (default ``max``). Several checks can be
given in one string separated by ``;``. ``<`` is accepted as well as ``<=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .analysis import analyze_table
from .errors import InputError
from .methods import METHODS
from .semantics import Semantics
from .stats import STAT_METRICS, STATISTICS, describe, summarize
from .values import plain_record

SHARES = ("sub_cell_share", "invalid_share", "lost_any_share")
SIZE_BUCKETS = ("small", "medium", "large")  # COCO: area < 32^2, < 96^2, larger
WORST = 5
# the operators detectors are trained with: a remedy proposes a change of model, not of runtime
REMEDY_METHODS = ("roipool", "roiwarp", "roialign", "roialign-legacy")


class CheckError(ValueError):
    pass


@dataclass(frozen=True)
class Check:
    text: str
    metric: str
    limit: float
    method: str | None = None
    statistic: str = "max"
    strict: bool = False  # "<" rather than "<="

    def passes(self, value: float) -> bool:
        if value is None or np.isnan(value):
            return True  # nothing measured, nothing over the limit
        return value < self.limit if self.strict else value <= self.limit


def parse_checks(texts) -> list[Check]:
    """Check strings (each possibly ``;``-separated) -> :class:`Check` objects."""
    if isinstance(texts, str):
        texts = [texts]
    checks = []
    for text in texts:
        for part in str(text).split(";"):
            if part.strip():
                checks.append(parse_check(part.strip()))
    return checks


def parse_check(text: str) -> Check:
    match = re.fullmatch(r"(?P<left>[^<]+?)\s*(?P<op><=|<)\s*(?P<limit>\S+)", text)
    if not match:
        raise CheckError(f"check {text!r}: expected '[METHOD] [STATISTIC] METRIC <= LIMIT', "
                         "e.g. 'roialign p95 lost_frac <= 0.05'")
    words = match["left"].split()
    metric = words.pop()
    method = statistic = None
    for word in words:
        if word in STATISTICS and statistic is None:
            statistic = word
        elif (word in METHODS or word == "all") and method is None:
            method = None if word == "all" else word
        else:
            raise CheckError(f"check {text!r}: {word!r} is neither a method ({', '.join(METHODS)}) "
                             f"nor a statistic ({', '.join(STATISTICS)})")
    if metric not in STAT_METRICS and metric not in SHARES:
        raise CheckError(f"check {text!r}: unknown metric {metric!r}; choose from {', '.join(STAT_METRICS + list(SHARES))}")
    if metric in ("sub_cell_share", "invalid_share") and (statistic or method):
        raise CheckError(f"check {text!r}: {metric} is a share of boxes; it takes no method or statistic")
    try:
        limit = float(match["limit"])
    except ValueError:
        raise CheckError(f"check {text!r}: the limit {match['limit']!r} is not a number") from None
    return Check(text=text, metric=metric, limit=limit, method=method, statistic=statistic or "max",
                 strict=match["op"] == "<")


@dataclass
class Result:
    check: Check
    method: str | None
    value: float
    passed: bool
    worst: list[dict] = field(default_factory=list)
    remedy: str = ""

    @property
    def name(self) -> str:
        if self.check.metric in ("sub_cell_share", "invalid_share"):
            return f"{self.check.metric} {'<' if self.check.strict else '<='} {self.check.limit:g}"
        stat = "" if self.check.metric == "lost_any_share" else f"{self.check.statistic} "
        return f"{self.method} {stat}{self.check.metric} {'<' if self.check.strict else '<='} {self.check.limit:g}"


@dataclass
class Audit:
    """Everything an audit found: the boxes, the rows, the statistics and the results of the checks.

    ``passed`` is true when every check passes; :meth:`to_json`, :meth:`to_markdown` and
    :meth:`to_junit` render the reports the command line writes (byte for byte).
    """

    table: pd.DataFrame
    rows: pd.DataFrame
    semantics: Semantics
    results: list[Result]
    source: str = "boxes"

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def methods(self) -> list[str]:
        return list(self.semantics.methods)

    @property
    def pyramid(self) -> bool:
        return self.semantics.pyramid is not None

    def statistics(self) -> pd.DataFrame:
        return summarize(self.rows)

    def breakdown(self, by: str) -> pd.DataFrame:
        return summarize(self.rows, by=by)

    def to_json(self) -> bytes:
        from .audit_report import to_json
        return to_json(self)

    def to_markdown(self) -> bytes:
        from .audit_report import to_markdown
        return to_markdown(self)

    def to_junit(self) -> bytes:
        from .audit_report import to_junit
        return to_junit(self)


def size_bucket(table: pd.DataFrame) -> np.ndarray:
    area = ((table["x2"] - table["x1"]) * (table["y2"] - table["y1"])).to_numpy(dtype=float)
    bucket = np.where(area < 32 ** 2, "small", np.where(area < 96 ** 2, "medium", "large")).astype(object)
    return np.where(np.isnan(area), "invalid", bucket)


def default_checks(checks, max_invalid_share: float = 0.0) -> list[Check]:
    """Parsed checks plus ``invalid_share <= max_invalid_share`` unless one is given."""
    parsed = parse_checks(checks) if not (isinstance(checks, list) and all(isinstance(c, Check) for c in checks)) else checks
    if not 0 <= max_invalid_share <= 1:
        raise CheckError(f"max_invalid_share must be a share between 0 and 1, got {max_invalid_share!r}")
    if not any(c.metric == "invalid_share" for c in parsed):
        parsed = parsed + parse_checks([f"invalid_share <= {max_invalid_share!r}"])
    return parsed


def run_audit(table: pd.DataFrame, semantics: Semantics, checks: list[Check], source: str = "boxes") -> Audit:
    """Analyse a canonical box table and evaluate the checks (methods named by checks are added).

    Raises :class:`~roiloss.errors.InputError` when there is no box: an empty input passes no gate.
    """
    if not len(table):
        raise InputError(f"{source}: the input holds no boxes: nothing to audit")
    semantics = semantics.with_methods(list(dict.fromkeys(list(semantics.methods) + [c.method for c in checks if c.method])))
    rows = analyze_table(table, semantics)
    per_box = len(rows) // len(table) if len(table) else 1
    rows["size"] = np.repeat(size_bucket(table), per_box)
    rows["category"] = rows["category"].astype(object).where(rows["category"].notna(), "(none)")
    results = []
    for check in checks:
        targets = [None] if check.metric in ("sub_cell_share", "invalid_share") else [check.method] if check.method else list(semantics.methods)
        for method in targets:
            results.append(_evaluate(check, method, table, rows, semantics))
    return Audit(table=table, rows=rows, semantics=semantics, results=results, source=source)


def _value(check: Check, method: str | None, table: pd.DataFrame, rows: pd.DataFrame) -> float:
    invalid = table["invalid"].to_numpy(dtype=object) != ""
    if check.metric == "invalid_share":
        return float(invalid.mean()) if len(table) else 0.0
    if check.metric == "sub_cell_share":  # from the flags: each box at its own (level's) stride
        first = rows[rows["method"] == rows["method"].iat[0]] if len(rows) else rows
        flags = first["flags"].astype(str)
        measured = ~flags.str.startswith("invalid:")
        if not measured.any():
            return 0.0
        return float(flags[measured].str.contains("sub-cell", regex=False).mean())
    mine = rows[rows["method"] == method]
    values = mine[check.metric if check.metric != "lost_any_share" else "lost_frac"].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if check.metric == "lost_any_share":
        return float((values > 0).mean()) if len(values) else np.nan
    return describe(values)[check.statistic]


def _evaluate(check, method, table, rows, semantics) -> Result:
    value = _value(check, method, table, rows)
    result = Result(check=check, method=method, value=value, passed=check.passes(value))
    if not result.passed:
        result.worst = _worst(check, method, table, rows)
        result.remedy = _remedy(check, method, table, semantics)
    return result


def _worst(check, method, table, rows) -> list[dict]:
    keep = ["roi_id", "image_id", "category", "x1", "y1", "x2", "y2"]
    if check.metric == "invalid_share":
        bad = table[table["invalid"] != ""].head(WORST)
        return [{**plain_record(r[keep]), "value": None, "reason": r["invalid"]} for _, r in bad.iterrows()]
    if check.metric == "sub_cell_share":
        first = rows[(rows["method"] == rows["method"].iat[0]) & rows["flags"].astype(str).str.contains("sub-cell")]
        side = np.minimum(first.x2 - first.x1, first.y2 - first.y1).to_numpy(dtype=float)
        order = np.argsort(side, kind="stable")[:WORST]
        return [{**plain_record(first.iloc[i][keep]), "value": float(side[i])} for i in order]
    metric = "lost_frac" if check.metric == "lost_any_share" else check.metric
    mine = rows[(rows["method"] == method) & rows[metric].notna()]
    order = np.argsort(-mine[metric].to_numpy(dtype=float), kind="stable")[:WORST]
    return [{**plain_record(mine.iloc[i][keep]), "value": float(mine.iloc[i][metric])} for i in order]


def _remedy(check, method, table, semantics: Semantics) -> str:
    if check.metric == "invalid_share":
        count = int((table["invalid"] != "").sum())
        return f"fix or remove the {count} invalid box(es) (flags invalid:<reason>; strict mode names each place)"
    valid = table[table["invalid"] == ""]
    geometry, pyramid = semantics.geometry, semantics.pyramid is not None
    if check.metric == "sub_cell_share":
        if pyramid or semantics.resize.active:
            return "pool small boxes from a finer level (add a lower level or lower the mapper's canonical scale)"
        side = np.minimum(valid.x2 - valid.x1, valid.y2 - valid.y1).to_numpy(dtype=float)
        for stride in _smaller_strides(geometry.stride):
            if check.passes(float((side < stride).mean())):
                return f"stride {stride:g} would pass (sub-cell share {(side < stride).mean():.4f})"
        return "no stride down to 1 px passes: the boxes themselves are too small"

    def passes_with(candidate: Semantics, method_: str) -> bool:
        candidate = candidate.with_methods([method_])
        return check.passes(_value(check, method_, valid, analyze_table(valid, candidate)))

    advice = []
    passing = [m for m in REMEDY_METHODS if m != method and passes_with(semantics, m)]
    if passing:
        advice.append(f"method {', '.join(passing)} would pass")
    for stride in [] if pyramid else _smaller_strides(geometry.stride):
        if passes_with(semantics.with_geometry(stride=stride), method):
            advice.append(f"stride {stride:g} (largest that passes)")
            break
    rows_, cols_ = geometry.pool
    for size in list(range(max(rows_, cols_) + 1, 2 * max(rows_, cols_) + 1)) + [3 * max(rows_, cols_)]:
        if passes_with(semantics.with_geometry(pool=(size, size)), method):
            advice.append(f"pool {size}x{size} (smallest that passes)")
            break
    if METHODS[method].sampled and geometry.sampling_ratio != 0:
        if passes_with(semantics.with_geometry(sampling_ratio=0), method):
            advice.append("sampling ratio 0 (adaptive)")
    return "; ".join(advice) if advice else "no single change of method, stride, pool or sampling ratio passes"


def _smaller_strides(stride: float) -> list[float]:
    out, s = [], stride / 2
    while s >= 1:
        out.append(s)
        s /= 2
    return out
