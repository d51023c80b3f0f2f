"""roiloss.analysis.analyze_chunks: a stream of tables analysed as analyze_rows analyses each,
in order, the engine's tasks of the next table queued behind those of this one."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from conftest import VAL

from roiloss import analysis, workers
from roiloss.analysis import analyze_chunks, analyze_rows
from roiloss.box_table import BoxTable
from roiloss.readers import iter_box_tables
from roiloss.semantics import resolve


def chunks(rows: int = 100) -> list[BoxTable]:
    return list(iter_box_tables([str(VAL)], chunk_rows=rows).chunks)


@pytest.mark.parametrize("options", [
    {},
    {"preset": "detectron2", "min_size": (600, 800)},  # a resize at two input scales, with a pyramid
    {"stride": 8, "pool": (3, 5), "methods": "all"},
])
@pytest.mark.parametrize("threads, ahead", [(1, 0), (2, 0), (2, 1), (3, 2)])
def test_the_stream_gives_each_tables_rows_in_order(options, threads, ahead, monkeypatch):
    monkeypatch.setattr(analysis, "CHUNK", 40)  # several engine tasks per table
    monkeypatch.setattr(workers, "THREADS", threads)
    semantics = resolve(**options)
    tables = chunks()
    streamed = list(analyze_chunks(iter(tables), semantics, ahead=ahead))
    assert len(streamed) == len(tables) == 7
    for table, rows in zip(tables, streamed):
        assert rows.table is table
        pd.testing.assert_frame_equal(rows.frame(), analyze_rows(table, semantics).frame())


def test_an_engine_error_is_raised_where_its_table_would_be(monkeypatch):
    monkeypatch.setattr(analysis, "CHUNK", 40)
    monkeypatch.setattr(workers, "THREADS", 2)
    original = analysis.measure_methods

    def failing(methods, x1, *args):
        if np.any(x1 > 10_000):  # the poisoned table's boxes only
            raise RuntimeError("engine failed")
        return original(methods, x1, *args)

    monkeypatch.setattr(analysis, "measure_methods", failing)
    tables = chunks()
    poisoned = tables[3]
    for name in ("x1", "x2"):
        poisoned[name] = np.asarray(poisoned[name]) + 20_000.0
    poisoned["image_width"] = np.full(len(poisoned), 40_000.0)
    seen = []
    with pytest.raises(RuntimeError, match="engine failed"):
        for rows in analyze_chunks(iter(tables), resolve(), ahead=1):
            seen.append(rows.table)
    assert seen == tables[:3]
    assert not [t for t in threading.enumerate() if t.name.startswith("roiloss-engine")]


def test_stopping_early_drops_the_queued_tasks_and_leaves_no_thread(monkeypatch):
    monkeypatch.setattr(analysis, "CHUNK", 10)
    monkeypatch.setattr(workers, "THREADS", 2)
    ran = []
    original = analysis.measure_methods

    def counted(*args):
        ran.append(1)
        return original(*args)

    monkeypatch.setattr(analysis, "measure_methods", counted)
    tables = chunks()
    stream = analyze_chunks(iter(tables), resolve(), ahead=1)
    first = next(stream)
    stream.close()
    assert first.table is tables[0]
    assert len(ran) < sum(-(-len(t) // 10) for t in tables[:3])  # not every table's tasks ran
    assert not [t for t in threading.enumerate() if t.name.startswith("roiloss-engine")]


@pytest.mark.parametrize("ahead", [0, 1])
def test_tables_of_one_task_each_run_on_the_calling_thread_until_a_second_one(ahead, monkeypatch):
    """A small input (one table of one engine task) starts no thread; a stream of such tables
    starts the pool at the second, and gives the same rows."""
    monkeypatch.setattr(workers, "THREADS", 2)
    ran = []
    original = analysis.measure_methods

    def recorded(*args):
        ran.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(analysis, "measure_methods", recorded)
    tables = chunks()
    semantics = resolve()
    only = list(analyze_chunks(iter(tables[:1]), semantics, ahead=ahead))
    assert ran == ["MainThread"]
    pd.testing.assert_frame_equal(only[0].frame(), analyze_rows(tables[0], semantics).frame())
    ran.clear()
    streamed = list(analyze_chunks(iter(tables), semantics, ahead=ahead))
    assert len(ran) == len(tables)  # the first table on this thread, the others on the pool when queued ahead
    assert ran.count("MainThread") == (1 if ahead else len(tables))
    for table, rows in zip(tables, streamed):
        pd.testing.assert_frame_equal(rows.frame(), analyze_rows(table, semantics).frame())
