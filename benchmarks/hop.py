"""Figure 2: `Engine.call` from asyncio against the floor any actor design pays, a bare asyncio → thread hop.

Latency: calls one at a time, each timed, `Engine.call` and its baseline taken in turn. Two pairs per runtime:
`noop()` against a hop running a trivial Python function, and `echo(record)` against a hop running the raw
runtime call of `echo` (the like-for-like baseline: the same work, minus the engine).
Throughput: many calls in flight at once (asyncio.gather) over 8 plugins, against 8 bare hops.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from benchmarks.common import Figure, quiet_gc
from benchmarks.workload import RECORD, RUNTIMES, TITLE, raw_echo, write_plugin
from engine import Engine

PLUGINS = 8


class BareHop:
    """The floor: a worker thread with a SimpleQueue mailbox resolving asyncio futures via call_soon_threadsafe."""

    def __init__(self) -> None:
        self._mailbox: SimpleQueue[Any] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (job := self._mailbox.get()) is not None:
            fn, args, loop, future = job
            loop.call_soon_threadsafe(future.set_result, fn(*args))

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A coroutine like `Engine.call`, so asyncio.gather wraps both in a Task alike."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._mailbox.put((fn, args, loop, future))
        return await future

    def stop(self) -> None:
        self._mailbox.put(None)
        self._thread.join()


def _trivial() -> None:
    return None


async def _latencies_us(calls: Mapping[str, Callable[[], Awaitable[Any]]], count: int) -> dict[str, float]:
    """Median µs of single awaited calls, taken in turn."""
    times: dict[str, list[int]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(max(count // 10, 20)):
            await call()
    with quiet_gc():
        for _ in range(count):
            for name, call in calls.items():
                start = time.perf_counter_ns()
                await call()
                times[name].append(time.perf_counter_ns() - start)
    return {name: statistics.median(values) / 1000 for name, values in times.items()}


async def _throughput(calls: list[Callable[[], Awaitable[Any]]], in_flight: int, rounds: int) -> float:
    """Median calls/s over rounds of `in_flight` concurrent calls spread round-robin over `calls`."""
    await asyncio.gather(*(calls[i % len(calls)]() for i in range(in_flight)))
    rates = []
    with quiet_gc():
        for _ in range(rounds):
            start = time.perf_counter_ns()
            await asyncio.gather(*(calls[i % len(calls)]() for i in range(in_flight)))
            rates.append(in_flight / (time.perf_counter_ns() - start) * 1e9)
    return statistics.median(rates)


async def _measure(directory: Path, quick: bool) -> list[Figure]:
    count, in_flight, rounds = (40, 64, 3) if quick else (2000, 2048, 15)
    hops = [BareHop() for _ in range(PLUGINS)]
    config = {"plugins": {"directories": [], "auto_load": False, "storage": str(directory / "storage.sqlite3")}}
    figures: list[Figure] = []
    try:
        async with Engine(config) as engine:
            for runtime in RUNTIMES:
                ids = [
                    (await engine.load(write_plugin(directory, runtime, f"hop-{runtime}-{i}"))).id
                    for i in range(PLUGINS)
                ]
                figures += await _latency_figures(engine, ids[0], hops[0], runtime, count)
                ours = await _throughput([_caller(engine, plugin_id) for plugin_id in ids], in_flight, rounds)
                floor = await _throughput([_hopper(hop) for hop in hops], in_flight, rounds)
                figures.append(
                    Figure(
                        key=f"throughput.{runtime}",
                        title=f"pipelined Engine.call noop(), {PLUGINS} {TITLE[runtime]} plugins",
                        unit="calls/s",
                        ours=ours,
                        baseline=floor,
                        baseline_label=f"{PLUGINS} bare hops (threads), trivial function, {in_flight} calls in flight via gather",
                        judge="ours",
                        limit=50_000,
                        at_least=True,
                    )
                )
                for plugin_id in ids:
                    await engine.unload(plugin_id)
    finally:
        for hop in hops:
            hop.stop()
    return sorted(figures, key=lambda f: f.key.startswith("throughput"))


async def _latency_figures(engine: Engine, plugin_id: str, hop: BareHop, runtime: str, count: int) -> list[Figure]:
    raw = await hop.call(raw_echo, runtime)  # built on the hop's thread, which alone calls it
    noop = await _latencies_us(
        {"ours": lambda: engine.call(plugin_id, "noop"), "hop": lambda: hop.call(_trivial)}, count
    )
    echo = await _latencies_us(
        {"ours": lambda: engine.call(plugin_id, "echo", RECORD), "hop": lambda: hop.call(raw, RECORD)}, count
    )
    return [
        Figure(
            key=f"hop.noop.{runtime}",
            title=f"Engine.call noop(), {TITLE[runtime]}",
            unit="µs",
            ours=noop["ours"],
            baseline=noop["hop"],
            baseline_label="bare hop: async def → SimpleQueue → thread → call_soon_threadsafe, trivial function",
            judge="ratio",
            limit=1.25,
        ),
        Figure(
            key=f"hop.echo.{runtime}",
            title=f"Engine.call echo(10 fields), {TITLE[runtime]}",
            unit="µs",
            ours=echo["ours"],
            baseline=echo["hop"],
            baseline_label="the same hop running the raw runtime call of echo (figure 1's baseline)",
            judge="ratio",
            limit=1.25,
        ),
    ]


def _caller(engine: Engine, plugin_id: str) -> Callable[[], Awaitable[Any]]:
    return lambda: engine.call(plugin_id, "noop")


def _hopper(hop: BareHop) -> Callable[[], Awaitable[Any]]:
    return lambda: hop.call(_trivial)


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        return asyncio.run(_measure(Path(tmp), quick))
