"""Summaries from compactly kept values: chunks mostly of zeros kept as bitmaps, NaN dropped, values
in shared blocks; the statistics equal those of all float32 values at once, bit for bit."""

import pickle

import numpy as np
import pandas as pd
import pytest

import roiloss
from roiloss.stats import STAT_METRICS, Accumulator, describe

from conftest import VAL


def frame(rng, n: int) -> pd.DataFrame:
    """Rows of two methods: mostly zeros for one, -0.0, NaN and inf among them."""
    out = {"method": np.tile(["roialign", "roipool"], n), "flags": np.where(rng.random(2 * n) < 0.1, "invalid:x", "")}
    for metric in STAT_METRICS:
        values = rng.random(2 * n)
        values[rng.random(2 * n) < (0.9 if metric == "shift_px" else 0.3)] = 0.0
        values[rng.random(2 * n) < 0.05] = np.nan
        values[rng.random(2 * n) < 0.01] = -0.0
        out[metric] = values
    out["gained_frac"][3] = np.inf
    return pd.DataFrame(out)


def expected(rows: pd.DataFrame) -> pd.DataFrame:
    """The summary computed in one go from float32 values, as the statistics are defined."""
    out = []
    for method, group in rows.groupby("method", sort=False):
        lost = group["lost_frac"].to_numpy(np.float32)
        measured = ~np.isnan(lost)
        row = {"method": method, "boxes": len(group), "measured": int(measured.sum()),
               "invalid": int(group["flags"].str.startswith("invalid:").sum()), "sub_cell": 0,
               "lost_any_share": float((lost[measured] > 0).mean())}
        for metric in STAT_METRICS:
            for stat, value in describe(group[metric].to_numpy(np.float32)).items():
                row[f"{metric}_{stat}"] = value
        out.append(row)
    return pd.DataFrame(out)


@pytest.mark.parametrize("chunk", [1, 7, 1000, 5000])
def test_kept_values_give_the_statistics_of_all_values_exactly(chunk):
    rows = frame(np.random.default_rng(chunk), 5000)
    accumulator = Accumulator()
    for start in range(0, len(rows), chunk):
        accumulator.add(rows.iloc[start:start + chunk])
    pd.testing.assert_frame_equal(accumulator.summary(), expected(rows), check_exact=True)
    assert accumulator.summary().equals(accumulator.summary())  # summarising keeps what it read


def test_pickled_and_merged_parts_summarise_the_same():
    rows = frame(np.random.default_rng(1), 3000)
    halves = [Accumulator(), Accumulator()]
    for i, start in enumerate(range(0, len(rows), 500)):
        halves[i % 2].add(rows.iloc[start:start + 500])
    merged = Accumulator()
    for half in halves:
        merged.merge(pickle.loads(pickle.dumps(half)))
    order = pd.concat([rows.iloc[s:s + 500] for s in range(0, len(rows), 1000)]
                      + [rows.iloc[s:s + 500] for s in range(500, len(rows), 1000)])
    pd.testing.assert_frame_equal(merged.summary(), expected(order), check_exact=True)


def test_counts_only():
    rows = roiloss.analyze(roiloss.read_boxes(VAL), preset="detectron2")
    counts, full = Accumulator(values=False), Accumulator()
    counts.add(rows)
    full.add(rows)
    columns = ["method", "boxes", "measured", "invalid", "sub_cell", "lost_any_share"]
    pd.testing.assert_frame_equal(counts.summary()[columns], full.summary()[columns])
    assert counts.summary()[[f"{m}_mean" for m in STAT_METRICS]].isna().all().all()
    assert not counts.parts[("roialign",)].get("lost_frac")  # no values kept
    with pytest.raises(ValueError, match="counts only"):
        full.merge(counts)
