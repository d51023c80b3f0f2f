"""The engine's shortcuts against the plain per-sample computations they replace (issue 17).

The per-box closed forms of :mod:`roiloss.axis_stats` (support as one run of cells, masses
without masks), the per-box fast paths of the bilinear kernel and the sample-major placement must
give what the per-sample formulas give: bit for bit where nothing is summed, to float64 rounding
where a sum is taken in another order.
"""

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roiloss.axis import SampleAxis, SampleGroups, WindowAxis
from roiloss.axis_entries import EntryAxis
from roiloss.axis_stats import STAT_FIELDS, cell_fractions, inside_mass, sample_stats, sample_support, window_stats
from roiloss.geometry import Geometry, map_length
from roiloss.kernels import Reading, place_samples, sample_steps
from roiloss.methods import METHODS, axes

SAMPLE_METHODS = [name for name, m in METHODS.items() if m.kind == "sample"]
WINDOW_METHODS = [name for name, m in METHODS.items() if m.kind == "window"]
TOL = 1e-12


@st.composite
def boxes(draw):
    """Boxes of every size from a hair to several images, inside, across and outside the image."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = rng.choice([97.0, 333.0, 640.0, 1333.0], n)
    side = np.exp(rng.uniform(np.log(1e-3), np.log(3000), n))
    side[rng.random(n) < 0.15] = rng.choice([1.0, 8.0, 16.0, 32.0, 112.0])  # whole cells at some stride
    start = rng.uniform(-0.3, 1.1, n) * image - side * rng.uniform(0, 1, n)
    start[rng.random(n) < 0.15] = 0.0
    unknown = rng.random(n) < 0.1
    return start, start + side, np.where(unknown, np.nan, image)


def geometries():
    return st.builds(Geometry, stride=st.sampled_from([4, 8, 16, 32, 47, 64]), pool=st.integers(1, 14),
                     sampling_ratio=st.integers(0, 4), placement=st.sampled_from(["centered", "thirds"]),
                     arithmetic=st.sampled_from(["float32", "exact"]))


def sample_parts(axis):
    """The :class:`SampleAxis` pieces of an axis with the indices of their boxes."""
    if isinstance(axis, SampleGroups):
        return axis.parts
    return [(np.arange(len(axis.t)), axis)]


def per_sample_stats(part: SampleAxis, r0, r1):
    """Every statistic sample by sample, as the engine computed it before the closed forms."""
    lo, frac, valid = part.lo.astype(np.float64), part.frac.astype(np.float64), part.valid
    r0, r1 = r0[:, None], r1[:, None]
    f_lo = np.maximum(np.minimum(lo + 1.0, r1) - np.maximum(lo, r0), 0.0)
    f_hi = np.maximum(np.minimum(lo + 2.0, r1) - np.maximum(lo + 1.0, r0), 0.0)
    w_hi = frac * valid
    inside = (valid * f_lo + w_hi * (f_hi - f_lo)).sum(axis=1) / part.g
    n = len(lo)
    empty = part.n_bins - valid.reshape(n, part.n_bins, part.g).any(axis=2).sum(axis=1)
    return inside, valid.sum(axis=1) / part.g, empty, f_lo, f_hi


def sampled_parts(method, case, geometry):
    """The :class:`SampleAxis` pieces with samples of ``method``'s x axis for ``case``, each with
    its boxes' RoI ``(part, r0, r1)``."""
    lo, hi, image = case
    ax = axes_of(method, lo, hi, image, geometry).x
    r0, r1 = lo / geometry.stride, hi / geometry.stride
    for index, part in sample_parts(ax):
        if part.g:
            yield part, r0[index], r1[index]


def axes_of(method, lo, hi, image, geometry):
    """The axes of ``method`` for boxes ``[lo, hi)`` along x in images ``image`` px wide (y: a fixed band)."""
    cells = map_length(image, geometry.stride)
    ones = np.ones(len(lo))
    return axes(method, lo, 5 * ones, hi, 5 * ones + 40, cells, map_length(45 * ones, geometry.stride), geometry)


@settings(max_examples=300, deadline=None)
@given(case=boxes(), geometry=geometries(), method=st.sampled_from(SAMPLE_METHODS))
def test_sample_closed_forms_match_the_per_sample_path(case, geometry, method):
    for part, r0, r1 in sampled_parts(method, case, geometry):
        got = part.stats(r0, r1)
        inside, mass, empty, f_lo, f_hi = per_sample_stats(part, r0, r1)
        assert (cell_fractions(part.lo, r0, r1)[0] == f_lo).all()
        support_len, support_overlap = sample_support(part.lo, part.frac * part.valid, part.valid, f_lo, f_hi)
        np.testing.assert_array_equal(got.support_len, support_len)
        np.testing.assert_allclose(got.support_overlap, support_overlap, rtol=0, atol=TOL * max(1, r1.max()))
        np.testing.assert_allclose(got.inside_mass, inside, rtol=0, atol=TOL)
        np.testing.assert_array_equal(got.mass, mass)
        np.testing.assert_array_equal(got.empty_bins, empty)


@settings(max_examples=200, deadline=None)
@given(case=boxes(), geometry=geometries(), method=st.sampled_from(WINDOW_METHODS))
def test_window_closed_forms_match_the_coefficients(case, geometry, method):
    lo, hi, image = case
    ax: WindowAxis = axes_of(method, lo, hi, image, geometry).x
    r0, r1 = lo / geometry.stride, hi / geometry.stride
    got = window_stats(ax.start, ax.end, r0, r1)
    e = ax.entries()
    listed = EntryAxis(e.box, e.bin, e.cell, e.weight, len(lo), ax.bins, ax.sampled, (r0, r1)).stats(r0, r1)
    for name in ("support_len", "empty_bins"):
        np.testing.assert_array_equal(getattr(got, name), getattr(listed, name), err_msg=name)
    for name in ("support_overlap", "mass", "inside_mass"):  # the listed weights are 1 / length each
        np.testing.assert_allclose(getattr(got, name), getattr(listed, name), rtol=0, atol=TOL * max(1, r1.max()),
                                   err_msg=name)


def reference_bilinear(t, length, low_limit, high_offset):
    """The kernel sample by sample, without the per-box shortcuts."""
    size = np.asarray(length, dtype=np.float64)[:, None]
    high, last = (size + high_offset).astype(t.dtype), (size - 1).astype(t.dtype)
    valid = (t >= low_limit) & (t <= high)
    tc = np.maximum(t, t.dtype.type(0))
    lo = np.floor(tc)
    frac = tc - lo
    at_end = lo >= last
    return valid, np.where(at_end, last, lo), np.where(at_end, 0, frac)


@settings(max_examples=200, deadline=None)
@given(case=boxes(), geometry=geometries(), g=st.integers(1, 4),
       limits=st.sampled_from([(-1.0, 0.0), (-0.5, -0.5), (0.0, -1.0), (-np.inf, np.inf)]))
def test_placement_and_kernel_are_the_per_sample_formulas(case, geometry, g, limits):
    lo, hi, image = case
    dtype = np.float32 if geometry.arithmetic == "float32" else np.float64
    start = (lo / geometry.stride).astype(dtype)
    bin_size = ((hi - lo) / geometry.stride / geometry.pool[1]).astype(dtype)
    t = place_samples(start, bin_size, g, geometry.pool[1], geometry.placement)
    p = np.repeat(np.arange(geometry.pool[1]), g).astype(dtype)[None, :]
    k = np.tile(np.arange(g), geometry.pool[1]).astype(dtype)[None, :]
    if geometry.placement == "centered":
        expected = (start[:, None] + p * bin_size[:, None]) + ((k + dtype(0.5)) * bin_size[:, None]) / dtype(g)
    else:
        offsets = p.astype(np.float64) + (k.astype(np.float64) + 1.0) / (g + 1.0)
        expected = start.astype(np.float64)[:, None] + bin_size.astype(np.float64)[:, None] * offsets
    np.testing.assert_array_equal(t, expected)
    cells = map_length(image, geometry.stride)
    want = reference_bilinear(t, cells, *limits)
    for got in (Reading(t, cells, *limits).full(), Reading(t, cells, *limits, steps=sample_steps(t)).full()):
        for got_array, want_array in zip(got, want, strict=True):
            assert got_array.dtype == want_array.dtype
            np.testing.assert_array_equal(got_array, want_array)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       offset=st.sampled_from([0.0, 3.0, 2.0**23 - 8, 2.0**24 + 16, 2.0**30]))
def test_inside_mass_ramps_match_the_cell_fractions(seed, dtype, offset):
    """The four-ramp inside mass against the cell-by-cell sum over what the kernel reads (its
    per-sample formulas, :func:`reference_bilinear`), from cell 0 to past float32's whole numbers
    (where the ramps give way to the cell path), with empty and inverted RoIs, samples clamped at
    either end of the map, samples off it, and positions a method moved before the kernel read them."""
    rng = np.random.default_rng(seed)
    n, count = 30, 6
    placed = np.sort(offset + rng.uniform(-2.5, 6.0, (n, count)), axis=1).astype(dtype)
    placed[rng.random((n, count)) < 0.1] = dtype(0.0)
    placed.sort(axis=1)
    t = np.asfortranarray(placed)  # sample-major, as the axes lay samples out
    read = t.copy(order="F")
    read[n // 3: n // 2] = np.maximum(read[n // 3: n // 2], dtype(offset))  # moved by the method
    length = np.where(rng.random(n) < 0.5, np.inf, np.floor(offset) + rng.integers(1, 6, n))
    limits = (-1.0, 0.0)
    r0 = offset + rng.uniform(-1.0, 3.0, n)
    r1 = r0 + rng.choice([0.0, -0.5, 0.25, 1.0, 2.5, 7.0], n)
    got = inside_mass(t, Reading(read, length, *limits, placed=t), r0, r1)
    valid, lo, frac = reference_bilinear(read, length, *limits)
    cell, wide = lo.astype(np.float64), frac.astype(np.float64)
    f_lo = np.maximum(np.minimum(cell + 1.0, r1[:, None]) - np.maximum(cell, r0[:, None]), 0.0)
    f_hi = np.maximum(np.minimum(cell + 2.0, r1[:, None]) - np.maximum(cell + 1.0, r0[:, None]), 0.0)
    want = (valid * ((1.0 - wide) * f_lo + wide * f_hi)).sum(axis=1)
    assert (want > 0).any()  # not a comparison of zeros
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, offset))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([1e-30, 1e-6, 1.0, 50.0, 2.0**22]), count=st.integers(1, 40))
def test_ramp_sums_are_the_ramps_summed_bit_for_bit(seed, dtype, scale, count):
    """The ramp sums of :func:`inside_mass` (float32: clipped positions less ``k``) against their
    definition, ``clip(p - k, 0, 1)`` per sample in the positions' precision summed in float64:
    equal bit for bit for valid positions ``p >= 0`` (tiny, whole, at ``k`` and ``k + 1``) and for
    invalid ones (``-inf``), with ``k`` from -3 up to float32's whole numbers."""
    from roiloss.axis_stats import _ramp_sums

    rng = np.random.default_rng(seed)
    n = 50
    t = (rng.random((count, n)) * scale * rng.choice([1.0, 4.0, 100.0], (count, n))).astype(dtype).T
    k = np.floor(rng.uniform(-3.0, 3.0, n) + t[:, 0].astype(np.float64))  # near each box's first sample
    k = np.minimum(k, 2.0**23 - 2)
    whole = rng.random((n, count)) < 0.2  # samples exactly at k or k + 1
    t[whole] = (k[:, None] + rng.integers(0, 2, (n, count))).clip(0)[whole].astype(dtype)
    t[rng.random((n, count)) < 0.05] = -np.inf
    steps = [(k + shift, rng.uniform(-1.0, 1.0, n)) for shift in (-1.0, 0.0, 2.0, 3.0)]
    want = np.zeros(n)
    for origin, weight in steps:
        ramp = np.clip(t - origin.astype(dtype)[:, None], dtype(0), dtype(1))
        want += weight * ramp.astype(np.float64).sum(axis=1)
    np.testing.assert_array_equal(_ramp_sums(t, steps), want)


@settings(max_examples=500, deadline=None)
@given(x=st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_cround_is_c_round_for_every_float32(x):
    """C ``round()`` of a float32, against exact rational arithmetic."""
    from fractions import Fraction

    from roiloss.kernels import cround

    exact = Fraction(float(np.float32(x)))
    whole = int(abs(exact) + Fraction(1, 2))  # floor(|x| + 1/2): half away from zero
    assert cround(np.array([x], dtype=np.float32))[0] == (whole if exact >= 0 else -whole)
    assert cround(np.array([x], dtype=np.float64))[0] == (whole if exact >= 0 else -whole)


def test_run_all_runs_every_task_once_and_reraises(monkeypatch):
    import threading
    import time

    import pytest

    from roiloss import workers

    monkeypatch.setattr(workers, "THREADS", 3)
    seen, threads = [], set()

    def record(task):
        seen.append(task)
        threads.add(threading.get_ident())
        time.sleep(0.001)  # long enough for every thread to take tasks

    workers.run_all(record, list(range(200)))
    assert sorted(seen) == list(range(200))
    assert threading.get_ident() in threads  # the caller works too

    def fail(task):
        if task == 7:
            raise ValueError("task 7")

    with pytest.raises(ValueError, match="task 7"):
        workers.run_all(fail, list(range(200)))


@settings(max_examples=200, deadline=None)
@given(case=boxes(), geometry=geometries(), method=st.sampled_from(SAMPLE_METHODS))
def test_axis_facts_spare_passes_without_changing_the_statistics(case, geometry, method):
    """The kernel's reading asked box by box or sample by sample gives its full arrays bit for
    bit; ``moved`` names every box where the position read ``lo + frac`` is not ``t``; the steps an
    axis carries give the statistics computed without them."""
    for part, r0, r1 in sampled_parts(method, case, geometry):
        reading = part.reading
        fresh = copy.copy(reading)  # nothing computed yet: rows and samples from the kernel itself
        fresh._full = None
        boxes = np.flatnonzero(np.arange(len(part.t)) % 3 == 1)
        for got, want in zip(fresh.rows(boxes), reading.full(), strict=True):
            np.testing.assert_array_equal(got, want[boxes])
        for j in (0, part.t.shape[1] - 1):
            for got, want in zip(fresh.sample(j), reading.full()[1:], strict=True):
                np.testing.assert_array_equal(got, want[:, j])
        elsewhere = np.ones(len(part.t), dtype=bool)
        elsewhere[part.moved] = False
        read = (part.lo + part.frac)[elsewhere]
        assert ((read == part.t[elsewhere]) | ~part.valid[elsewhere]).all()
        partial = np.flatnonzero(~part.valid.all(axis=1))
        np.testing.assert_array_equal(reading.partial, partial)
        with_steps = part.stats(r0, r1)
        without = sample_stats(part.t, fresh, part.g, part.n_bins, r0, r1)
        for name in STAT_FIELDS:
            np.testing.assert_array_equal(getattr(with_steps, name), getattr(without, name), err_msg=name)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       spread=st.sampled_from([0.3, 1.0, 2.5, 9.0]))
def test_ordered_gaps_are_the_cells_no_sample_reads(seed, dtype, spread):
    """Support of samples in order with gaps between the cells they read: the run from the first
    to the last cell less :func:`ordered_gaps` equals :func:`sample_support` cell by cell."""
    from roiloss.axis_stats import ordered_gaps

    rng = np.random.default_rng(seed)
    n, count = 25, 7
    t = np.cumsum(rng.exponential(spread, (n, count)), axis=1).astype(dtype)
    same = rng.random(n) < 0.2  # boxes whose samples all sit at one position
    t[same] = t[same, :1]
    lo = np.floor(t)
    frac = t - lo
    r0 = rng.uniform(-2.0, 10.0, n)
    r1 = r0 + rng.choice([-1.0, 0.0, 0.4, 3.0, 30.0], n)
    skipped, overlap = ordered_gaps(lo, frac, r0, r1)
    f_lo, f_hi = cell_fractions(lo, r0, r1)
    want_len, want_overlap = sample_support(lo, frac, np.ones_like(t, dtype=bool), f_lo, f_hi)
    first, last = lo[:, 0].astype(np.float64), lo[:, -1] + (frac[:, -1] > 0)
    np.testing.assert_array_equal(last - first + 1 - skipped, want_len)
    hull = np.maximum(np.minimum(last + 1, r1) - np.maximum(first, r0), 0.0)
    np.testing.assert_allclose(hull - overlap, want_overlap, rtol=0, atol=1e-12 * max(1.0, np.abs(r1).max()))
    # hand-computed: samples at 0.5, 3.0, 3.25 read cells 0, 1 | 3 | 3, 4: cell 2 is skipped
    lo1, frac1 = np.array([[0.0, 3.0, 3.0]], dtype), np.array([[0.5, 0.0, 0.25]], dtype)
    skipped1, overlap1 = ordered_gaps(lo1, frac1, np.array([1.5]), np.array([4.0]))
    assert skipped1[0] == 1 and overlap1[0] == 1.0  # [2, 3) lies inside [1.5, 4)


@settings(max_examples=100, deadline=None)
@given(case=boxes(), stride=st.sampled_from([4, 16, 47]), pool=st.integers(1, 9))
def test_ordered_clipping_clips_what_the_full_clipping_clips(case, stride, pool):
    from roiloss.kernels import clip_windows

    lo, hi, image = case
    geometry = Geometry(stride=stride, pool=pool)
    ax = axes_of("roipool", lo, hi, np.where(np.isnan(image), 200.0, image), geometry).x
    raw = METHODS["roipool"].axis  # the windows again, before any clipping, from a map that never clips
    unclipped = raw(lo, hi, pool, np.full(len(lo), np.inf), geometry)
    cells = map_length(np.where(np.isnan(image), 200.0, image), stride)
    full = clip_windows(unclipped.start.copy(), unclipped.end.copy(), cells)
    np.testing.assert_array_equal(ax.start, full[0])
    np.testing.assert_array_equal(ax.end, full[1])


@settings(max_examples=100, deadline=None)
@given(case=boxes(), geometry=geometries(), rows=st.integers(1, 9), square=st.booleans(),
       methods=st.lists(st.sampled_from(list(METHODS)), min_size=1, max_size=4, unique=True))
def test_measure_methods_is_measure_of_each_method(case, geometry, rows, square, methods):
    """The engine's call (both axes as one set of rows when the pool is square) gives, bit for bit,
    what :func:`measure` gives method by method."""
    import dataclasses

    from roiloss.metrics import measure, measure_methods

    lo, hi, image = case
    geometry = dataclasses.replace(geometry, pool=(rows, rows if square else rows + 1))
    n = len(lo)
    y1, y2 = lo[::-1].copy() * 0.7, hi[::-1].copy() * 0.7  # other boxes on y
    cells_x, cells_y = map_length(image, geometry.stride), map_length(image[::-1] * 0.7, geometry.stride)
    px_x, px_y = np.full(n, geometry.stride * 1.5), np.full(n, geometry.stride / 0.75)
    got = measure_methods(methods, lo, y1, hi, y2, cells_x, cells_y, geometry, px_x, px_y)
    for j, method in enumerate(methods):
        want = measure(axes(method, lo, y1, hi, y2, cells_x, cells_y, geometry), px_x, px_y)
        for name, column in want.items():
            np.testing.assert_array_equal(got[j][name], column, err_msg=f"{method} {name}")
