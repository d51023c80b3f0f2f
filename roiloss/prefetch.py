"""Read ahead: the next chunk of an input is parsed on a second thread while the engine works on
this one (pandas' CSV parser and numpy release the GIL in their loops)."""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield ``items`` in order, producing up to ``depth`` of them ahead on a background thread.

    An exception raised while producing an item is raised here, where that item would have been
    yielded, so errors keep their place (the items before it are all yielded first). When the
    consumer stops early (``break``, an exception, Ctrl-C) the producer stops after the item it is
    making and the source iterator is closed on its thread, so its ``finally`` blocks run.

    Example:
        >>> list(prefetch(iter(range(5))))
        [0, 1, 2, 3, 4]
    """
    ready: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def offer(value) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            offer(_Failure(error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="roiloss-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            value = ready.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value
    finally:
        stop.set()
        worker.join()
