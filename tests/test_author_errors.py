"""Errors keep the author's words: a plugin that wraps a caught host error shows its own message and line, with
the host error as the cause; Lua's `return nil, "msg"` is an error; a table that is neither list nor object says
what to return instead; `fox.json.object()` encodes as `{}`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, PermissionDenied, PluginError, PluginTimeout

URL = "http://127.0.0.1:9/lyrics"
WRAPPERS = {
    "wrap.lua": f"""
        --[[---
        id: wrap
        version: 1.0.0
        ---]]
        local M = {{}}
        function M.fetch()
          local ok, err = pcall(fox.http.get, "{URL}")
          if not ok then
            error("lyrics lookup failed: " .. tostring(err))
          end
        end
        function M.bare() return fox.http.get("{URL}") end
        return M
        """,
    "wrap.js": f"""
        /*---
        id: wrap
        version: 1.0.0
        ---*/
        export async function fetch() {{
          try {{
            await fox.http.get("{URL}");
          }} catch (e) {{
            throw new Error(`lyrics lookup failed: ${{e.message}}`);
          }}
        }}
        export async function bare() {{ return await fox.http.get("{URL}"); }}
        """,
    "wrap.py": f'''
        """---
        id: wrap
        version: 1.0.0
        ---"""
        def fetch():
            try:
                fox.http.get("{URL}")
            except Exception as error:
                raise RuntimeError(f"lyrics lookup failed: {{error}}")


        def bare():
            return fox.http.get("{URL}")
        ''',
}


@pytest.mark.parametrize("name", list(WRAPPERS))
async def test_a_wrapped_host_error_keeps_the_plugins_message_line_and_the_cause(
    name: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(name, WRAPPERS[name])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginError) as caught:
            await fox.call("wrap", "fetch")
        with pytest.raises(PermissionDenied):  # not wrapped: the host's error, as it was
            await fox.call("wrap", "bare")
    error = caught.value
    assert error.message.startswith("fetch() failed: ")
    assert "lyrics lookup failed: " in error.message and "holds no network grant for 127.0.0.1" in error.message
    assert (error.file, error.line) == (str(path), 9)
    assert isinstance(error.__cause__, PermissionDenied)


LUA_SHAPES = """
--[[---
id: shapes
version: 1.0.0
---]]
local M = {}
function M.search(query) return nil, "rate limited, try again in 30 s" end
function M.sparse() local t = {} t[1] = "a" t[3] = "c" return t end
function M.mixed() return {1, 2, name = "x"} end
function M.encoded() return fox.json.encode({tags = fox.json.object(), list = {}}) end
function M.object() return {meta = fox.json.object({source = "x"}), empty = fox.json.object()} end
function M.nothing() return nil end
return M
"""


async def test_lua_return_nil_and_a_message_is_an_error_with_that_message(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("shapes.lua", LUA_SHAPES))
        with pytest.raises(PluginError, match=r"search\(\) failed: rate limited, try again in 30 s"):
            await fox.call("shapes", "search", "q")
        assert await fox.call("shapes", "nothing") is None  # a bare nil is still "no result"


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("sparse", r"result: a list with a hole \(no item 2, but items up to 3\).*table.insert"),
        ("mixed", r"result: a table mixing list items \(1..2\) with the key 'name': return a list"),
    ],
)
async def test_a_lua_table_that_is_neither_list_nor_object_says_what_to_return(
    function: str, message: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("shapes.lua", LUA_SHAPES))
        with pytest.raises(PluginError, match=message):
            await fox.call("shapes", function)


async def test_fox_json_object_is_an_object_even_when_empty(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("shapes.lua", LUA_SHAPES))
        assert json.loads(await fox.call("shapes", "encoded")) == {"tags": {}, "list": []}
        assert await fox.call("shapes", "object") == {"meta": {"source": "x"}, "empty": {}}


MICROTASKS = """
/*---
id: microtasks
version: 1.0.0
---*/
export async function forever() {
  const again = () => Promise.resolve().then(again);
  again();
  await new Promise(() => {});
}
"""


async def test_an_endless_js_microtask_chain_is_a_timeout(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("microtasks.js", MICROTASKS))
        with pytest.raises(PluginTimeout, match=r"exceeded its 0\.3 s deadline in forever\(\)"):
            await fox.call("microtasks", "forever", timeout=0.3)
