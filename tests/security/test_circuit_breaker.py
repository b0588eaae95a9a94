"""A plugin that keeps failing is suspended, retried after a cooldown, and disabled after repeated trips.

While suspended it answers at once with PluginSuspended (saying until when and why) and none of its code runs;
the others keep serving. Only the plugin's own failures count (timeouts, limits, crashes, script errors), not a
refused permission or a call to a function it lacks. A reload gives it a fresh breaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import Engine, PermissionDenied, PluginError, PluginNotFound, PluginSuspended, PluginTimeout

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}
COOLDOWN = 0.3
QUICK = 0.5
"""Generous bound for "answers at once": catches a refusal that waited for the plugin, not a slow machine."""

# Every function counts its runs in storage, which survives the fresh instance a timeout leaves behind.
FLAKY = {
    "lua": """
        local M = {}
        local function tick() fox.storage.set("runs", (fox.storage.get("runs") or 0) + 1) end
        function M.ok() tick(); return "ok" end
        function M.fail() tick(); error("boom") end
        function M.spin() tick(); while true do end end
        function M.deny() tick(); return fox.http.get("http://127.0.0.1:9/") end
        function M.runs() return fox.storage.get("runs") or 0 end
        function M.search(query) if query == "fail" then error("boom") end return {{id = "1", title = query}} end
        function M.on_custom_event() tick() end
        return M
    """,
    "js": """
        async function tick() { await fox.storage.set("runs", ((await fox.storage.get("runs")) || 0) + 1); }
        module.exports = {
          async ok() { await tick(); return "ok"; },
          async fail() { await tick(); throw new Error("boom"); },
          async spin() { await tick(); while (true) {} },
          async deny() { await tick(); return await fox.http.get("http://127.0.0.1:9/"); },
          async runs() { return (await fox.storage.get("runs")) || 0; },
        };
    """,
    "py": """
        def tick():
            fox.storage.set("runs", (fox.storage.get("runs") or 0) + 1)

        def ok():
            tick()
            return "ok"

        def fail():
            tick()
            raise ValueError("boom")

        def spin():
            tick()
            while True:
                pass

        def deny():
            tick()
            return fox.http.get("http://127.0.0.1:9/")

        def runs():
            return fox.storage.get("runs") or 0
    """,
}

STEADY = """
    local M = {}
    function M.ping() return "pong" end
    function M.search(query) return {{id = "2", title = query}} end
    return M
"""


def plugin_file(write_plugin: Callable[[str, str], Path], lang: str, plugin_id: str, body: str) -> Path:
    start, end = FENCE[lang]
    manifest = f"id: {plugin_id}\nversion: 1.0.0\npermissions:\n  storage: true"
    return write_plugin(f"{plugin_id}{EXT[lang]}", f"{start}\n{manifest}\n{end}\n{textwrap.dedent(body).strip()}\n")


def breaker_config(engine_config: Callable[..., dict[str, Any]], **breaker: Any) -> dict[str, Any]:
    settings = {"failures": 3, "cooldown": f"{int(COOLDOWN * 1000)}ms", "max_trips": 2, **breaker}
    return engine_config(security={"breaker": settings}, performance={"call_timeout": "250ms"})


def listen(fox: Engine) -> list[tuple[str, dict[str, Any]]]:
    heard: list[tuple[str, dict[str, Any]]] = []
    for event in ("plugin_suspended", "plugin_resumed", "plugin_disabled"):
        fox.on(event, lambda payload, event=event: heard.append((event, payload)))
    return heard


async def refused_at_once(fox: Engine, plugin: str, method: str = "ok") -> PluginSuspended:
    started = time.monotonic()
    with pytest.raises(PluginSuspended) as caught:
        await fox.call(plugin, method)
    assert time.monotonic() - started < QUICK
    assert caught.value.plugin == plugin
    return caught.value


@pytest.mark.parametrize("lang", LANGS)
async def test_repeated_script_errors_suspend_then_resume_then_disable_until_reload(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    plugin = f"flaky-{lang}"
    path = plugin_file(write_plugin, lang, plugin, FLAKY[lang])
    async with Engine(breaker_config(engine_config)) as fox:
        heard = listen(fox)
        await fox.load(path)
        for _ in range(3):
            with pytest.raises(PluginError, match="boom"):
                await fox.call(plugin, "fail")

        # Suspended: refused at once, saying until when and why; none of its code runs.
        error = await refused_at_once(fox, plugin)
        assert f"plugin `{plugin}` refused ok(): it is suspended until " in str(error)
        assert "after 3 consecutive failures; the last: PluginError: " in str(error)
        assert "boom" in str(error)
        info = fox.plugin(plugin)
        assert info.state == "suspended"
        assert info.breaker["state"] == "open"
        assert info.breaker["failures"] == 3
        assert info.breaker["trips"] == 1
        assert info.breaker["until"] is not None
        assert [event for event, _ in heard] == ["plugin_suspended"]
        assert heard[0][1]["id"] == plugin
        assert heard[0][1]["reason"].startswith("PluginError: ")

        # After the cooldown one trial call goes through; it succeeds, so the plugin is back.
        await asyncio.sleep(COOLDOWN + 0.1)
        assert fox.plugin(plugin).breaker["state"] == "half_open"
        assert await fox.call(plugin, "ok") == "ok"
        assert await fox.call(plugin, "runs") == 4  # 3 failures + the trial; the refused call never ran
        assert fox.plugin(plugin).state == "running"
        assert [event for event, _ in heard] == ["plugin_suspended", "plugin_resumed"]

        # The second trip is the last one (max_trips: 2): disabled until reload, cooldown or not.
        for _ in range(3):
            with pytest.raises(PluginError):
                await fox.call(plugin, "fail")
        error = await refused_at_once(fox, plugin)
        assert "it is disabled until it is reloaded, after its circuit breaker tripped 2 times" in str(error)
        await asyncio.sleep(COOLDOWN + 0.1)
        await refused_at_once(fox, plugin)
        assert fox.plugin(plugin).state == "tripped"
        assert fox.plugin(plugin).breaker["state"] == "tripped"
        assert [event for event, _ in heard] == ["plugin_suspended", "plugin_resumed", "plugin_disabled"]

        # A reload starts afresh.
        await fox.reload(plugin)
        assert fox.plugin(plugin).state == "running"
        assert fox.plugin(plugin).breaker == {
            "state": "closed",
            "failures": 0,
            "trips": 0,
            "until": None,
            "reason": None,
        }
        assert await fox.call(plugin, "ok") == "ok"
        assert await fox.call(plugin, "runs") == 8


@pytest.mark.parametrize("lang", LANGS)
async def test_timeouts_count_as_failures(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    plugin = f"spinner-{lang}"
    path = plugin_file(write_plugin, lang, plugin, FLAKY[lang])
    async with Engine(breaker_config(engine_config, failures=2)) as fox:
        await fox.load(path)
        for _ in range(2):
            with pytest.raises(PluginTimeout):
                await fox.call(plugin, "spin")
        error = await refused_at_once(fox, plugin, "spin")
        assert "the last: PluginTimeout: " in str(error)
        assert fox.plugin(plugin).state == "suspended"


async def test_a_failed_trial_suspends_it_again(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "lua", "flaky", FLAKY["lua"])
    async with Engine(breaker_config(engine_config, max_trips=3)) as fox:
        heard = listen(fox)
        await fox.load(path)
        for _ in range(3):
            with pytest.raises(PluginError):
                await fox.call("flaky", "fail")
        await asyncio.sleep(COOLDOWN + 0.1)
        with pytest.raises(PluginError, match="boom"):  # the trial runs, and fails
            await fox.call("flaky", "fail")
        await refused_at_once(fox, "flaky")
        assert fox.plugin("flaky").breaker["trips"] == 2
        assert [event for event, _ in heard] == ["plugin_suspended", "plugin_suspended"]


async def test_only_one_trial_call_runs_while_half_open(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "js", "flaky", FLAKY["js"])
    async with Engine(breaker_config(engine_config)) as fox:
        await fox.load(path)
        for _ in range(3):
            with pytest.raises(PluginError):
                await fox.call("flaky", "fail")
        await asyncio.sleep(COOLDOWN + 0.1)
        trial, other = await asyncio.gather(fox.call("flaky", "ok"), fox.call("flaky", "ok"), return_exceptions=True)
        assert trial == "ok"
        assert isinstance(other, PluginSuspended)
        assert "one trial call runs" in str(other)
        assert await fox.call("flaky", "ok") == "ok"


async def test_refused_permissions_and_missing_functions_neither_count_nor_reset(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "lua", "flaky", FLAKY["lua"])
    async with Engine(breaker_config(engine_config)) as fox:
        await fox.load(path)
        for _ in range(2):
            with pytest.raises(PluginError):
                await fox.call("flaky", "fail")
        for _ in range(5):
            with pytest.raises(PermissionDenied):
                await fox.call("flaky", "deny")
            with pytest.raises(PluginNotFound):
                await fox.call("flaky", "no_such_function")
        assert fox.plugin("flaky").state == "running"
        assert fox.plugin("flaky").breaker["failures"] == 2
        with pytest.raises(PluginError):
            await fox.call("flaky", "fail")  # the third consecutive failure
        await refused_at_once(fox, "flaky")


async def test_a_success_resets_the_count(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "py", "flaky", FLAKY["py"])
    async with Engine(breaker_config(engine_config)) as fox:
        await fox.load(path)
        for _ in range(3):
            for method in ("fail", "fail", "ok"):
                with contextlib.suppress(PluginError):
                    await fox.call("flaky", method)
        assert fox.plugin("flaky").breaker["state"] == "closed"
        assert await fox.call("flaky", "runs") == 9


async def test_others_keep_serving_and_a_fan_out_reports_the_suspension(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    flaky = plugin_file(write_plugin, "lua", "flaky", FLAKY["lua"])
    steady = plugin_file(write_plugin, "lua", "steady", STEADY)
    async with Engine(breaker_config(engine_config)) as fox:
        await fox.load(flaky)
        await fox.load(steady)
        for _ in range(3):
            result = await fox.search("fail")
            assert "boom" in result.errors["flaky"]
        started = time.monotonic()
        result = await fox.search("song")
        assert time.monotonic() - started < QUICK
        assert [item.title for item in result.items] == ["song"]
        assert result.errors["flaky"].startswith("PluginSuspended: ")
        assert await fox.call("steady", "ping") == "pong"
        with caplog.at_level(logging.WARNING, logger="engine.engine"):
            await fox.emit("custom_event", {})
            await asyncio.sleep(0.05)
        assert not [r for r in caplog.records if "on_custom_event" in r.getMessage()]  # skipped quietly


async def test_a_failed_reload_keeps_the_breaker_state(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "lua", "flaky", FLAKY["lua"])
    async with Engine(breaker_config(engine_config, max_trips=1)) as fox:
        await fox.load(path)
        for _ in range(3):
            with pytest.raises(PluginError):
                await fox.call("flaky", "fail")
        assert fox.plugin("flaky").state == "tripped"
        path.write_text(path.read_text().replace("return M", "return M +"), encoding="utf-8")  # a syntax error
        with pytest.raises(PluginError, match="syntax error"):
            await fox.reload("flaky")
        assert fox.plugin("flaky").state == "tripped"
        await refused_at_once(fox, "flaky")


def test_foxplug_list_shows_the_breaker(
    tmp_path: Path, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = plugin_file(write_plugin, "lua", "flaky", FLAKY["lua"])
    config = tmp_path / "plugins.yaml"
    config.write_text(yaml.safe_dump(engine_config(directories=[path.parent])), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "engine", "list", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["state"] == "running"
    assert row["breaker"]["state"] == "closed"
