"""Whatever a plugin returns, the host gets plain data or a clear error naming the function; never a crash."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, PluginError, ResourceLimitExceeded

Write = Callable[[str, str], Path]
Build = Callable[..., dict[str, Any]]

JUNK = {
    "lua": """
        local M = {}
        function M.ping() return "pong" end
        function M.a_function() return function() end end
        function M.nested_function() return {songs = {{id = "1", play = print}}} end
        function M.cyclic() local t = {}; t.self = t; return t end
        function M.bool_key() return {[true] = 1} end
        function M.float_key() return {[1.5] = "x"} end
        function M.mixed_keys() return {1, 2, name = "x"} end
        function M.sparse() return {[1] = "a", [3] = "c"} end
        function M.nan() return 0/0 end
        function M.inf() return {value = math.huge} end
        function M.coroutine() return coroutine.create(function() end) end
        function M.deep() local t = {}; for i = 1, 100 do t = {t} end; return t end
        function M.huge() return string.rep("x", 100000) end
        function M.many() local t = {}; for i = 1, 50000 do t[i] = i end; return t end
        function M.plain() return {title = "ok", n = 1.5, tags = {"a", "b"}, empty = {}, yes = true} end
        return M
    """,
    "js": """
        module.exports = {
          ping() { return "pong"; },
          a_function() { return function () {}; },
          nested_function() { return {songs: [{id: "1", play() {}}]}; },
          cyclic() { const o = {}; o.self = o; return o; },
          symbol() { return Symbol("s"); },
          bigint() { return {n: 10n}; },
          nan() { return NaN; },
          inf() { return {value: Infinity}; },
          throws_in_tojson() { return {toJSON() { throw new Error("no json for you"); }}; },
          async async_function() { return () => 1; },
          deep() { let t = []; for (let i = 0; i < 100000; i++) t = [t]; return t; },
          huge() { return "x".repeat(100000); },
          many() { return Array.from({length: 50000}, (_, i) => i); },
          plain() { return {title: "ok", n: 1.5, tags: ["a", "b"], empty: {}, yes: true, missing: undefined}; },
        };
    """,
    "py": """
        def ping():
            return "pong"

        def a_function():
            return ping

        def nested_function():
            return {"songs": [{"id": "1", "play": ping}]}

        def cyclic():
            d = {}
            d["self"] = d
            return d

        def int_key():
            return {1: "one"}

        def tuple_key():
            return {("a", "b"): 1}

        def nan():
            return float("nan")

        def inf():
            return {"value": float("inf")}

        def a_set():
            return {1, 2}

        def a_bytes():
            return b"raw"

        def deep():
            t = []
            for i in range(100):
                t = [t]
            return t

        def huge():
            return "x" * 100000

        def many():
            return [i for i in range(500)] * 100

        def plain():
            return {"title": "ok", "n": 1.5, "tags": ("a", "b"), "empty": {}, "yes": True}
    """,
}
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}

CASES = [
    ("lua", "a_function", "result: a Lua function is not data"),
    ("lua", "nested_function", "result.songs[1].play: a Lua function is not data"),
    ("lua", "cyclic", "nested deeper than 64 levels (or cyclic)"),
    ("lua", "bool_key", "non-string key True"),
    ("lua", "float_key", "non-string key 1.5"),
    ("lua", "mixed_keys", "a table mixing list items"),
    ("lua", "sparse", "a list with a hole"),
    ("lua", "nan", "is not a finite number"),
    ("lua", "inf", "result.value: inf is not a finite number"),
    ("lua", "coroutine", "is not data"),
    ("lua", "deep", "nested deeper than 64 levels"),
    ("js", "a_function", "a function is not data"),
    ("js", "nested_function", "`play`: a function is not data"),
    ("js", "cyclic", "circular"),
    ("js", "symbol", "a symbol is not data"),
    ("js", "bigint", "`n`: a bigint is not data"),
    ("js", "nan", "NaN is not a finite number"),
    ("js", "inf", "`value`: Infinity is not a finite number"),
    ("js", "throws_in_tojson", "no json for you"),
    ("js", "async_function", "a function is not data"),
    ("py", "a_function", "result: a function is not data"),
    ("py", "nested_function", "result.songs[0].play: a function is not data"),
    ("py", "cyclic", "nested deeper than 64 levels (or cyclic)"),
    ("py", "int_key", "non-string key 1 (int)"),
    ("py", "tuple_key", "non-string key ('a', 'b') (tuple)"),
    ("py", "nan", "nan is not a finite number"),
    ("py", "inf", "result.value: inf is not a finite number"),
    ("py", "a_set", "a set is not data"),
    ("py", "a_bytes", "a bytes is not data"),
    ("py", "deep", "nested deeper than 64 levels"),
]


def junk_plugin(write_plugin: Write, lang: str) -> Path:
    return write_plugin(f"junk{EXT[lang]}", textwrap.dedent(JUNK[lang]).strip() + "\n")


@pytest.mark.parametrize(("lang", "method", "reason"), CASES)
async def test_junk_results_are_a_clear_plugin_error_and_the_plugin_keeps_working(
    lang: str, method: str, reason: str, write_plugin: Write, engine_config: Build
) -> None:
    path = junk_plugin(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginError) as caught:
            await fox.call("junk", method)
        message = str(caught.value)
        assert f"{method}() returned data the host cannot use" in message or (
            method == "throws_in_tojson" and f"{method}()" in message
        )
        assert reason in message
        assert caught.value.file == str(path)
        assert "Traceback" not in message
        assert await fox.call("junk", "ping") == "pong"
        assert fox.plugin("junk").state == "running"


@pytest.mark.parametrize("lang", ["lua", "js", "py"])
async def test_a_js_deep_structure_is_refused_without_crashing_the_host(
    lang: str, write_plugin: Write, engine_config: Build
) -> None:
    path = junk_plugin(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises((PluginError, ResourceLimitExceeded)) as caught:
            await fox.call("junk", "deep")
        assert "deep()" in str(caught.value)
        assert await fox.call("junk", "ping") == "pong"


@pytest.mark.parametrize("lang", ["lua", "js", "py"])
@pytest.mark.parametrize("method", ["huge", "many"])
async def test_a_result_over_the_size_limit_is_refused(
    lang: str, method: str, write_plugin: Write, engine_config: Build
) -> None:
    path = junk_plugin(write_plugin, lang)
    async with Engine(engine_config(performance={"max_result_size": "64KB"})) as fox:
        await fox.load(path)
        with pytest.raises(ResourceLimitExceeded) as caught:
            await fox.call("junk", method)
        assert f"65536-byte result limit in {method}()" in str(caught.value)
        assert caught.value.plugin == "junk"
        assert await fox.call("junk", "ping") == "pong"
    async with Engine(engine_config()) as fox:  # the default limit (4 MB) lets the same value through
        await fox.load(path)
        assert len(await fox.call("junk", method)) in (100000, 50000)


@pytest.mark.parametrize("lang", ["lua", "js", "py"])
async def test_plain_data_comes_back_as_json_values(lang: str, write_plugin: Write, engine_config: Build) -> None:
    path = junk_plugin(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        value = await fox.call("junk", "plain")
    empty: Any = [] if lang == "lua" else {}  # Lua cannot tell an empty object from an empty list
    assert value == {"title": "ok", "n": 1.5, "tags": ["a", "b"], "empty": empty, "yes": True}


SOURCES = {
    "no-id.lua": 'local M = {}\nfunction M.search(q) return {{title = "t"}} end\nreturn M',
    "bad-title.js": 'module.exports = { search(q) { return [{id: "1", title: {nested: true}}]; } };',
    "bad-artists.py": 'def search(q, opts=None):\n    return [{"id": "1", "title": "t", "artists": 5}]',
    "not-a-list.lua": 'local M = {}\nfunction M.search(q) return "songs" end\nreturn M',
    "a-function.js": "module.exports = { search(q) { return [{id: '1', title: 't', extra: () => 1}]; } };",
    "fine.py": 'def search(q, opts=None):\n    return {"items": [{"id": 7, "name": "Seven", "artist": "Band", "duration": 1000}]}',
}


async def test_invalid_song_shapes_from_search_become_per_plugin_errors(
    write_plugin: Write, engine_config: Build
) -> None:
    for name, body in SOURCES.items():
        path = write_plugin(name, body + "\n")
    async with Engine(engine_config(directories=[path.parent])) as fox:
        result = await fox.search("q")
        assert len(fox.plugins) == len(SOURCES)
        assert [(s.id, s.title, s.source, [a.name for a in s.artists], s.duration_ms) for s in result.items] == [
            ("7", "Seven", "fine", ["Band"], 1000)
        ]
        assert set(result.errors) == {"no-id", "bad-title", "bad-artists", "not-a-list", "a-function"}
        for error in result.errors.values():
            assert error.startswith("PluginError: "), error
            assert "search()" in error, error
        assert "id" in result.errors["no-id"]
        assert "title" in result.errors["bad-title"]
        assert "artists" in result.errors["bad-artists"]
        assert "a function is not data" in result.errors["a-function"]
        # every source is still serving
        assert await fox.call("no-id", "search", "again") == [{"title": "t"}]
