"""An event-loop watchdog for tests: fails a test in which the loop was busy for more than 100 ms at a stretch.

A heartbeat callback re-arms itself every few milliseconds and records, for each gap between two beats, the wall time
and the CPU time the loop's own thread spent. CPU time on the loop thread is work done *on the loop* (validating a
schema, parsing lyrics), so that is what fails the test; wall time alone also counts the machine being busy with other
processes, so it only fails at a generous hang-catching bound and is otherwise reported (the worst stall figure).

What is not the test's own work is kept out: the process's one-time imports and schema compilation happen before
the first watched test (`warm_up`), and the heap left by earlier tests is frozen out of the collector while a test
runs, so a full collection on the loop costs what this test allocated, not what a thousand tests before it did.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import time
from dataclasses import dataclass, field
from functools import cache

BUSY_LIMIT = 0.100
"""Longest CPU stretch the loop thread may spend inside one turn."""
HANG_LIMIT = 2.0
"""Longest wall-clock gap between two turns, whatever the cause (a blocking call on the loop)."""
_BEAT = 0.005


@cache
def warm_up() -> None:
    """What the first engine of a process pays once: imports of the runtimes and compiled shipped schemas."""
    for module in ("engine.runtimes.lua", "engine.runtimes.js", "engine.runtimes.python.backend", "engine.admin"):
        importlib.import_module(module)
    from engine.config import Config
    from engine.schemas import problems

    Config.from_mapping({"plugins": {}})
    list(problems({}, "manifest"))


@dataclass
class LoopWatchdog:
    worst_busy: float = 0.0
    worst_gap: float = 0.0
    _handle: asyncio.TimerHandle | None = field(default=None, repr=False)
    _last: tuple[float, float] = (0.0, 0.0)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        warm_up()
        gc.collect()
        gc.freeze()
        self._last = (time.perf_counter(), time.thread_time())
        self._handle = loop.call_later(_BEAT, self._beat, loop)

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        self.worst_gap = max(self.worst_gap, wall - self._last[0] - _BEAT)
        self.worst_busy = max(self.worst_busy, cpu - self._last[1])
        self._last = (wall, cpu)
        self._handle = loop.call_later(_BEAT, self._beat, loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._beat_once_more()
        gc.unfreeze()

    def _beat_once_more(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        self.worst_gap = max(self.worst_gap, wall - self._last[0] - _BEAT)
        self.worst_busy = max(self.worst_busy, cpu - self._last[1])

    def verdict(self) -> str | None:
        """Why the test fails, or None."""
        if self.worst_busy > BUSY_LIMIT:
            return f"the event loop was busy for {self.worst_busy * 1000:.0f} ms in one turn (limit {BUSY_LIMIT * 1000:.0f})"
        if self.worst_gap > HANG_LIMIT:
            return f"the event loop did not turn for {self.worst_gap:.1f} s (limit {HANG_LIMIT:g})"
        return None


WORST: dict[str, float] = {"busy": 0.0, "gap": 0.0}
"""The worst figures over every watched test of this process (the hostile-suite benchmark reads them)."""
