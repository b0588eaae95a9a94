"""`isolation: process`: a script plugin in a worker process, stopped at its deadline even inside one native call,
its memory bombs hitting the worker's limit, not the host's; everything else as in a thread."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, PermissionDenied, PluginError, PluginTimeout, ResourceLimitExceeded

DEADLINE = 0.5
SLACK = 1.0
"""Generous: these catch hangs; benchmarks and the report carry the tight figure (deadline + ~55 ms)."""

RUNAWAY_PY = '''
"""---
id: runaway
version: 1.0.0
permissions: {storage: true}
---"""
def ping():
    return "pong"

def spin():
    while True:
        pass

def string_bomb():
    return len("a" * 10**10)

def power():
    return 10**10**10

def remember(value):
    fox.storage.set("value", value)
    return fox.storage.get("value")

def notify():
    fox.ui.notify("hi")

def broken():
    return {}["missing"]
'''
RUNAWAY_LUA = """
--[[---
id: runaway-lua
version: 1.0.0
---]]
local M = {}
function M.ping() return "pong" end
function M.backtrack()
  return string.find(string.rep("a", 300000), ".-.-.-.-.-.-.-.-b")
end
return M
"""


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def workers() -> list[int]:
    """Pids of this process's children running the engine's worker."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"engine/runtimes/process/worker.py" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
async def isolated(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Callable[[str, str], Path]
) -> AsyncIterator[Engine]:
    config = engine_config(
        hot_reload={"enabled": False}, security={"isolation": "process"}, performance={"call_timeout": DEADLINE}
    )
    async with Engine(config) as fox:
        await fox.load(write_plugin("runaway.py", RUNAWAY_PY))
        await fox.load(write_plugin("runaway_lua.lua", RUNAWAY_LUA))
        yield fox


async def timed(fox: Engine, plugin: str, method: str) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises((PluginTimeout, ResourceLimitExceeded)) as caught:
        await fox.call(plugin, method)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize(
    ("plugin", "method"),
    [
        ("runaway", "spin"),
        ("runaway", "string_bomb"),
        ("runaway", "power"),
        ("runaway-lua", "backtrack"),
    ],
)
async def test_runaway_code_ends_at_the_deadline_and_the_host_is_untouched(
    isolated: Engine, plugin: str, method: str
) -> None:
    before = rss()
    error, took = await timed(isolated, plugin, method)
    after = rss()
    pong = await isolated.call(plugin, "ping", timeout=5.0)  # may wait for a new worker to start

    assert f"in {method}()" in str(error)
    assert took < DEADLINE + SLACK
    assert after - before < 20 << 20  # the worker allocated, or was killed; the host did neither
    assert pong == "pong"  # a fresh worker serves


async def test_a_catastrophic_pattern_is_killed_where_a_thread_could_only_be_abandoned(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Callable[[str, str], Path]
) -> None:
    config = engine_config(
        hot_reload={"enabled": False},
        performance={"call_timeout": DEADLINE},
        plugin_configs={"runaway-lua": {"isolation": "process"}},  # per plugin; the global default is thread
    )
    async with Engine(config) as fox:
        await fox.load(write_plugin("runaway_lua.lua", RUNAWAY_LUA))
        await fox.load(write_plugin("runaway.py", RUNAWAY_PY))
        running = workers()
        error, took = await timed(fox, "runaway-lua", "backtrack")
        meanwhile = await fox.call("runaway", "ping")

    assert len(running) == 1  # only the plugin configured for it has a worker
    assert re.search(r"exceeded its 0\.\d+ s deadline in backtrack\(\)", str(error))
    assert "stuck in native code" not in str(error)  # what a thread can only say a second later
    assert took < DEADLINE + SLACK
    assert meanwhile == "pong"


async def test_other_plugins_serve_while_one_is_stalled(isolated: Engine) -> None:
    stalled = asyncio.ensure_future(isolated.call("runaway-lua", "backtrack"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    pong = await isolated.call("runaway", "ping")
    quick = time.monotonic() - started
    with pytest.raises(PluginTimeout):
        await stalled

    assert pong == "pong" and quick < DEADLINE


async def test_host_calls_go_through_the_hosts_gate(isolated: Engine) -> None:
    stored = await isolated.call("runaway", "remember", {"n": 1})
    with pytest.raises(PermissionDenied, match=r"called fox.ui.notify\('hi'\) without the `ui.notify` permission"):
        await isolated.call("runaway", "notify")

    assert stored == {"n": 1}


async def test_script_errors_keep_their_file_and_line(isolated: Engine) -> None:
    with pytest.raises(PluginError) as caught:
        await isolated.call("runaway", "broken")

    assert caught.value.file and caught.value.file.endswith("runaway.py")
    assert caught.value.line == RUNAWAY_PY.lstrip("\n").splitlines().index('    return {}["missing"]') + 1
    assert "KeyError" in str(caught.value)


async def test_no_worker_survives_the_engine(isolated: Engine) -> None:
    pids = workers()
    await isolated.close()

    assert len(pids) == 2
    assert workers() == []
