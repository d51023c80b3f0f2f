"""``roiloss compare``: what one pooling setup reads that another does not, box by box
(docs/semantics.md §14) - a parity gate for exported models.

A side is a SPEC string (``preset:torchvision``, ``method:roialign-openvino,sampling_ratio=0,stride=16``,
``config:model.yaml``; a bare preset or method name works too) or a resolved
:class:`~roiloss.semantics.Semantics`. For every valid box both sides place it in their model frame
and on their level, then the 2-D coefficients (what each bin reads from each cell, §2.1) are
compared: a cell is identified by its level's stride, row and column, so a box pooled from
different levels shares no cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .analysis import analyze_table, model_boxes
from .boxes import normalise
from .geometry import map_length
from .methods import METHODS, axes
from .presets import PRESETS
from .sampling_grid import cross_entries
from .semantics import Semantics, resolve

CHUNK = 4096  # boxes per pass: bounds the long-form coefficient arrays
SIZE_CLASSES = ("small", "medium", "large")  # COCO: area below 32^2, below 96^2, else (input pixels)
# SPEC keys -> roiloss.resolve arguments
KEYS = {"method": "methods", "methods": "methods", "sampling_ratio": "sampling_ratio", "stride": "stride",
        "pool": "pool", "strides": "strides", "levels": "levels", "mapper": "level_mapper",
        "level_mapper": "level_mapper", "canonical_scale": "canonical_scale", "canonical_level": "canonical_level",
        "resize": "resize", "min_size": "min_size", "max_size": "max_size", "pad_divisor": "pad_divisor",
        "arithmetic": "arithmetic", "placement": "sample_placement", "sample_placement": "sample_placement",
        "head": "head"}
NUMBERS = {"sampling_ratio": int, "stride": float, "canonical_scale": float, "canonical_level": int,
           "max_size": float, "pad_divisor": int}


class SpecError(ValueError):
    """A SPEC that does not parse or resolve; the message names the side and the problem."""


def parse_spec(spec, side: str = "spec") -> Semantics:
    """``preset:NAME[,KEY=VALUE...]``, ``method:NAME[,KEY=VALUE...]``, ``config:FILE[,KEY=VALUE...]``,
    a bare preset or method name, or a :class:`Semantics` -> one-method :class:`Semantics`.

    Keys: ``method, sampling_ratio, stride, pool, strides, levels, mapper, canonical_scale,
    canonical_level, resize, min_size, max_size, pad_divisor, arithmetic, placement, head``.

    Example:
        >>> parse_spec("method:roialign-openvino,sampling_ratio=0,stride=16").describe()[:46]
        'methods roialign-openvino | stride 16 | pool 7'
    """
    if isinstance(spec, Semantics):
        semantics = spec
    elif not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"{side}: a SPEC is preset:NAME, method:NAME or config:FILE with ,KEY=VALUE options; "
                        f"got {spec!r}")
    else:
        head, *options = [part.strip() for part in spec.strip().split(",")]
        kind, _, name = head.partition(":")
        if not name:  # a bare name
            kind, name = ("preset" if head in PRESETS else "method" if head in METHODS else ""), head
        if kind not in ("preset", "method", "config"):
            raise SpecError(f"{side}: {head!r} is not preset:NAME, method:NAME or config:FILE (presets: "
                            f"{', '.join(PRESETS)}; methods: {', '.join(METHODS)})")
        args = {"preset": name} if kind == "preset" else {"model_config": name} if kind == "config" else {"methods": name}
        for option in options:
            key, eq, value = option.partition("=")
            key = key.strip().replace("-", "_")
            if not eq or key not in KEYS:
                raise SpecError(f"{side}: unknown option {option!r} in {spec!r}; options are KEY=VALUE with KEY "
                                f"one of {', '.join(sorted(set(KEYS) - {'methods', 'level_mapper', 'sample_placement'}))}")
            try:
                args[KEYS[key]] = NUMBERS[key](value) if key in NUMBERS else value.strip()
            except ValueError:
                raise SpecError(f"{side}: {key} must be a number, got {value!r}") from None
        try:
            semantics = resolve(**args)
        except (ValueError, TypeError) as error:
            raise SpecError(f"{side}: {error}") from None
    if len(semantics.methods) != 1:
        raise SpecError(f"{side}: compare needs one method per side, got {', '.join(semantics.methods)}")
    if semantics.resize.active and len(semantics.resize.scales) > 1:
        raise SpecError(f"{side}: compare needs one input scale, got min_size {semantics.resize.scales}")
    return semantics


def _coefficients(table: pd.DataFrame, semantics: Semantics):
    """Long-form 2-D coefficients of every valid box, with the stride of its map; and the boxes."""
    boxes = model_boxes(table, semantics)
    parts = []
    for stride in np.unique(boxes.stride[np.isfinite(boxes.stride)]):
        rows = np.flatnonzero(boxes.stride == stride)
        coords = [c[rows] for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2)]
        maps = [map_length(side[rows], stride) for side in (boxes.padded_width, boxes.padded_height)]
        ax = axes(semantics.methods[0], *coords, *maps, semantics.geometry.at_stride(float(stride)))
        cells = cross_entries(ax.y.entries(), ax.x.entries(), len(rows))
        cells["box"] = rows[cells["box"]]
        cells["stride"] = np.full(len(cells["box"]), float(stride))
        parts.append(cells)
    keys = ("box", "stride", "bin_y", "bin_x", "cell_y", "cell_x", "weight")
    merged = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in keys}
    return merged, boxes


def _groups(key_columns):
    """Sort rows by the key columns; return the order and the start of each run of equal keys."""
    order = np.lexsort(key_columns[::-1])
    keys = np.stack([k[order] for k in key_columns])
    first = np.ones(keys.shape[1], dtype=bool)
    first[1:] = np.any(keys[:, 1:] != keys[:, :-1], axis=0)
    return order, first


def coefficient_differences(ca: dict, cb: dict, n_boxes: int) -> dict[str, np.ndarray]:
    """Per box: the largest |weight_a - weight_b| of any cell in any bin (a cell a side does not read
    weighs 0 there), and the cells (stride, row, column) read in some bin by one side only."""
    side = np.concatenate([np.zeros(len(ca["box"]), np.int8), np.ones(len(cb["box"]), np.int8)])
    cols = {k: np.concatenate([ca[k], cb[k]]) for k in ("box", "stride", "bin_y", "bin_x", "cell_y", "cell_x", "weight")}
    signed = np.where(side == 0, cols["weight"], -cols["weight"])
    order, first = _groups([cols[k] for k in ("box", "stride", "bin_y", "bin_x", "cell_y", "cell_x")])
    starts = np.flatnonzero(first)
    diff = np.abs(np.add.reduceat(signed[order], starts)) if len(starts) else np.zeros(0)
    max_diff = np.zeros(n_boxes)
    np.maximum.at(max_diff, cols["box"][order][starts], diff)
    # cells read (in any bin) by each side
    order, first = _groups([cols[k] for k in ("box", "stride", "cell_y", "cell_x")] + [side])
    b, s = cols["box"][order][first], side[order][first]
    cell_order, cell_first = _groups([cols[k][order][first] for k in ("box", "stride", "cell_y", "cell_x")])
    run = np.diff(np.append(np.flatnonzero(cell_first), len(cell_first)))  # sides reading the cell: 1 or 2
    lone = np.repeat(run == 1, run)
    only_a = np.bincount(b[cell_order][lone & (s[cell_order] == 0)], minlength=n_boxes)
    only_b = np.bincount(b[cell_order][lone & (s[cell_order] == 1)], minlength=n_boxes)
    both = np.bincount(b[cell_order][cell_first & ~lone], minlength=n_boxes)
    return {"max_weight_diff": max_diff, "cells_only_a": only_a, "cells_only_b": only_b, "cells_both": both}


@dataclass
class Comparison:
    """The result of :func:`compare`: ``rows`` (one per box), the two sides, ``tol``."""

    rows: pd.DataFrame
    a: Semantics
    b: Semantics
    tol: float
    spec_a: str = ""
    spec_b: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def compared(self) -> pd.DataFrame:
        return self.rows[self.rows["max_weight_diff"].notna()]

    @property
    def passed(self) -> bool:
        """No compared box reads a cell weight that differs by more than ``tol``."""
        return not bool(self.compared["differs"].any())

    def summary(self) -> dict:
        """Counts, the share of boxes beyond ``tol``, the largest difference, level moves."""
        c = self.compared
        out = {"boxes": int(len(self.rows)), "compared": int(len(c)), "invalid": int(len(self.rows) - len(c)),
               "tol": self.tol, "differing": int(c["differs"].sum()),
               "differing_share": float(c["differs"].mean()) if len(c) else 0.0,
               "max_weight_diff": float(c["max_weight_diff"].max()) if len(c) else 0.0,
               "mean_max_weight_diff": float(c["max_weight_diff"].mean()) if len(c) else 0.0,
               "other_level": int((c["level_a"] != c["level_b"]).sum()) if "level_a" in c else 0,
               "passed": self.passed}
        for name in ("d_lost_frac", "d_gained_frac", "d_outside_weight"):
            out[f"mean_{name}"] = float(c[name].mean()) if len(c) else 0.0
        return out

    def breakdown(self, by: str) -> pd.DataFrame:
        """Per ``size`` class (COCO areas) or ``level`` (side a's): boxes, share beyond tol, mean and
        largest difference, boxes whose level differs."""
        c = self.compared
        key = "size" if by == "size" else "level_a"
        if key not in c or not len(c):
            return pd.DataFrame(columns=[by, "boxes", "differing", "mean_diff", "max_diff", "other_level"])
        moved = (c["level_a"] != c["level_b"]).astype(int) if "level_a" in c else pd.Series(0, index=c.index)
        grouped = c.assign(moved=moved).groupby(key, observed=True, sort=True)
        out = pd.DataFrame({"boxes": grouped.size(), "differing": grouped["differs"].mean(),
                            "mean_diff": grouped["max_weight_diff"].mean(), "max_diff": grouped["max_weight_diff"].max(),
                            "other_level": grouped["moved"].sum()})
        return out.reset_index().rename(columns={key: by})

    def worst(self, n: int = 5) -> pd.DataFrame:
        return self.compared.sort_values("max_weight_diff", ascending=False, kind="stable").head(n)

    def to_dict(self) -> dict:
        return {"schema": "roiloss.compare/1", "a": {"spec": self.spec_a, **self.a.to_dict()},
                "b": {"spec": self.spec_b, **self.b.to_dict()}, "summary": self.summary()}


def compare(boxes, a, b, *, tol: float = 1e-5, image_size=None) -> Comparison:
    """Compare what two pooling setups read for every box (docs/semantics.md §14).

    Args:
        boxes: boxes in any form :func:`roiloss.analyze` accepts.
        a, b: SPEC strings (``"preset:torchvision"``, ``"method:roialign-openvino,sampling_ratio=0"``,
            see :func:`parse_spec`) or one-method :class:`~roiloss.semantics.Semantics`.
        tol: a box differs when some cell weight in some bin differs by more than this.
        image_size: ``(W, H)`` for boxes whose input gives none.

    Returns:
        A :class:`Comparison`; ``rows`` has per box ``roi_id, image_id, category, x1..y2,
        level_a, level_b`` (or ``stride_a, stride_b``), ``max_weight_diff, cells_only_a,
        cells_only_b, cells_both, d_lost_frac, d_gained_frac, d_outside_weight`` (b minus a),
        ``size``, ``differs``, ``flags``.

    Example:
        >>> r = compare([(0, 0, 64, 64)], "method:roialign,stride=16", "method:roialign-legacy,stride=16",
        ...             image_size=(128, 128))
        >>> r.passed, round(float(r.rows.max_weight_diff[0]), 4)
        (False, 0.6071)
    """
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    spec_a, spec_b = (s if isinstance(s, str) else s.describe() for s in (a, b))
    sa, sb = parse_spec(a, "a"), parse_spec(b, "b")
    if sa.geometry.pool != sb.geometry.pool:
        raise SpecError(f"a and b pool to different bin grids ({'x'.join(map(str, sa.geometry.pool))} vs "
                        f"{'x'.join(map(str, sb.geometry.pool))}): their bins cannot be compared")
    table = normalise(boxes, image_size=image_size)
    rows = [_compare_chunk(table.iloc[i:i + CHUNK].reset_index(drop=True), sa, sb, tol)
            for i in range(0, max(len(table), 1), CHUNK)]
    notes = []
    if sa.resize != sb.resize:
        notes.append("the two sides resize the input differently: a cell index names a different image area")
    return Comparison(pd.concat(rows, ignore_index=True), sa, sb, tol, spec_a, spec_b, notes)


def _compare_chunk(table: pd.DataFrame, sa: Semantics, sb: Semantics, tol: float) -> pd.DataFrame:
    n = len(table)
    ca, boxes_a = _coefficients(table, sa)
    cb, boxes_b = _coefficients(table, sb)
    diffs = coefficient_differences(ca, cb, n)
    ok = np.isfinite(boxes_a.stride) & np.isfinite(boxes_b.stride)
    out = {c: table[c].to_numpy() for c in ("roi_id", "image_id", "category", "x1", "y1", "x2", "y2")}
    for name, mb in (("a", boxes_a), ("b", boxes_b)):
        if mb.level is not None:
            out[f"level_{name}"] = pd.array(np.where(ok, mb.level, 0), dtype="Int64")
            out[f"level_{name}"][~ok] = pd.NA
        else:
            out[f"stride_{name}"] = np.where(ok, mb.stride, np.nan)
    if "level_a" in out and "stride_b" in out:  # one side without a pyramid: its "level" is log2(stride)
        out["level_b"] = pd.array(np.where(ok, np.log2(np.nan_to_num(out.pop("stride_b"), nan=1)), 0).astype(int),
                                  dtype="Int64")
        out["level_b"][~ok] = pd.NA
    elif "level_b" in out and "stride_a" in out:
        out["level_a"] = pd.array(np.where(ok, np.log2(np.nan_to_num(out.pop("stride_a"), nan=1)), 0).astype(int),
                                  dtype="Int64")
        out["level_a"][~ok] = pd.NA
        out = {k: out[k] for k in [*list(out)[:7], "level_a", "level_b"]}
    for name, values in diffs.items():
        if name == "max_weight_diff":
            out[name] = np.where(ok, values, np.nan)
        else:
            out[name] = pd.array(np.where(ok, values, 0), dtype="Int64")
            out[name][~ok] = pd.NA
    ra, rb = analyze_table(table, sa), analyze_table(table, sb)
    for name in ("lost_frac", "gained_frac", "outside_weight"):
        out[f"d_{name}"] = np.where(ok, rb[name].to_numpy(float) - ra[name].to_numpy(float), np.nan)
    area = (table["x2"].to_numpy(float) - table["x1"].to_numpy(float)) * (table["y2"].to_numpy(float) - table["y1"].to_numpy(float))
    size = np.where(area < 32 ** 2, 0, np.where(area < 96 ** 2, 1, 2))
    out["size"] = pd.Categorical.from_codes(size, categories=list(SIZE_CLASSES))
    out["differs"] = np.where(ok, out["max_weight_diff"] > tol, False)
    flags_a = ra["flags"].astype(str).to_numpy()
    out["flags"] = np.where(ok, flags_a, np.where(flags_a != "", flags_a, rb["flags"].astype(str).to_numpy()))
    return pd.DataFrame(out)
