"""Sweep: the same boxes under every combination of stride, pool size and sampling ratio.

Each setting is one :func:`roiloss.analysis.analyze_rows` pass over the whole (already read) box
table: vectorised over boxes, once per box and setting. ``sampling_ratio`` changes only the
methods that use it (``roialign``, ``roialign-legacy``); the others are analysed once per
(stride, pool) and their rows leave ``sampling_ratio`` empty (docs/semantics.md D28).

Cost (docs/semantics.md §13): the sampling points a method reads per box, summed over its
``rows x cols`` bins, averaged over the measured boxes. A RoI Align bin reads ``g x g`` points
(``g`` the sampling ratio; adaptive: ``ceil(h/rows) x ceil(w/cols)`` of each box), a RoI Warp bin
one, a RoI Pool bin every cell of its window (max pooling reads each once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .analysis import Rows, analyze_rows
from .boxes import normalise
from .checks import Check, _value, parse_checks
from .geometry import map_length, parse_pool, parse_stride
from .methods import METHODS, axes
from .pyramid import Pyramid
from .semantics import Semantics, resolve
from .transforms import Resize
from .stats import STAT_METRICS, STATISTICS, Accumulator

DEFAULT_STATISTICS = ("lost_frac_mean", "lost_frac_p95", "gained_frac_mean", "gained_frac_p95",
                      "outside_weight_mean", "outside_weight_p95", "lost_any_share")
SHARE_STATISTICS = ("lost_any_share", "sub_cell_share", "invalid_share")
STATISTIC_NAMES = tuple(f"{m}_{s}" for m in STAT_METRICS for s in STATISTICS) + SHARE_STATISTICS


def parse_statistics(statistics) -> list[str]:
    """``None`` (the defaults), a comma-separated string or a list of names -> column names.

    A name is ``METRIC_STAT`` (``lost_frac_p95``), ``STAT METRIC`` (``p95 lost_frac``) or a share
    (``lost_any_share``, ``sub_cell_share``, ``invalid_share``).
    """
    if statistics is None:
        return list(DEFAULT_STATISTICS)
    if isinstance(statistics, str):
        statistics = statistics.split(",")
    names = []
    for item in statistics:
        words = str(item).split()
        name = f"{words[1]}_{words[0]}" if len(words) == 2 and words[0] in STATISTICS else str(item).strip()
        if name not in STATISTIC_NAMES:
            raise ValueError(f"unknown statistic {item!r}; choose METRIC_STAT ({', '.join(STAT_METRICS)} x "
                             f"{', '.join(STATISTICS)}) or {', '.join(SHARE_STATISTICS)}")
        names.append(name)
    if not names:
        raise ValueError("statistics: give at least one")
    return list(dict.fromkeys(names))


def _values(values, parse, name: str) -> list:
    """``None`` -> ``[None]`` (keep the base semantics' value); ``"8,16"`` or a sequence -> parsed."""
    if values is None:
        return [None]
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    elif not isinstance(values, (list, tuple, np.ndarray)):
        values = [values]
    if not len(values):
        raise ValueError(f"{name}: give at least one value")
    return list(dict.fromkeys(parse(v) for v in values))


def _ratio(value) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"sampling_ratio must be whole numbers >= 0, got {value!r}")
    return int(text)


def points_per_box(rows: Rows, method: str) -> np.ndarray:
    """Sampling points ``method`` reads for each measured box (every input scale), summed over its bins."""
    out = []
    geometry = rows.semantics.geometry
    for mb in rows.scales:
        for stride in np.unique(mb.stride[np.isfinite(mb.stride)]):
            index = np.flatnonzero(mb.stride == stride)
            coords = [c[index] for c in (mb.x1, mb.y1, mb.x2, mb.y2)]
            maps = [map_length(side[index], stride) for side in (mb.padded_width, mb.padded_height)]
            ax = axes(method, *coords, *maps, geometry.at_stride(float(stride)))
            out.append(_axis_points(ax.y) * _axis_points(ax.x))
    return np.concatenate(out) if out else np.zeros(0)


def _axis_points(axis) -> np.ndarray:
    if hasattr(axis, "per_bin"):  # bilinear samples: bins x samples per bin
        return (axis.per_bin * axis.bins).astype(float)
    return np.maximum(axis.end - axis.start, 0).sum(axis=1).astype(float)  # window cells


def _setting_checks(checks: list[Check], method: str, table: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """The checks a setting of ``method`` fails (a check naming another method is failed: it limits the
    candidates to its method)."""
    failed = []
    for check in checks:
        if check.method is not None and check.method != method:
            failed.append(check.text)
            continue
        target = None if check.metric in ("sub_cell_share", "invalid_share") else method
        if not check.passes(_value(check, target, table, frame)):
            failed.append(check.text)
    return failed


def sweep_table(table: pd.DataFrame, semantics: Semantics, strides=None, pools=None, ratios=None,
                statistics=None, checks=()) -> pd.DataFrame:
    """The sweep of a canonical box table (see :func:`roiloss.sweep`)."""
    statistics = parse_statistics(statistics)
    checks = parse_checks(checks) if not (isinstance(checks, list) and all(isinstance(c, Check) for c in checks)) \
        else checks
    strides = _values(strides, lambda v: parse_stride(v, "stride"), "stride")
    pools = _values(pools, parse_pool, "pool")
    ratios = _values(ratios, _ratio, "sampling_ratio")
    methods = list(dict.fromkeys(list(semantics.methods) + [c.method for c in checks if c.method]))
    sampled = [m for m in methods if METHODS[m].sampled]
    fixed = [m for m in methods if not METHODS[m].sampled]
    records: dict[tuple, dict] = {}
    for stride in strides:
        base = semantics if stride is None else semantics.with_geometry(stride=stride)
        for pool in pools:
            at_pool = base if pool is None else base.with_geometry(pool=pool)
            runs = [(fixed, at_pool, None)] if fixed else []
            for ratio in ratios:
                if sampled:
                    runs.append((sampled, at_pool if ratio is None else at_pool.with_geometry(sampling_ratio=ratio),
                                 ratio))
            for names, setting, ratio in runs:
                rows = analyze_rows(table, setting.with_methods(names))
                accumulator = Accumulator()
                accumulator.add(rows)
                summary = accumulator.summary().set_index("method")
                frame = rows.frame() if checks else None
                for method in names:
                    records[(method, stride, pool, ratio)] = _record(method, setting, rows, summary.loc[method],
                                                                     statistics, checks, table, frame)
    order = [(m, s, p, r) for m in methods for s in strides for p in pools
             for r in (ratios if METHODS[m].sampled else [None])]
    out = pd.DataFrame([records[key] for key in order])
    out["sampling_ratio"] = pd.array(out["sampling_ratio"], dtype="Int64")
    for name in ("boxes", "measured"):
        out[name] = out[name].astype(np.int64)
    if checks:
        out["cheapest"] = False
        passing = out[out["passed"]]
        if len(passing):
            # cheapest first; at equal cost the coarser feature map (cheaper backbone), then table order
            ranked = passing.assign(_s=-passing["stride"].fillna(0.0), _i=np.arange(len(passing)))
            best = ranked.sort_values(["cost", "_s", "_i"], kind="stable").index[0]
            out.loc[best, "cheapest"] = True
    return out


def _record(method, setting: Semantics, rows: Rows, summary: pd.Series, statistics, checks, table, frame) -> dict:
    g = setting.geometry
    record = {"method": method, "stride": np.nan if setting.pyramid else g.stride}
    if setting.pyramid is not None:
        record["levels"] = levels_text(setting.pyramid)
    record.update(pool=f"{g.pool[0]}x{g.pool[1]}",
                  sampling_ratio=g.sampling_ratio if METHODS[method].sampled else None,
                  boxes=int(summary["boxes"]), measured=int(summary["measured"]))
    points = points_per_box(rows, method)
    record["cost"] = float(points.mean()) if len(points) else np.nan
    for name in statistics:
        if name == "sub_cell_share":
            record[name] = float(summary["sub_cell"] / summary["measured"]) if summary["measured"] else np.nan
        elif name == "invalid_share":
            record[name] = float(summary["invalid"] / summary["boxes"]) if summary["boxes"] else np.nan
        else:
            record[name] = float(summary[name])
    if checks:
        failed = _setting_checks(checks, method, table, frame)
        record["passed"] = not failed
        record["failed"] = "; ".join(failed)
    return record


def cheapest(frame: pd.DataFrame) -> pd.Series | None:
    """The cheapest passing setting of a sweep table (``None`` without checks or when none passes)."""
    if "cheapest" not in frame.columns or not frame["cheapest"].any():
        return None
    return frame[frame["cheapest"]].iloc[0]


def levels_text(pyramid: Pyramid) -> str:
    """``P2-P5`` (contiguous levels) or ``P2,P4``."""
    levels = sorted(pyramid.levels)
    if levels == list(range(levels[0], levels[-1] + 1)):
        return f"P{levels[0]}-P{levels[-1]}"
    return ",".join(f"P{level}" for level in levels)


def describe_sweep(semantics: Semantics, stride=None, pool=None, sampling_ratio=None) -> str:
    """The base semantics in one line with the swept values in place of the fixed ones."""
    strides = _values(stride, lambda v: parse_stride(v, "stride"), "stride")
    pools = _values(pool, parse_pool, "pool")
    ratios = _values(sampling_ratio, _ratio, "sampling_ratio")
    base = semantics if strides[0] is None else semantics.with_geometry(stride=strides[0])
    parts = base.describe().split(" | ")
    for i, part in enumerate(parts):
        if part.startswith("stride ") and strides[0] is not None:
            parts[i] = "stride " + ",".join(f"{s:g}" for s in strides)
        elif part.startswith("pool ") and pools[0] is not None:
            parts[i] = "pool " + ",".join(f"{r}x{c}" for r, c in pools)
        elif part.startswith("sampling ratio ") and ratios[0] is not None:
            parts[i] = "sampling ratio " + ",".join(map(str, ratios)) + (" (0 = adaptive)" if 0 in ratios else "")
    return " | ".join(parts)


def describe_setting(row: pd.Series) -> str:
    """``roialign stride 16 pool 7x7 sampling ratio 2`` (one line, for people)."""
    parts = [str(row["method"])]
    parts.append(f"stride {row['stride']:g}" if pd.notna(row["stride"]) else str(row.get("levels", "pyramid")))
    parts.append(f"pool {row['pool']}")
    if pd.notna(row["sampling_ratio"]):
        parts.append(f"sampling ratio {int(row['sampling_ratio']) or 'adaptive (0)'}")
    return " ".join(parts)



def sweep(boxes, stride=None, pool=None, sampling_ratio=None, *, methods=None, preset: str | None = None,
          head: str = "box", statistics=None, check=(), sample_placement: str | None = None,
          arithmetic: str | None = None, pyramid: Pyramid | None = None, resize: str | Resize | None = None,
          image_size=None, semantics: Semantics | None = None) -> pd.DataFrame:
    """Statistics of ``boxes`` under every combination of stride, pool size and sampling ratio.

    Args:
        boxes: as :func:`roiloss.analyze` (read a file once with :func:`roiloss.read_boxes`).
        stride: strides to try (``[8, 16, 32]`` or ``"8,16,32"``); ``None`` keeps the resolved one
            (a preset's pyramid included). A stride means one feature map, as in :func:`roiloss.resolve`.
        pool: pool sizes (``[5, 7, "14x7"]`` or ``"5,7,14"``); ``None`` keeps the resolved one.
        sampling_ratio: sampling ratios (``[0, 2]``, 0 = adaptive); only methods that sample use it.
        methods, preset, head, sample_placement, arithmetic, pyramid, resize, image_size: the base
            semantics, as :func:`roiloss.analyze`; or ``semantics`` (from :func:`roiloss.resolve`).
        statistics: columns to compute: ``METRIC_STAT`` (``lost_frac_p95``; metrics ``lost_frac,
            gained_frac, outside_weight, shift_px``, statistics ``mean, median, p95, max``) or
            ``lost_any_share``, ``sub_cell_share``, ``invalid_share``. Default: mean and p95 of
            lost_frac, gained_frac and outside_weight, and lost_any_share.
        check: audit checks (``"roialign p95 lost_frac <= 0.05"``, a list or ``;``-separated, as
            :func:`roiloss.audit`); a check naming a method only passes settings of that method.

    Returns:
        One row per setting, method-major then in the order given: ``method, stride`` (NaN with a
        pyramid, then ``levels``), ``pool`` (``"7x7"``), ``sampling_ratio`` (empty for methods that
        do not sample), ``boxes, measured, cost`` (mean sampling points per box: docs/semantics.md
        §13), the statistics, and with checks ``passed, failed`` (the failed checks, ``;``-joined)
        and ``cheapest`` (true on the one passing setting of least cost; ties: larger stride, then
        table order).

    Example:
        >>> table = sweep([(0, 0, 100, 60)], stride=[16, 32], pool=[2, 7], sampling_ratio=[2], methods="roialign",
        ...               image_size=(128, 128), statistics="lost_frac_max", check="max lost_frac <= 0")
        >>> table.round(3)[["stride", "pool", "cost", "lost_frac_max", "passed", "cheapest"]].values.tolist()
        [[16.0, '2x2', 16.0, 0.04, False, False], [16.0, '7x7', 196.0, 0.0, True, False], [32.0, '2x2', 16.0, 0.0, True, True], [32.0, '7x7', 196.0, 0.0, True, False]]
    """
    if semantics is not None:
        from .api import semantics_of
        base = semantics_of(semantics, preset=preset, methods=methods, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize)
    else:
        base = resolve(preset=preset, head=head, methods=methods, sample_placement=sample_placement,
                       arithmetic=arithmetic, pyramid=pyramid, resize=resize)
    return sweep_table(normalise(boxes, image_size=image_size), base, stride, pool, sampling_ratio, statistics,
                       check or ())
