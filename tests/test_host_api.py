"""The `fox` object every plugin sees: built from one table, the same in Lua, JavaScript and restricted Python."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine, PluginError, PluginTimeout, ResourceLimitExceeded
from script_api.api import HOST_FUNCTIONS

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}
ALL_PERMISSIONS = """
permissions:
  network: [127.0.0.1]
  storage: true
  player.read: true
  player.control: true
  ui.notify: true
  events.emit: true
  plugins.call: true
"""

Write = Callable[[str, str], Path]
Build = Callable[..., dict[str, Any]]


def plugin_text(lang: str, manifest: str, body: str) -> str:
    start, end = FENCE[lang]
    return f"{start}\n{textwrap.dedent(manifest).strip()}\n{end}\n{textwrap.dedent(body).strip()}\n"


@pytest.fixture
async def api() -> AsyncIterator[str]:
    """A local HTTP API: /echo reflects the request, /big sends 10 KB, /stream 10 KB in chunks, /slow waits."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response(
            {
                "method": request.method,
                "query": dict(request.query),
                "header": request.headers.get("X-Fox", ""),
                "body": json.loads(body) if body else None,
            }
        )

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 10_000)

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 1000)
        await response.write_eof()
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/big", big)
    app.router.add_get("/stream", stream)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)  # do not wait for /slow requests the tests gave up on
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def reflective_plugin(lang: str, manifest: str = "") -> str:
    """A plugin that lists the functions of its `fox` object and calls any of them by dotted name."""
    if lang == "lua":
        body = """
            local M = {}
            function M.functions()
              local names = {}
              for group, ns in pairs(fox) do
                if type(ns) == "table" then
                  for leaf, fn in pairs(ns) do
                    if type(fn) == "function" then names[#names + 1] = group .. "." .. leaf end
                  end
                end
              end
              table.sort(names)
              return names
            end
            function M.call(name, args)
              local group, leaf = name:match("^([^.]+)%.(.+)$")
              return fox[group][leaf](table.unpack(args))
            end
            function M.catch(name, args)
              local ok, err = pcall(M.call, name, args)
              return ok and "no error" or tostring(err)
            end
            return M
        """
    elif lang == "js":
        body = """
            module.exports = {
              functions() {
                const names = [];
                for (const group of Object.keys(fox)) {
                  const ns = fox[group];
                  if (ns === null || typeof ns !== "object") continue;
                  for (const leaf of Object.keys(ns)) if (typeof ns[leaf] === "function") names.push(group + "." + leaf);
                }
                return names.sort();
              },
              async call(name, args) {
                const [group, leaf] = name.split(".");
                return await fox[group][leaf](...args);
              },
              async catch(name, args) {
                try { await this.call(name, args); return "no error"; }
                catch (e) { return e.name + ": " + e.message; }
              },
            };
        """
    else:  # restricted Python has no getattr(): the table of functions is written out from HOST_FUNCTIONS
        entries = "\n".join(f'    "{name}": fox.{name},' for name in HOST_FUNCTIONS)
        body = f"""
FUNCS = {{
{entries}
}}

def functions():
    return sorted(FUNCS)

def call(name, args):
    return FUNCS[name](*args)

def catch(name, args):
    try:
        call(name, args)
        return "no error"
    except Exception as e:
        return str(e)
"""
    return plugin_text(lang, "id: reflect\nversion: 1.0.0\n" + manifest + ALL_PERMISSIONS.strip(), body)


def sample_calls(api: str) -> list[tuple[str, list[Any], Callable[[Any], bool]]]:
    """One valid call of every host function, in an order where each result is predictable."""
    return [
        ("log.debug", ["d"], lambda r: r is None),
        ("log.info", ["i"], lambda r: r is None),
        ("log.warn", ["w"], lambda r: r is None),
        ("log.error", ["e"], lambda r: r is None),
        ("json.encode", [{"a": [1, 2]}], lambda r: r == '{"a":[1,2]}'),
        ("json.decode", ['{"a": [1, "two"]}'], lambda r: r == {"a": [1, "two"]}),
        ("plugin.info", [], lambda r: (r["id"], r["version"], r["config"] or None) == ("reflect", "1.0.0", None)),
        (
            "http.get",
            [f"{api}/echo", {"query": {"q": "x"}}],
            lambda r: r["status"] == 200 and r["json"]["query"] == {"q": "x"},
        ),
        (
            "http.request",
            ["POST", f"{api}/echo", {"json": {"n": 1}, "headers": {"X-Fox": "yes"}}],
            lambda r: json.loads(r["body"]) == {"method": "POST", "query": {}, "header": "yes", "body": {"n": 1}},
        ),
        ("storage.set", ["k", {"v": 1}], lambda r: r is None),
        ("storage.get", ["k"], lambda r: r == {"v": 1}),
        ("storage.keys", [], lambda r: r == ["k"]),
        ("storage.delete", ["k"], lambda r: r is True),
        ("player.state", [], lambda r: r == "stopped"),
        ("player.position", [], lambda r: r == 0),
        ("player.volume", [], lambda r: r == 80),
        ("player.current", [], lambda r: r is None),
        ("player.play", [{"id": "1", "title": "t"}], lambda r: r is None),
        ("player.pause", [], lambda r: r is None),
        ("player.resume", [], lambda r: r is None),
        ("player.seek", [1000], lambda r: r is None),
        ("player.set_volume", [50], lambda r: r is None),
        ("player.next", [], lambda r: r is None),
        ("player.previous", [], lambda r: r is None),
        ("player.stop", [], lambda r: r is None),
        ("ui.notify", ["hello", "info"], lambda r: r is None),
        ("events.emit", ["custom", {"n": 1}], lambda r: r is None),
        ("plugins.call", ["twice", "twice", 21], lambda r: r == 42),
    ]


@pytest.mark.parametrize("lang", LANGS)
async def test_every_host_function_is_on_the_fox_object_and_answers(
    lang: str, write_plugin: Write, engine_config: Build, api: str
) -> None:
    calls = sample_calls(api)
    assert sorted(name for name, _, _ in calls) == sorted(HOST_FUNCTIONS)  # a new host function needs a sample
    path = write_plugin(f"reflect{EXT[lang]}", reflective_plugin(lang, 'dependencies: {twice: "^1"}\n'))
    twice = write_plugin(
        "twice.lua", "--[[---\nid: twice\nversion: 1.0.0\n---]]\nreturn {twice = function(n) return 2 * n end}"
    )
    notified: list[Any] = []
    async with Engine(engine_config()) as fox:
        fox.on("notify", notified.append)
        await fox.load(twice)
        await fox.load(path)
        lua_only = ["json.object"] if lang == "lua" else []  # Lua's one table type needs a way to say "object"
        assert await fox.call("reflect", "functions") == sorted([*HOST_FUNCTIONS, *lua_only])
        for name, args, check in calls:
            result = await fox.call("reflect", "call", name, args)
            assert check(result), f"fox.{name}({args}) returned {result!r}"
        assert fox.player.state() == "stopped"
        assert fox.player.volume() == 50
        await asyncio.sleep(0.05)
    assert notified == [{"plugin": "reflect", "text": "hello", "level": "info"}]


WRONG = [
    ("storage.set", [5, "v"], "fox.storage.set: argument `key` must be string, got int"),
    ("json.decode", [], "fox.json.decode: argument `text` must be string, got nothing"),
    ("json.decode", [True], "fox.json.decode: argument `text` must be string, got bool"),
    ("player.seek", ["soon"], "fox.player.seek: argument `position_ms` must be integer, got str"),
    ("player.set_volume", [1.5], "fox.player.set_volume: argument `volume` must be integer, got float"),
    ("http.get", [["not", "a", "url"]], "fox.http.get: argument `url` must be string, got list"),
    ("http.get", ["file:///etc/passwd"], "'file:///etc/passwd' is not an http(s) URL"),
    ("ui.notify", [{"text": "x"}], "fox.ui.notify: argument `text` must be string, got dict"),
    ("player.pause", [1], "fox.player.pause takes at most 0 arguments, got 1"),
    ("json.decode", ["{broken"], "fox.json.decode: invalid JSON at line 1 column 2"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("name", "args", "message"), WRONG)
async def test_wrong_arguments_are_a_clear_plugin_error_catchable_in_the_plugin(
    lang: str, name: str, args: list[Any], message: str, write_plugin: Write, engine_config: Build
) -> None:
    path = write_plugin(f"reflect{EXT[lang]}", reflective_plugin(lang))
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        assert message in await fox.call("reflect", "catch", name, args)
        with pytest.raises(PluginError) as caught:
            await fox.call("reflect", "call", name, args)
        assert message in str(caught.value)
        assert caught.value.plugin == "reflect"
        assert fox.player.state() == "stopped"


NOT_DATA = {
    "lua": (
        "local M = {}\nfunction M.bad() return fox.json.encode({f = print}) end\nreturn M",
        "a Lua function is not data",
    ),
    "js": ("module.exports = { async bad() { return await fox.json.encode({f() {}}); } };", "a function is not data"),
    "py": ("def bad():\n    return fox.json.encode({'f': bad})", "a function is not data"),
}


@pytest.mark.parametrize("lang", LANGS)
async def test_a_host_call_with_a_function_inside_its_argument_is_refused(
    lang: str, write_plugin: Write, engine_config: Build
) -> None:
    body, reason = NOT_DATA[lang]
    path = write_plugin(f"bad{EXT[lang]}", body + "\n")
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginError) as caught:
            await fox.call("bad", "bad")
    assert reason in str(caught.value)
    assert "fox.json.encode" in str(caught.value) or lang == "js"


JSON_ROUND_TRIP = {
    "lua": """
        local M = {}
        function M.round(v)
          local text = fox.json.encode(v)
          return {text = text, back = fox.json.decode(text), pretty = fox.json.encode(v, true)}
        end
        return M
    """,
    "js": """
        module.exports = {
          async round(v) {
            const text = await fox.json.encode(v);
            return {text: text, back: await fox.json.decode(text), pretty: await fox.json.encode(v, true)};
          },
        };
    """,
    "py": """
        def round(v):
            text = fox.json.encode(v)
            return {"text": text, "back": fox.json.decode(text), "pretty": fox.json.encode(v, True)}
    """,
}


@pytest.mark.parametrize("lang", LANGS)
async def test_json_encode_and_decode_round_trip(lang: str, write_plugin: Write, engine_config: Build) -> None:
    path = write_plugin(f"jsonic{EXT[lang]}", textwrap.dedent(JSON_ROUND_TRIP[lang]).strip() + "\n")
    value = {"title": "Ünïcode ♪", "n": 3, "x": 1.25, "ok": False, "tags": ["a", "b"], "nested": {"deep": [1, [2]]}}
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        answer = await fox.call("jsonic", "round", value)
    assert json.loads(answer["text"]) == value
    assert "Ünïcode ♪" in answer["text"]  # not \\u-escaped
    assert answer["back"] == value
    assert json.loads(answer["pretty"]) == value
    assert answer["pretty"].startswith('{\n  "')  # indented (a Lua table has no key order to keep)


FETCH = {
    "lua": """
        local M = {}
        function M.get(url, opts) return fox.http.get(url, opts) end
        return M
    """,
    "js": "module.exports = { async get(url, opts) { return await fox.http.get(url, opts); } };",
    "py": "def get(url, opts=None):\n    return fox.http.get(url, opts)",
}


def fetch_plugin(write_plugin: Write, lang: str) -> Path:
    manifest = "id: fetch\nversion: 1.0.0\npermissions:\n  network: [127.0.0.1]"
    return write_plugin(f"fetch{EXT[lang]}", plugin_text(lang, manifest, FETCH[lang]))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("route", ["/big", "/stream"])
async def test_a_response_over_the_size_cap_is_refused(
    lang: str, route: str, write_plugin: Write, engine_config: Build, api: str
) -> None:
    path = fetch_plugin(write_plugin, lang)
    async with Engine(engine_config(performance={"max_response_size": "4KB"})) as fox:
        await fox.load(path)
        with pytest.raises(ResourceLimitExceeded) as caught:
            await fox.call("fetch", "get", api + route)
        assert "exceeds the 4096-byte cap" in str(caught.value)
        assert caught.value.plugin == "fetch"
        assert (await fox.call("fetch", "get", api + "/echo"))["status"] == 200
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        assert len((await fox.call("fetch", "get", api + route))["body"]) == 10_000


@pytest.mark.parametrize("lang", LANGS)
async def test_an_http_timeout_is_a_plugin_timeout(
    lang: str, write_plugin: Write, engine_config: Build, api: str
) -> None:
    path = fetch_plugin(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(PluginTimeout, match=r"took longer than 0\.2 s"):
            await fox.call("fetch", "get", api + "/slow", {"timeout": 0.2})
        assert time.monotonic() - started < 1.2
        assert (await fox.call("fetch", "get", api + "/echo"))["status"] == 200


@pytest.mark.parametrize("lang", LANGS)
async def test_an_http_call_never_outlives_the_plugin_call(
    lang: str, write_plugin: Write, engine_config: Build, api: str
) -> None:
    path = fetch_plugin(write_plugin, lang)
    async with Engine(engine_config(performance={"call_timeout": "300ms"})) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(PluginTimeout):
            await fox.call("fetch", "get", api + "/slow", {"timeout": 30})
        assert time.monotonic() - started < 1.3


async def test_a_connection_failure_is_a_plugin_error(write_plugin: Write, engine_config: Build) -> None:
    path = fetch_plugin(write_plugin, "lua")
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginError, match=r"fox\.http\.request\(GET http://127\.0\.0\.1:1/\) failed"):
            await fox.call("fetch", "get", "http://127.0.0.1:1/")
