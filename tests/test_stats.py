"""Summary statistics (roiloss.stats): exact quantiles, counts, chunked accumulation."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import roiloss
from roiloss.stats import STAT_METRICS, Accumulator, _Blocks, _pack, _unpack, describe, flag_masks, summarize

from conftest import VAL, VAL_BOXES


def test_describe_by_hand():
    # linear interpolation: p95 of 0..3 lies at 0.95 * 3 = 2.85
    assert describe(np.array([0.0, 1.0, 2.0, 3.0, np.nan])) == pytest.approx(
        {"mean": 1.5, "median": 1.5, "p95": 2.85, "max": 3.0}, rel=1e-15)
    assert all(np.isnan(v) for v in describe(np.array([np.nan])).values())
    assert describe(np.array([1.0, np.inf]))["max"] == np.inf


def test_flag_masks_for_plain_and_categorical_flags():
    flags = pd.Series(["", "sub-cell", "invalid:x2<=x1", "sub-cell;outside-image", None])
    for series in (flags, flags.astype("category")):
        invalid, sub_cell = flag_masks(series)
        assert invalid.tolist() == [False, False, True, False, False]
        assert sub_cell.tolist() == [False, True, False, True, False]


def test_summary_counts_by_hand():
    boxes = [(0, 0, 64, 64), (0, 0, 8, 64), (10, 10, 5, 5)]
    summary = summarize(roiloss.analyze(boxes, stride=16, methods="roialign,roipool")).set_index("method")
    assert summary.loc["roialign", ["boxes", "measured", "invalid", "sub_cell"]].tolist() == [3, 2, 1, 1]
    assert list(summary.index) == ["roialign", "roipool"]


def test_chunked_accumulation_equals_the_whole():
    rows = roiloss.analyze(roiloss.read_boxes(VAL), pyramid=roiloss.Pyramid(), methods="roialign,roipool")
    whole = summarize(rows)
    accumulator = Accumulator()
    for start in range(0, len(rows), 100):
        accumulator.add(rows.iloc[start:start + 100])
    pd.testing.assert_frame_equal(accumulator.summary(), whole)
    assert (whole.boxes == VAL_BOXES).all()
    lost = rows[rows.method == "roipool"].lost_frac.to_numpy()
    # values are kept as float32: the statistics agree to float32 precision
    assert whole.set_index("method").loc["roipool", "lost_frac_p95"] == pytest.approx(np.percentile(lost, 95), rel=1e-6)
    by_level = summarize(rows, by="level")
    assert by_level.groupby("method").boxes.sum().tolist() == [VAL_BOXES, VAL_BOXES]
    assert set(by_level.level) <= {2, 3, 4, 5}
    assert [c for c in whole.columns if c.startswith("shift_px")] == [f"shift_px_{s}" for s in ("mean", "median", "p95", "max")]
    assert STAT_METRICS == ["lost_frac", "gained_frac", "outside_weight", "shift_px"]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=False, width=32), st.sampled_from([0.0, 1.0, np.inf, -np.inf])),
                       min_size=1, max_size=60))
def test_linear_percentiles_are_numpys(values):
    """Our percentiles (no np.unique, so no numpy.ma import) equal numpy's, bit for bit."""
    from roiloss.stats import linear_percentiles

    values = np.array(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.percentile(values.copy(), [50, 95, 5, 100, 0])
    got = linear_percentiles(values.copy(), (50, 95, 5, 100, 0))
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=False, width=32), st.sampled_from([0.0, -0.0, 1.0, np.inf])),
                       min_size=1, max_size=40),
       size=st.integers(1, 400), seed=st.integers(0, 3),
       positions=st.lists(st.floats(0, 1), min_size=1, max_size=5),
       ties=st.sampled_from([None, 0.0, 0.5]), order=st.sampled_from(["as drawn", "sorted", "reversed"]))
def test_order_statistics_bracketed_equal_numpys_partition(values, size, seed, positions, ties, order):
    """The bracketing selection (here from samples of 8 values, from 129 values on, compared 50 at
    a time, with brackets so narrow that they often miss) gives the values numpy's partition puts
    at the ranks, whatever the order, ties and zeros."""
    from roiloss import stats

    rng = np.random.default_rng(seed)  # the values drawn, repeated to size, and spread
    values = np.resize(np.array(values, dtype=np.float64), size) * rng.choice([1.0, 1.5, 2.0], size)
    if ties is not None:
        values[::3] = ties  # a third of the values equal
    values = {"as drawn": values, "sorted": np.sort(values), "reversed": np.sort(values)[::-1].copy()}[order]
    n = len(values)
    ranks = sorted({int(p * (n - 1)) for p in positions})
    saved = stats.SELECT_SAMPLE, stats.SELECT_MARGIN, stats.SELECT_BLOCK
    stats.SELECT_SAMPLE, stats.SELECT_MARGIN, stats.SELECT_BLOCK = 8, 0, 50
    try:
        got = stats.order_statistics(values.copy(), ranks)
    finally:
        stats.SELECT_SAMPLE, stats.SELECT_MARGIN, stats.SELECT_BLOCK = saved
    np.testing.assert_array_equal(got, np.sort(values)[ranks])


@pytest.mark.parametrize("kind", ["uniform", "mostly zeros", "all zeros", "two values", "sorted", "reversed"])
def test_percentiles_of_a_million_values_are_numpys(kind, monkeypatch):
    """Equal to numpy's; and the summary's median and p95 come from brackets, not from
    partitioning the whole array."""
    from roiloss import stats

    answered = []
    bracket = stats._in_bracket
    monkeypatch.setattr(stats, "_in_bracket", lambda *args: answered.append(bracket(*args)) or answered[-1])
    rng = np.random.default_rng(5)
    values = rng.random(1_000_000).astype(np.float32).astype(np.float64)
    if kind == "mostly zeros":
        values[rng.random(len(values)) < 0.94] = 0.0
    elif kind == "all zeros":
        values[:] = 0.0
    elif kind == "two values":
        values = np.where(values < 0.5, 0.25, 0.75)
    elif kind in ("sorted", "reversed"):
        values = np.sort(values)[::1 if kind == "sorted" else -1].copy()
    from roiloss.stats import linear_percentiles

    for percents in ([50, 95], [50, 95, 5, 100, 0]):  # the summary's, and the extremes too
        want = np.percentile(values, percents)
        answered.clear()
        np.testing.assert_array_equal(linear_percentiles(values.copy(), percents), want)
        if percents == [50, 95]:
            assert answered and all(found is not None for found in answered), kind


def test_a_bracket_that_misses_a_rank_by_one_says_so():
    from roiloss.stats import _in_bracket

    values = np.arange(100.0)[::-1].copy()
    assert _in_bracket(values, 30.0, 40.0, [30, 40]).tolist() == [30.0, 40.0]
    assert _in_bracket(values, 30.0, 40.0, [29, 35]) is None  # value 29 lies below the bracket
    assert _in_bracket(values, 30.0, 40.0, [35, 41]) is None  # value 41 lies above it
    assert _in_bracket(values, 50.0, 50.0, [50]).tolist() == [50.0]
    assert _in_bracket(values, 50.0, 50.0, [51]) is None
    assert _in_bracket(values, 0.0, 60.0, [30]) is None  # a bracket of most values: no gain
    mostly = np.concatenate([np.zeros(90), np.arange(1.0, 11.0)])[::-1].copy()  # ties at lo are counted
    assert _in_bracket(mostly, 0.0, 3.0, [0, 89, 90, 92]).tolist() == [0.0, 0.0, 1.0, 3.0]
    assert _in_bracket(mostly, 0.0, 3.0, [93]) is None


def test_pack_keeps_measured_values_or_nonzero_ones_with_a_bitmap_in_one_store():
    store = _Blocks()
    store.block = np.full(64, np.nan, np.float32)  # room for both chunks
    dense = np.array([0.5, np.nan, 0.25, 3.0, np.nan])
    count, kept, bits = _pack(dense, store)
    assert (count, kept.tolist(), bits) == (3, [0.5, 0.25, 3.0], None)
    # 40 values: a NaN, 0.125, -0.0 (non-zero: its sign bit) and 37 zeros: a bitmap and the two non-zero values
    sparse = np.zeros(40)
    sparse[[7, 30]] = [0.125, -0.0]
    sparse[12] = np.nan
    count, values, bits = _pack(sparse, store)
    assert count == 39 and values.tolist() == [0.125, -0.0] and np.signbit(values[1])
    assert np.flatnonzero(np.unpackbits(bits, count=39)).tolist() == [7, 29]  # places among the measured
    # the store gave back what each chunk did not keep: the two chunks lie side by side in one block
    assert store.used == 5 and np.shares_memory(store.block[:3], kept) and np.shares_memory(store.block[3:5], values)
    assert _unpack([(3, kept, None), (count, values, bits)]).tolist() == (
        [0.5, 0.25, 3.0] + [0.0] * 7 + [0.125] + [0.0] * 21 + [-0.0] + [0.0] * 9)
