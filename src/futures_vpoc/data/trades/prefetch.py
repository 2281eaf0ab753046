"""Read the next chunk while the current one is being used: one background thread, one chunk ahead.

Decoding a Parquet row group (pyarrow, which releases the GIL) takes about as long as the kernels
that consume it (numba, compiled ``nogil``), so on two cores the reader runs beside them: 100M
prints through ``profile --trades`` went from 9.4 s to 7.5-8.0 s here (benchmarks/bench_trades.py). At most
``depth`` chunks wait in the queue, so memory grows by one chunk. An error raised while reading
comes out of ``next()`` at the point the chunk it concerns would have, so callers see the same
errors, in the same order, as without the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` items ahead of the consumer.

    The thread stops when ``items`` ends or raises, or when the consumer drops the returned
    iterator (closing it, or letting it be collected); its exception is re-raised by ``next()``.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))

    thread = threading.Thread(target=work, name="futures-vpoc-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()


__all__ = ["prefetch"]
