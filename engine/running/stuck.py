"""Giving up on calls whose runtime is stuck in native code, past deadline + grace, without a timer per call.

A `loop.call_later` per call cost ~8 µs (heap push, cancel, a finite epoll timeout every time); a dict entry
costs ~0.1 µs, and one sweep every 100 ms, armed only while calls are in flight, finds the stuck ones.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

SWEEP_EVERY = 0.1


class StuckCalls:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: dict[asyncio.Future[Any], tuple[float, Callable[[], None]]] = {}
        self._armed = False

    def watch(self, future: asyncio.Future[Any], give_up_at: float, abandon: Callable[[], None]) -> None:
        self._calls[future] = (give_up_at, abandon)
        if not self._armed:
            self._armed = True
            self._loop.call_later(SWEEP_EVERY, self._sweep)

    def forget(self, future: asyncio.Future[Any]) -> None:
        self._calls.pop(future, None)

    def _sweep(self) -> None:
        now = time.monotonic()
        for future, (give_up_at, abandon) in list(self._calls.items()):
            if give_up_at <= now:
                del self._calls[future]
                abandon()
        self._armed = bool(self._calls)
        if self._armed:
            self._loop.call_later(SWEEP_EVERY, self._sweep)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StuckCalls] = weakref.WeakKeyDictionary()


def stuck_calls() -> StuckCalls:
    """The sweeper of the running loop."""
    loop = asyncio.get_running_loop()
    sweeper = _per_loop.get(loop)
    if sweeper is None:
        sweeper = _per_loop[loop] = StuckCalls(loop)
    return sweeper
