"""Figure 5: what metrics cost — per call (recorder on vs off, same run) and per render of `/metrics`.

Per call: batches of `Plugin.call("noop")` on one Lua plugin, its metrics recorder attached and detached in turn
so drift hits both alike. Per render: the text `/metrics` answers for an engine with 200 plugins that each have
three methods' worth of series (one of them failing), against prometheus_client's `generate_latest` of the same
registry. (A scrape also waits, without blocking the loop, for plugins that ran since the last one to report
their memory on their own threads.) Per scrape: a whole `GET /metrics` over HTTP from the admin server of that
engine, against a `GET` of an unknown route on the same server (its HTTP, Host check and routing cost).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import generate_latest

from benchmarks.common import Figure, quiet_gc
from benchmarks.workload import write_plugin
from engine import Engine, FoxplugError
from engine.admin import serve_admin
from engine.running.actor import Pending


def _config(storage: Path, *, directories: list[Path] | None = None, monitoring: bool = True) -> dict[str, Any]:
    return {
        "plugins": {
            "directories": [str(d) for d in directories or []],
            "storage": str(storage),
            "hot_reload": {"enabled": False},
            "monitoring": {"enabled": monitoring, "listen": "127.0.0.1:0"},
        }
    }


class _InlineActor:
    """Runs a call on the loop thread and hands back a finished future: `Plugin.call` without the thread hop.

    The hop's scheduling jitter (±10 µs between two runs of the same engine on a busy machine) would drown the
    sub-microsecond difference measured here; everything else of the call path runs as in production.
    """

    def submit(self, future: Pending[Any], fn: Callable[..., Any], *args: Any) -> None:
        future.finish(True, fn(*args))


async def _per_call_us(root: Path, samples: int, inner: int) -> dict[str, float]:
    """`Plugin.call("noop")` of one Lua plugin with its metrics recorder attached and detached, in turn."""
    async with Engine(_config(root / "call.sqlite3")) as engine:
        await engine.load(write_plugin(root, "lua", "metered"))
        plugin = engine._plugins["metered"]
        recorder, actor = plugin.metrics, plugin.actor
        modes = {"on": recorder, "off": None}
        times: dict[str, list[float]] = {name: [] for name in modes}
        await plugin.measure()  # the runtime is idle on its own thread from here on; calls run inline
        plugin.actor = _InlineActor()  # type: ignore[assignment]
        try:
            for _ in range(inner * 5):
                await plugin.call("noop", ())
            with quiet_gc():
                for sample in range(samples):
                    for name, metrics in sorted(modes.items(), reverse=sample % 2 == 1):  # each goes first as often
                        plugin.metrics = metrics
                        start = time.perf_counter_ns()
                        for _ in range(inner):
                            await plugin.call("noop", ())
                        times[name].append((time.perf_counter_ns() - start) / inner / 1000)
                    await asyncio.sleep(0)  # let the loop run the callbacks and cancelled timers of the batch
        finally:
            plugin.actor, plugin.metrics = actor, recorder
        assert (await engine.report("metered")).calls >= samples * inner
    return {name: statistics.median(values) for name, values in times.items()}


async def _render_ms(root: Path, plugins: int, renders: int) -> dict[str, float]:
    """The text of `/metrics` (what blocks the engine's loop during a scrape) against prometheus_client's own."""
    directory = root / "many"
    directory.mkdir()
    for index in range(plugins):
        write_plugin(directory, "lua", f"p{index:03d}")
    async with Engine(_config(root / "many.sqlite3", directories=[directory])) as engine:
        for info in engine.plugins:
            await engine.call(info.id, "noop")
            await engine.call(info.id, "echo", {"a": 1})
            with contextlib.suppress(FoxplugError):
                await engine.call(info.id, "missing")
        await engine.metrics_text()  # memory sampled once, as a scrape does
        sides = {"ours": engine.metrics.render, "library": lambda: generate_latest(engine.metrics.registry)}
        times: dict[str, list[float]] = {name: [] for name in sides}
        with quiet_gc():
            for _ in range(renders):
                for name, render in sides.items():
                    start = time.perf_counter_ns()
                    render()
                    times[name].append((time.perf_counter_ns() - start) / 1e6)
        times.update(await _scrapes_ms(engine, renders))
    return {name: statistics.median(values) for name, values in times.items()}


async def _scrapes_ms(engine: Engine, scrapes: int) -> dict[str, list[float]]:
    """Whole HTTP round trips: `GET /metrics` and, in turn, `GET` of a route that does not exist."""
    endpoint = await serve_admin(engine, ("127.0.0.1", 0))
    paths = {"get": "/metrics", "get_nothing": "/no/such/route"}
    times: dict[str, list[float]] = {name: [] for name in paths}
    async with aiohttp.ClientSession() as session:
        for _ in range(scrapes):
            for name, path in paths.items():
                start = time.perf_counter_ns()
                async with session.get(endpoint.url + path) as response:
                    await response.read()
                times[name].append((time.perf_counter_ns() - start) / 1e6)
    return times


def run(quick: bool) -> list[Figure]:
    samples, inner, plugins, renders = (10, 10, 20, 3) if quick else (500, 50, 200, 30)
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        root = Path(tmp)
        call = asyncio.run(_per_call_us(root, samples, inner))
        render = asyncio.run(_render_ms(root, plugins, renders))
    return [
        Figure(
            key="metrics.call",
            title="Plugin.call without the thread hop, Lua noop, metrics recorded",
            unit="µs",
            ours=call["on"],
            baseline=call["off"],
            baseline_label="the same calls with the plugin's metrics recorder detached (as with monitoring off)",
            judge="overhead",
            limit=1,
        ),
        Figure(
            key="metrics.render",
            title=f"render /metrics with {plugins} plugins (3 methods each)",
            unit="ms",
            ours=render["ours"],
            baseline=render["library"],
            baseline_label="prometheus_client.generate_latest of the engine's registry (same families)",
            judge="ours",
            limit=50,
        ),
        Figure(
            key="metrics.get",
            title=f"GET /metrics over HTTP with {plugins} plugins (memory sampled, rendered, sent)",
            unit="ms",
            ours=render["get"],
            baseline=render["get_nothing"],
            baseline_label="GET of an unknown route on the same admin server (HTTP, Host check, routing)",
            judge="ours",
            limit=50,
        ),
    ]
