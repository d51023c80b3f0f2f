"""roiloss.prefetch: order kept, errors in their place, an early stop closes the source."""

from __future__ import annotations

import threading

import pytest

from roiloss.prefetch import prefetch


def test_items_in_order_on_another_thread():
    threads = []

    def source():
        for i in range(100):
            threads.append(threading.current_thread().name)
            yield i

    assert list(prefetch(source(), depth=3)) == list(range(100))
    assert set(threads) == {"roiloss-prefetch"}


def test_error_raised_where_its_item_would_be():
    def source():
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    seen = []
    with pytest.raises(ValueError, match="row 3 is bad"):
        for item in prefetch(source()):
            seen.append(item)
    assert seen == [1, 2]


def test_early_stop_closes_the_source_and_stops_reading():
    made, closed = [], threading.Event()

    def source():
        try:
            for i in range(1000):
                made.append(i)
                yield i
        finally:
            closed.set()

    for item in prefetch(source(), depth=2):
        if item == 3:
            break
    assert closed.wait(2)
    assert len(made) <= 3 + 1 + 2 + 1  # what was consumed, the queue and the item being made


def test_reads_ahead_while_the_consumer_works():
    second_made = threading.Event()

    def source():
        yield 0
        second_made.set()
        yield 1

    items = prefetch(source())
    assert next(items) == 0
    assert second_made.wait(2)  # made while the consumer still holds item 0
    assert list(items) == [1]


def test_empty_source():
    assert list(prefetch(iter(()))) == []
