"""Giving up on calls whose runtime is stuck in native code, past deadline + grace, without a timer per call.

A `loop.call_later` per call cost ~8 µs (heap push, cancel, a finite epoll timeout every time); a dict entry
costs ~0.1 µs, and one sweep every 100 ms, armed only while calls are in flight, finds the stuck ones.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Protocol

SWEEP_EVERY = 0.1


class Watched(Protocol):
    give_up_at: float
    """time.monotonic() past which the caller is answered without waiting for the runtime."""

    def abandon(self) -> None:
        """Answer the caller now (a PluginTimeout); the runtime's late result will change nothing."""


class StuckCalls:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: set[Watched] = set()
        self._armed = False

    def watch(self, call: Watched) -> None:
        self._calls.add(call)
        if not self._armed:
            self._armed = True
            self._loop.call_later(SWEEP_EVERY, self._sweep)

    def forget(self, call: Watched) -> None:
        self._calls.discard(call)

    def _sweep(self) -> None:
        now = time.monotonic()
        for call in [c for c in self._calls if c.give_up_at <= now]:
            self._calls.discard(call)
            call.abandon()
        self._armed = bool(self._calls)
        if self._armed:
            self._loop.call_later(SWEEP_EVERY, self._sweep)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StuckCalls] = weakref.WeakKeyDictionary()


def stuck_calls(loop: asyncio.AbstractEventLoop) -> StuckCalls:
    """The sweeper of `loop` (one per loop)."""
    sweeper = _per_loop.get(loop)
    if sweeper is None:
        sweeper = _per_loop[loop] = StuckCalls(loop)
    return sweeper
