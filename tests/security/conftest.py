"""What every hostile-plugin test needs: things that must stay untouched, and a bystander that must keep answering.

- `sentinel`: a file no plugin may read, change or delete (`sentinel.untouched()`).
- `witness`: an HTTP server on 127.0.0.1 (port 0) that records every request; a blocked plugin leaves it empty.
- `healthy`: a well-behaved Lua plugin (`bystander`, `ping() -> "pong"`) to load beside a hostile one;
  `await healthy.answer_time(fox)` calls it and returns the seconds the answer took.
- `rss_budget`: module-scoped; fails the module if the host's RSS grew more than 256 MB during it.
- `attack`: `await attack(fox, plugin_id, method, *args)` makes the call while asking the bystander, and watching
  the event loop, meanwhile; returns an `Outcome` (the error or value, the seconds each took).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine

RSS_BUDGET = 256 << 20


@dataclass(frozen=True)
class Sentinel:
    path: Path
    content: str
    mtime_ns: int

    def untouched(self) -> bool:
        """Same bytes, same mtime, and nothing new beside it."""
        return (
            self.path.is_file()
            and self.path.read_text(encoding="utf-8") == self.content
            and self.path.stat().st_mtime_ns == self.mtime_ns
            and [p.name for p in self.path.parent.iterdir()] == [self.path.name]
        )


@pytest.fixture
def sentinel(tmp_path: Path) -> Sentinel:
    path = tmp_path / "sentinel" / "secret.txt"
    path.parent.mkdir()
    path.write_text("the host's secret\n", encoding="utf-8")
    return Sentinel(path, "the host's secret\n", path.stat().st_mtime_ns)


@dataclass
class Witness:
    port: int = 0
    requests: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def witness() -> AsyncIterator[Witness]:
    state = Witness()

    async def record(request: web.Request) -> web.Response:
        state.requests.append(f"{request.method} {request.path_qs}")
        return web.Response(text="seen")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.port = runner.addresses[0][1]
    yield state
    await runner.cleanup()


HEALTHY = """\
--[[---
id: bystander
version: 1.0.0
---]]
local M = {}
function M.ping() return "pong" end
return M
"""


@dataclass(frozen=True)
class Healthy:
    path: Path
    id: str = "bystander"

    async def answer_time(self, fox: Engine) -> float:
        started = time.perf_counter()
        assert await fox.call(self.id, "ping") == "pong"
        return time.perf_counter() - started


@pytest.fixture
def healthy(write_plugin: Callable[[str, str], Path]) -> Healthy:
    return Healthy(write_plugin("bystander.lua", HEALTHY))


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) << 10
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def rss_budget() -> Iterator[None]:
    start = _rss()
    yield
    grown = _rss() - start
    assert grown <= RSS_BUDGET, f"the host's RSS grew by {grown >> 20} MB during this module"


@dataclass(frozen=True)
class Outcome:
    error: BaseException | None
    value: Any
    elapsed: float
    """Seconds from the call to its answer."""
    bystander: float
    """Seconds the bystander took to answer while the call ran (or just after, for a call that ends at once)."""
    loop_turn: float
    """The longest the event loop took to come back meanwhile: a native call holding the GIL shows here."""


async def _watch_loop(stop: asyncio.Event) -> float:
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, time.perf_counter() - started - 0.005)
    return worst


@pytest.fixture
def attack(healthy: Healthy) -> Callable[..., Awaitable[Outcome]]:
    async def run(fox: Engine, plugin_id: str, method: str, *args: Any, timeout: float | None = None) -> Outcome:
        stop = asyncio.Event()
        watch = asyncio.ensure_future(_watch_loop(stop))
        started = time.perf_counter()
        call = asyncio.ensure_future(fox.call(plugin_id, method, *args, timeout=timeout))
        finished: list[float] = []
        call.add_done_callback(lambda _: finished.append(time.perf_counter()))
        await asyncio.sleep(0.02)
        bystander = await healthy.answer_time(fox)
        error: BaseException | None = None
        value: Any = None
        try:
            value = await call
        except Exception as exc:
            error = exc
        stop.set()
        # a call already done when awaited returns before its done-callback ran: then it ended just now
        ended = finished[0] if finished else time.perf_counter()
        return Outcome(error, value, ended - started, bystander, await watch)

    return run


@dataclass
class Sandbox:
    fox: Engine
    plugin: str = "hostile"


@asynccontextmanager
async def hostile_engine(
    config: dict[str, Any], write_plugin: Callable[[str, str], Path], healthy: Healthy, plugins: dict[str, str]
) -> AsyncIterator[Sandbox]:
    """An engine holding the hostile plugin and its helpers (`{file name: source}`) beside the bystander."""
    async with Engine(config) as fox:
        for name, source in plugins.items():
            await fox.load(write_plugin(name, source))  # write_plugin dedents
        await fox.load(healthy.path)
        yield Sandbox(fox)


def sandbox_config(
    engine_config: Callable[..., dict[str, Any]], sentinel: Sentinel, witness: Witness, deadline: float
) -> dict[str, Any]:
    """Calls get `deadline` and 16 MB; the hostile plugin is told where the sentinel and the witness are."""
    return engine_config(
        performance={"call_timeout": f"{int(deadline * 1000)}ms", "memory_limit": "16MB"},
        plugin_configs={"hostile": {"config": {"sentinel": str(sentinel.path), "url": witness.url("/escaped")}}},
    )


async def assert_contained(
    sandbox: Sandbox,
    method: str,
    outcome: Outcome,
    expected: tuple[type[BaseException], ...],
    pattern: str,
    *,
    deadline: float,
    slack: float,
    stall: float,
    sentinel: Sentinel,
    witness: Witness,
    healthy: Healthy,
) -> None:
    """The typed error, in time, with nothing done, the host responsive and both plugins still serving."""
    assert type(outcome.error) in expected, f"{method}() gave {outcome.error!r} / {outcome.value!r}"
    assert re.search(pattern.format(method=method), str(outcome.error)), str(outcome.error)
    assert outcome.error.plugin == sandbox.plugin
    assert outcome.elapsed < deadline + slack, f"{method}() ended only after {outcome.elapsed:.2f} s"
    assert outcome.bystander < stall, f"the bystander took {outcome.bystander:.3f} s to answer during {method}()"
    assert outcome.loop_turn < stall, f"the event loop stalled {outcome.loop_turn:.3f} s during {method}()"
    assert sentinel.untouched()
    assert witness.requests == []
    assert await sandbox.fox.call(sandbox.plugin, "ping") == "pong"  # the plugin itself serves on
    assert await healthy.answer_time(sandbox.fox) < stall


def print_figures(label: str, figures: list[tuple[str, float, float, float]]) -> None:
    """With `-s`: every case's time to its error, the bystander's answer time and the worst event-loop turn."""
    if figures:
        print(f"\n{label:<40}{'error after':>12}{'bystander':>11}{'loop turn':>11}")
        for name, elapsed, bystander, turn in figures:
            print(f"{name:<40}{elapsed * 1000:>9.0f} ms{bystander * 1000:>8.1f} ms{turn * 1000:>8.1f} ms")


@pytest.fixture(autouse=True)
def _watched(loop_watchdog: Any) -> None:
    """Every hostile-plugin test runs under the event-loop watchdog."""
