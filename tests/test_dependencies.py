"""Plugins that depend on plugins: load order, refusals naming every party, and fox.plugins.call across languages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from engine import Engine
from engine.errors import DependencyError, PermissionDenied, PluginError, PluginTimeout

LIB_B = """
--[[---
id: lib-b
version: {version}
---]]
local M = {{}}
function M.answer(x)
  local stored = pcall(fox.storage.set, "k", x)  -- the caller may store; this plugin may not
  return {{ from = "lua", doubled = x * 2, callee_may_store = stored }}
end
function M.fail() error("lib-b broke") end
function M.spin() while true do end end
return M
"""

APP_JS = """
/*---
id: app-js
version: 1.0.0
dependencies: {deps}
permissions: {{plugins.call: true, storage: true}}
---*/
export async function ask(x) {{ return await fox.plugins.call("lib-b", "answer", x); }}
export async function broken() {{ return await fox.plugins.call("lib-b", "fail"); }}
export async function spin() {{ return await fox.plugins.call("lib-b", "spin"); }}
export async function stranger() {{ return await fox.plugins.call("other", "answer", 1); }}
"""


def lib(write_plugin, version: str = "1.4.0") -> Path:
    return write_plugin("lib_b.lua", LIB_B.format(version=version))


def app(write_plugin, deps: str = '{lib-b: "^1.0"}') -> Path:
    return write_plugin("app.js", APP_JS.format(deps=deps))


async def test_a_js_plugin_gets_its_lua_dependencys_answer(write_plugin, engine_config, tmp_path: Path) -> None:
    app(write_plugin)  # sorts before lib_b.lua: the loader must start lib-b first anyway
    lib(write_plugin)
    async with Engine(engine_config([tmp_path / "plugins"])) as fox:
        assert fox.load_errors == {}
        assert await fox.call("app-js", "ask", 21) == {"from": "lua", "doubled": 42, "callee_may_store": False}


async def test_the_callees_error_is_a_plugin_error_in_the_caller_naming_both(write_plugin, engine_config) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(lib(write_plugin))
        await fox.load(app(write_plugin))
        with pytest.raises(PluginError) as caught:
            await fox.call("app-js", "broken")
        message = str(caught.value)
        assert "`lib-b`.fail() failed when called by `app-js`" in message and "lib-b broke" in message


async def test_the_callee_runs_within_the_callers_remaining_deadline(write_plugin, engine_config) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(lib(write_plugin))
        await fox.load(app(write_plugin))
        started = time.monotonic()
        with pytest.raises((PluginTimeout, PluginError), match="deadline"):  # the callee's, or then the caller's
            await fox.call("app-js", "spin", timeout=0.5)
        assert time.monotonic() - started < 1.5
        assert await fox.call("app-js", "ask", 1) == {"from": "lua", "doubled": 2, "callee_may_store": False}


async def test_only_declared_dependencies_can_be_called(write_plugin, engine_config) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(lib(write_plugin))
        await fox.load(
            write_plugin(
                "other.lua", "--[[---\nid: other\nversion: 1.0.0\n---]]\nreturn { answer = function() return 1 end }"
            )
        )
        await fox.load(app(write_plugin))
        with pytest.raises(PermissionDenied, match="`other` is not among its dependencies"):
            await fox.call("app-js", "stranger")


async def test_calling_needs_the_plugins_call_permission(write_plugin, engine_config) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(lib(write_plugin))
        await fox.load(
            write_plugin(
                "nogrant.lua",
                '--[[---\nid: nogrant\nversion: 1.0.0\ndependencies: {lib-b: "*"}\n---]]\n'
                'return { go = function() return fox.plugins.call("lib-b", "answer", 1) end }',
            )
        )
        with pytest.raises(PermissionDenied, match=r"plugins\.call"):
            await fox.call("nogrant", "go")


PING_LUA = """
--[[---
id: {me}
version: 1.0.0
permissions: {{plugins.call: true}}
---]]
local M = {{}}
function M.ping(n)
  if n == 0 then return "{me}" end
  return fox.plugins.call("{other}", "ping", n - 1)
end
return M
"""

PING_JS = """
/*---
id: {me}
version: 1.0.0
permissions: {{plugins.call: true}}
---*/
export async function ping(n) {{
  if (n === 0) return "{me}";
  return await fox.plugins.call("{other}", "ping", n - 1);
}}
"""


@pytest.mark.parametrize("languages", [("lua", "lua"), ("js", "lua"), ("js", "js")])
async def test_two_plugins_calling_each_other_concurrently_do_not_deadlock(
    write_plugin, engine_config, languages: tuple[str, str]
) -> None:
    # A dependency cycle is refused at load, so plugins cannot call each other through the front door; the
    # edges are granted after loading to show the actors themselves do not deadlock: each answers the other's
    # calls while it waits for its own.
    sources = {"lua": PING_LUA, "js": PING_JS}
    async with Engine(engine_config()) as fox:
        for me, other, lang in (("ping-a", "ping-b", languages[0]), ("ping-b", "ping-a", languages[1])):
            await fox.load(write_plugin(f"{me}.{lang}", sources[lang].format(me=me, other=other)))
        fox._plugins["ping-a"].ctx.dependencies = frozenset({"ping-b"})
        fox._plugins["ping-b"].ctx.dependencies = frozenset({"ping-a"})
        started = time.monotonic()
        answers = await asyncio.gather(*(fox.call(p, "ping", 6, timeout=5) for p in ["ping-a", "ping-b"] * 4))
        assert answers == ["ping-a", "ping-b"] * 4
        assert time.monotonic() - started < 4


async def test_missing_conflicting_and_cyclic_dependencies_are_refused_naming_the_parties(
    write_plugin, engine_config, tmp_path: Path
) -> None:
    lib(write_plugin, "2.1.0")
    write_plugin(
        "needs_old.lua", '--[[---\nid: needs-old\nversion: 1.0.0\ndependencies: {lib-b: "^1.0"}\n---]]\nreturn {}'
    )
    write_plugin(
        "needs_gone.lua", '--[[---\nid: needs-gone\nversion: 1.0.0\ndependencies: {gone: "^1"}\n---]]\nreturn {}'
    )
    write_plugin("cyc_a.lua", '--[[---\nid: cyc-a\nversion: 1.0.0\ndependencies: {cyc-b: "*"}\n---]]\nreturn {}')
    write_plugin("cyc_b.lua", '--[[---\nid: cyc-b\nversion: 1.0.0\ndependencies: {cyc-a: "*"}\n---]]\nreturn {}')
    write_plugin("above.lua", '--[[---\nid: above\nversion: 1.0.0\ndependencies: {needs-old: "*"}\n---]]\nreturn {}')
    async with Engine(engine_config([tmp_path / "plugins"])) as fox:
        assert sorted(p.id for p in fox.plugins) == ["lib-b"]
        errors = {Path(path).stem: error for path, error in fox.load_errors.items()}
        assert all(isinstance(error, DependencyError) for error in errors.values())
        assert "needs `lib-b` ^1.0, but `lib-b` is 2.1.0" in str(errors["needs_old"])
        assert "needs `gone` ^1, which is not loaded" in str(errors["needs_gone"])
        assert "cyc-a -> cyc-b -> cyc-a" in str(errors["cyc_a"]) and "cyc-a -> cyc-b -> cyc-a" in str(errors["cyc_b"])
        assert "`above` is not started: its dependency `needs-old`" in str(errors["above"])


async def test_a_reload_outside_a_dependents_range_is_refused_and_the_old_version_keeps_serving(
    write_plugin, engine_config
) -> None:
    async with Engine(engine_config()) as fox:
        path = lib(write_plugin)
        await fox.load(path)
        await fox.load(app(write_plugin))
        lib(write_plugin, "2.0.0")
        with pytest.raises(DependencyError, match=r"`app-js` needs `lib-b` \^1\.0, but `lib-b` is 2\.0\.0"):
            await fox.reload("lib-b")
        assert fox.plugin("lib-b").version == "1.4.0"
        assert (await fox.call("app-js", "ask", 2))["doubled"] == 4


def test_foxplug_check_loads_dependencies_first_whatever_the_order_given(write_plugin, engine_config, tmp_path) -> None:
    config = tmp_path / "plugins.yaml"
    config.write_text(yaml.safe_dump(engine_config(monitoring={"enabled": False})))
    app_path, lib_path = app(write_plugin), lib(write_plugin)
    result = subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), "check", str(app_path), str(lib_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"OK app-js 1.0.0 js {app_path}", f"OK lib-b 1.4.0 lua {lib_path}"]


async def test_a_dependency_that_fails_to_start_keeps_its_dependents_from_starting(
    write_plugin, engine_config, tmp_path: Path
) -> None:
    write_plugin("lib_b.lua", '--[[---\nid: lib-b\nversion: 1.0.0\n---]]\nreturn { init = function() error("no") end }')
    app(write_plugin)
    async with Engine(engine_config([tmp_path / "plugins"])) as fox:
        assert fox.plugins == []
        error = fox.load_errors[str(tmp_path / "plugins" / "app.js")]
        assert isinstance(error, DependencyError)
        assert "`app-js` is not started: its dependency `lib-b` (^1.0) failed: PluginError: " in str(error)
        assert "lib_b.lua:5: init() failed: no" in str(error)
