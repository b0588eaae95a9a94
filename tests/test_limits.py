"""Runaway plugin code is stopped with a clear error, the plugin keeps serving, and nobody else waits for it."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, FoxplugError, PluginTimeout, ResourceLimitExceeded

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
DEADLINE = 0.3
SLACK = 1.0
"""Generous: these tests catch hangs; the tight figure (deadline + 50 ms) is measured in benchmarks/."""

RUNAWAY = {
    "lua": """
        local M = {}
        function M.ping() return "pong" end
        function M.spin() while true do end end
        function M.spin_in_pcall()
          while true do pcall(function() while true do end end) end
        end
        function M.spin_in_xpcall()
          while true do xpcall(function() while true do end end, function(e) return e end) end
        end
        function M.spin_in_error_handler()
          xpcall(function() error("boom") end, function() while true do end end)
        end
        function M.spin_in_coroutine()
          local co = coroutine.create(function() while true do end end)
          while true do pcall(coroutine.resume, co) end
        end
        function M.spin_in_wrapped_coroutine()
          local step = coroutine.wrap(function() while true do coroutine.yield() end end)
          while true do pcall(step) end
        end
        function M.spin_in_nested_coroutine()
          local outer = coroutine.wrap(function()
            local inner = coroutine.wrap(function() while true do end end)
            inner()
          end)
          outer()
        end
        function M.bomb()
          local t = {}
          for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
        end
        function M.bomb_in_pcall()
          while true do
            pcall(function()
              local t = {}
              for i = 1, 1e9 do t[i] = string.rep("y", 1000) .. i end
            end)
          end
        end
        function M.spin_in_finalizer()
          setmetatable({}, {__gc = function() while true do end end})
          for i = 1, 1e9 do local garbage = {i} end
        end
        function M.big_string() return string.rep("x", 64 * 1024 * 1024) end
        function M.recurse()
          local function down(n) return down(n + 1) + 1 end
          return down(1)
        end
        function M.busy(ms)
          local stop = os.clock() + ms / 1000
          while os.clock() < stop do end
          return "done"
        end
        return M
    """,
    "js": """
        module.exports = {
          ping() { return "pong"; },
          spin() { for (;;) {} },
          spin_in_try() { for (;;) { try { for (;;) {} } catch (e) {} } },
          spin_in_finally() { try { for (;;) {} } finally { for (;;) {} } },
          async spin_in_async() { await null; while (true) {} },
          async spin_after_host_call() { await fox.json.encode(1); for (;;) {} },
          spin_in_promise_job() { return new Promise(() => { Promise.resolve().then(() => { for (;;) {} }); }); },
          bomb() { const a = []; for (;;) a.push("x".repeat(1000) + a.length); },
          bomb_in_try() { for (;;) { try { const a = []; for (;;) a.push("y".repeat(1000) + a.length); } catch (e) {} } },
          recurse() { function down(n) { return down(n + 1) + 1; } return down(1); },
          busy(ms) { const stop = Date.now() + ms; while (Date.now() < stop) {} return "done"; },
        };
    """,
    "py": """
        def ping():
            return "pong"

        def spin():
            while True:
                pass

        def spin_in_bare_except():
            while True:
                try:
                    while True:
                        pass
                except:
                    pass

        def spin_in_finally():
            try:
                while True:
                    pass
            finally:
                while True:
                    pass

        def spin_in_generator():
            def numbers():
                n = 0
                while True:
                    n += 1
                    yield n
            for n in numbers():
                pass

        def spin_in_list_of_generator():
            def forever():
                while True:
                    yield 1
            return list(forever())

        def spin_in_for():
            import itertools
            total = 0
            for i in itertools.count():
                total += i
            return total

        def spin_in_comprehension():
            import itertools
            return [i for i in itertools.count()]

        def recurse():
            def down(n):
                return down(n + 1) + 1
            return down(1)

        def busy(ms):
            import datetime
            stop = datetime.datetime.now() + datetime.timedelta(milliseconds=ms)
            while datetime.datetime.now() < stop:
                pass
            return "done"
    """,
}


def runaway(lang: str, plugin_id: str | None = None) -> str:
    manifest = f"id: {plugin_id or 'runaway-' + lang}\nversion: 1.0.0"
    start, end = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}[lang]
    return f"{start}\n{manifest}\n{end}\n{textwrap.dedent(RUNAWAY[lang]).strip()}\n"


@pytest.fixture
def limited(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> Callable[[str], tuple[Engine, str]]:
    """`limited(lang)` -> an engine with a short deadline and a 16 MB memory limit, and the runaway plugin's path."""

    def build(lang: str) -> tuple[Engine, str]:
        path = write_plugin(f"runaway{EXT[lang]}", runaway(lang))
        config = engine_config(performance={"call_timeout": f"{int(DEADLINE * 1000)}ms", "memory_limit": "16MB"})
        return Engine(config), str(path)

    return build


async def assert_times_out(fox: Engine, plugin_id: str, method: str, deadline: float = DEADLINE) -> None:
    started = time.monotonic()
    with pytest.raises(PluginTimeout) as caught:
        await fox.call(plugin_id, method)
    elapsed = time.monotonic() - started
    assert elapsed < deadline + SLACK, f"{method}() was stopped only after {elapsed:.2f} s"
    assert caught.value.plugin == plugin_id
    assert f"deadline in {method}()" in str(caught.value)
    assert await fox.call(plugin_id, "ping") == "pong"  # the next call works (on a fresh instance)


LOOPS = [
    ("lua", "spin"),
    ("lua", "spin_in_pcall"),
    ("lua", "spin_in_xpcall"),
    ("lua", "spin_in_error_handler"),
    ("lua", "spin_in_coroutine"),
    ("lua", "spin_in_wrapped_coroutine"),
    ("lua", "spin_in_nested_coroutine"),
    ("js", "spin"),
    ("js", "spin_in_try"),
    ("js", "spin_in_finally"),
    ("js", "spin_in_async"),
    ("js", "spin_after_host_call"),
    ("js", "spin_in_promise_job"),
    ("py", "spin"),
    ("py", "spin_in_bare_except"),
    ("py", "spin_in_finally"),
    ("py", "spin_in_generator"),
    ("py", "spin_in_list_of_generator"),
    ("py", "spin_in_for"),
    ("py", "spin_in_comprehension"),
]


@pytest.mark.parametrize(("lang", "method"), LOOPS)
async def test_an_endless_loop_times_out_and_the_plugin_keeps_working(
    lang: str, method: str, limited: Callable[[str], tuple[Engine, str]]
) -> None:
    fox, path = limited(lang)
    async with fox:
        await fox.load(path)
        await assert_times_out(fox, f"runaway-{lang}", method)
        await assert_times_out(fox, f"runaway-{lang}", method)  # and again on the fresh instance


@pytest.mark.parametrize("lang", LANGS)
async def test_a_per_call_timeout_overrides_the_configured_deadline(
    lang: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(f"runaway{EXT[lang]}", runaway(lang))
    async with Engine(engine_config(performance={"call_timeout": "30s"})) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(PluginTimeout, match=r"exceeded its 0\.2 s deadline in spin\(\)"):
            await fox.call(f"runaway-{lang}", "spin", timeout=0.2)
        assert time.monotonic() - started < 0.2 + SLACK
        assert await fox.call(f"runaway-{lang}", "busy", 50) == "done"


@pytest.mark.parametrize(("lang", "method"), [("lua", "bomb"), ("lua", "bomb_in_pcall"), ("js", "bomb")])
async def test_a_memory_bomb_hits_the_memory_limit_and_the_plugin_keeps_working(
    lang: str, method: str, limited: Callable[[str], tuple[Engine, str]]
) -> None:
    fox, path = limited(lang)
    async with fox:
        await fox.load(path)
        for _ in range(2):
            with pytest.raises(ResourceLimitExceeded) as caught:  # a roomy deadline: the memory limit must win
                await fox.call(f"runaway-{lang}", method, timeout=5)
            assert "16777216-byte memory limit" in str(caught.value)
            assert f"in {method}()" in str(caught.value)
            assert caught.value.plugin == f"runaway-{lang}"
            assert await fox.call(f"runaway-{lang}", "ping") == "pong"
        assert fox.plugin(f"runaway-{lang}").state == "running"


async def test_a_js_bomb_that_catches_out_of_memory_and_retries_is_still_stopped(
    limited: Callable[[str], tuple[Engine, str]],
) -> None:
    """JS code may catch QuickJS's out-of-memory error; retrying forever then ends at the deadline instead."""
    fox, path = limited("js")
    async with fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises((ResourceLimitExceeded, PluginTimeout)) as caught:
            await fox.call("runaway-js", "bomb_in_try")
        assert time.monotonic() - started < DEADLINE + SLACK
        assert "in bomb_in_try()" in str(caught.value)
        assert await fox.call("runaway-js", "ping") == "pong"


async def test_a_lua_finalizer_cannot_escape_the_deadline(limited: Callable[[str], tuple[Engine, str]]) -> None:
    """Lua runs __gc with hooks off, so a looping finalizer would hang the plugin's thread for good."""
    fox, path = limited("lua")
    async with fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(FoxplugError, match="__gc metamethods are not available") as caught:
            await fox.call("runaway-lua", "spin_in_finalizer")
        assert time.monotonic() - started < DEADLINE + SLACK
        assert caught.value.line == 45  # the setmetatable line
        assert await fox.call("runaway-lua", "ping") == "pong"


async def test_one_huge_lua_allocation_hits_the_memory_limit(limited: Callable[[str], tuple[Engine, str]]) -> None:
    fox, path = limited("lua")
    async with fox:
        await fox.load(path)
        with pytest.raises(ResourceLimitExceeded, match="memory limit in big_string"):
            await fox.call("runaway-lua", "big_string")
        assert await fox.call("runaway-lua", "ping") == "pong"


@pytest.mark.parametrize("lang", LANGS)
async def test_deep_recursion_is_stopped_and_the_host_is_unharmed(
    lang: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(f"runaway{EXT[lang]}", runaway(lang))
    async with Engine(engine_config(performance={"call_timeout": "5s"})) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(ResourceLimitExceeded) as caught:
            await fox.call(f"runaway-{lang}", "recurse")
        assert time.monotonic() - started < 5
        assert "in recurse()" in str(caught.value)
        assert "stack" in str(caught.value) or "memory limit" in str(caught.value)
        assert await fox.call(f"runaway-{lang}", "ping") == "pong"


@pytest.mark.parametrize("lang", LANGS)
async def test_while_one_plugin_spins_another_answers_promptly(
    lang: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    spinner = write_plugin(f"spinner{EXT[lang]}", runaway(lang, "spinner"))
    other = {"lua": "py", "js": "lua", "py": "js"}[lang]
    helper = write_plugin(f"helper{EXT[other]}", runaway(other, "helper"))
    async with Engine(engine_config(performance={"call_timeout": "1500ms"})) as fox:
        await fox.load(spinner)
        await fox.load(helper)
        spinning = asyncio.ensure_future(fox.call("spinner", "spin"))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        for _ in range(20):
            assert await fox.call("helper", "ping") == "pong"
        await asyncio.sleep(0.05)  # the event loop itself is not blocked either
        assert time.monotonic() - started < 1.0
        assert not spinning.done()
        with pytest.raises(PluginTimeout):
            await spinning
        assert await fox.call("spinner", "ping") == "pong"
