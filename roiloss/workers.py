"""Running independent numpy work on a few threads (numpy releases the GIL in its loops)."""

from __future__ import annotations

import os

THREADS = min(os.cpu_count() or 1, 4)


def run_all(run, tasks: list) -> None:
    """``run`` every task on up to :data:`THREADS` threads, the calling thread being one of them
    (its memory is already mapped: fewer fresh pages than a new thread's). Re-raises the first
    error after every thread has stopped."""
    helpers = min(THREADS, len(tasks)) - 1
    if helpers < 1:
        for task in tasks:
            run(task)
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    queue, lock, failed = iter(tasks), threading.Lock(), []

    def work():
        while not failed:
            with lock:
                task = next(queue, None)
            if task is None:
                return
            try:
                run(task)
            except BaseException as error:
                failed.append(error)
                raise

    with ThreadPoolExecutor(helpers) as pool:
        futures = [pool.submit(work) for _ in range(helpers)]
        try:
            work()
        finally:
            for future in futures:
                future.exception()
    if failed:
        raise failed[0]
