"""A plugin reaches only what its manifest asks for and the user's policy allows; the rest is refused inside it."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine, PermissionDenied

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}


def plugin_text(lang: str, manifest: str, body: str) -> str:
    """A one-file plugin: the inline manifest in the language's first block comment, then the code."""
    start, end = FENCE[lang]
    return f"{start}\n{textwrap.dedent(manifest).strip()}\n{end}\n{textwrap.dedent(body).strip()}\n"


FETCHER = {
    "lua": """
        local M = {}
        function M.fetch(url)
          local ok, err = pcall(fox.http.get, url)
          if ok then return "reached" end
          return "caught: " .. tostring(err)
        end
        function M.fetch_raw(url) return fox.http.get(url) end
        return M
    """,
    "js": """
        module.exports = {
          async fetch(url) {
            try { await fox.http.get(url); return "reached"; }
            catch (e) { return "caught: " + e.name + ": " + e.message; }
          },
          async fetch_raw(url) { return await fox.http.get(url); },
        };
    """,
    "py": """
        def fetch(url):
            try:
                fox.http.get(url)
                return "reached"
            except Exception as e:
                return "caught: " + str(e)

        def fetch_raw(url):
            return fox.http.get(url)
    """,
}


def fetcher(write_plugin: Callable[[str, str], Path], lang: str, permissions: str = "") -> Path:
    manifest = f"id: fetcher-{lang}\nversion: 1.0.0\n{permissions}"
    return write_plugin(f"fetcher{EXT[lang]}", plugin_text(lang, manifest, FETCHER[lang]))


@dataclass
class Server:
    port: int
    seen: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A local HTTP API: /hello answers JSON, /away redirects to the same server under the name `localhost`."""
    state = Server(port=0)

    async def hello(request: web.Request) -> web.Response:
        state.seen.append(request.path)
        return web.json_response({"hello": "world"})

    async def away(request: web.Request) -> web.Response:
        state.seen.append(request.path)
        raise web.HTTPFound(state.url("/hello", host="localhost"))

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/away", away)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    yield state
    await runner.cleanup()


@pytest.mark.parametrize("lang", LANGS)
async def test_http_without_network_permission_is_denied_inside_the_plugin_and_catchable(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        text = await fox.call(f"fetcher-{lang}", "fetch", server.url("/hello"))

    assert text.startswith("caught: ")
    assert "PermissionDenied" in text or lang == "py"  # Python plugins see str(e), the message itself
    assert f"plugin `fetcher-{lang}` called fox.http.get(" in text
    assert "holds no network grant for 127.0.0.1" in text
    assert server.seen == []


@pytest.mark.parametrize("lang", LANGS)
async def test_an_uncaught_permission_error_reaches_the_host_as_permission_denied(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied) as caught:
            await fox.call(f"fetcher-{lang}", "fetch_raw", server.url("/hello"))
        assert caught.value.plugin == f"fetcher-{lang}"
        assert "no network grant for 127.0.0.1" in str(caught.value)
        assert "permissions.network" in str(caught.value)  # the hint says where to grant it
        assert await fox.call(f"fetcher-{lang}", "fetch", server.url("/hello")) != "reached"  # still serving
    assert server.seen == []


@pytest.mark.parametrize("lang", LANGS)
async def test_a_granted_host_is_reached(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, 'permissions:\n  network: ["127.0.0.1"]')
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        response = await fox.call(f"fetcher-{lang}", "fetch_raw", server.url("/hello"))

    assert server.seen == ["/hello"]
    assert response["status"] == 200
    assert response["ok"] is True
    assert response["json"] == {"hello": "world"}
    assert '"hello"' in response["body"]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_host_not_granted_is_refused_before_any_connection(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, 'permissions:\n  network: ["127.0.0.1"]')
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match="no network grant for localhost"):
            await fox.call(f"fetcher-{lang}", "fetch_raw", server.url("/hello", host="localhost"))

    assert server.seen == []


@pytest.mark.parametrize("lang", LANGS)
async def test_a_redirect_to_a_host_not_granted_is_refused(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, 'permissions:\n  network: ["127.0.0.1"]')
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match="no network grant for localhost"):
            await fox.call(f"fetcher-{lang}", "fetch_raw", server.url("/away"))

    assert server.seen == ["/away"]  # the redirect target was never requested


async def test_a_policy_without_the_permission_refuses_the_plugin_at_load(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = fetcher(write_plugin, "lua", 'permissions:\n  network: ["127.0.0.1"]\n  storage: true')
    config = engine_config(security={"allowed_permissions": ["storage"]})
    async with Engine(config) as fox:
        with pytest.raises(PermissionDenied) as caught:
            await fox.load(path)
        assert fox.plugins == []

    error = caught.value
    assert error.field == "permissions.network"
    assert error.plugin == "fetcher-lua"
    assert error.file == str(path)
    assert "security.allowed_permissions" in str(error)


async def test_network_deny_refuses_a_manifest_asking_for_a_denied_host(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = fetcher(write_plugin, "js", 'permissions:\n  network: ["127.0.0.1"]')
    async with Engine(engine_config(security={"network_deny": ["127.0.0.*"]})) as fox:
        with pytest.raises(PermissionDenied) as caught:
            await fox.load(path)
    assert caught.value.field == "permissions.network"
    assert "'127.0.0.1'" in str(caught.value)


async def test_network_deny_wins_over_a_wildcard_grant_at_call_time(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, "py", 'permissions:\n  network: ["*"]')
    async with Engine(engine_config(security={"network_deny": ["127.0.0.1"]})) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match=r"no network grant for 127\.0\.0\.1"):
            await fox.call("fetcher-py", "fetch_raw", server.url("/hello"))
    assert server.seen == []


STORE = {
    "lua": """
        local M = {}
        function M.remember(v) fox.storage.set("k", v); return fox.storage.get("k") end
        return M
    """,
    "js": """
        module.exports = { async remember(v) { await fox.storage.set("k", v); return await fox.storage.get("k"); } };
    """,
    "py": """
        def remember(v):
            fox.storage.set("k", v)
            return fox.storage.get("k")
    """,
}


@pytest.mark.parametrize("lang", LANGS)
async def test_engine_grants_add_a_permission_the_manifest_lacks(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(f"store{EXT[lang]}", plugin_text(lang, "id: store\nversion: 1.0.0", STORE[lang]))
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match="without the `storage` permission"):
            await fox.call("store", "remember", "v1")
    async with Engine(engine_config(), grants=["storage"]) as fox:
        await fox.load(path)
        assert await fox.call("store", "remember", "v2") == "v2"
        assert fox.plugin("store").permissions == {"storage": True}


# For each permission-gated group: code that uses it, per language.
GATED = {
    "storage": {
        "lua": 'fox.storage.set("k", "stored"); return fox.storage.get("k")',
        "js": 'await fox.storage.set("k", "stored"); return await fox.storage.get("k");',
        "py": 'fox.storage.set("k", "stored")\nreturn fox.storage.get("k")',
    },
    "player.read": {
        "lua": "return fox.player.state()",
        "js": "return await fox.player.state();",
        "py": "return fox.player.state()",
    },
    "player.control": {
        "lua": 'fox.player.play({id = "1", title = "Song"}); return "done"',
        "js": 'await fox.player.play({id: "1", title: "Song"}); return "done";',
        "py": 'fox.player.play({"id": "1", "title": "Song"})\nreturn "done"',
    },
    "ui.notify": {
        "lua": 'fox.ui.notify("hello", "warn"); return "done"',
        "js": 'await fox.ui.notify("hello", "warn"); return "done";',
        "py": 'fox.ui.notify("hello", "warn")\nreturn "done"',
    },
    "events.emit": {
        "lua": 'fox.events.emit("custom_thing", {n = 1}); return "done"',
        "js": 'await fox.events.emit("custom_thing", {n: 1}); return "done";',
        "py": 'fox.events.emit("custom_thing", {"n": 1})\nreturn "done"',
    },
}
EXPECTED = {"storage": "stored", "player.read": "stopped"}


def gated_plugin(lang: str, permission: str, granted: bool) -> str:
    code = GATED[permission][lang]
    manifest = "id: gated\nversion: 1.0.0" + (f"\npermissions:\n  {permission}: true" if granted else "")
    if lang == "lua":
        body = f"local M = {{}}\nfunction M.act()\n  {code}\nend\nreturn M"
    elif lang == "js":
        body = f"module.exports = {{ async act() {{ {code} }} }};"
    else:
        body = "def act():\n" + textwrap.indent(code, "    ")
    return plugin_text(lang, manifest, body)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("permission", list(GATED))
async def test_each_gated_group_is_denied_without_its_permission_and_works_with_it(
    permission: str, lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    heard: list[tuple[str, Any]] = []
    for granted in (False, True):
        path = write_plugin(f"gated{EXT[lang]}", gated_plugin(lang, permission, granted))
        async with Engine(engine_config()) as fox:
            fox.on("notify", lambda payload: heard.append(("notify", payload)))
            fox.on("custom_thing", lambda payload: heard.append(("custom_thing", payload)))
            await fox.load(path)
            if not granted:
                with pytest.raises(PermissionDenied) as caught:
                    await fox.call("gated", "act")
                assert f"without the `{permission}` permission" in str(caught.value)
                assert caught.value.plugin == "gated"
                assert fox.player.state() == "stopped"
                assert heard == []
                continue
            assert await fox.call("gated", "act") == EXPECTED.get(permission, "done")
            await _settle()
            if permission == "player.control":
                assert fox.player.state() == "playing"
                assert fox.player.current() == {"id": "1", "title": "Song"}
            if permission == "ui.notify":
                assert heard == [("notify", {"plugin": "gated", "text": "hello", "level": "warn"})]
            if permission == "events.emit":
                assert heard == [("custom_thing", {"plugin": "gated", "payload": {"n": 1}})]


async def _settle() -> None:
    """Let callbacks scheduled from plugin threads onto the loop run."""
    for _ in range(5):
        await asyncio.sleep(0.01)


PLAYER = {
    "lua": """
        local M = {}
        function M.control()
          fox.player.play({id = "7", title = "Seven"})
          fox.player.pause()
          fox.player.seek(5000)
          fox.player.set_volume(30)
        end
        function M.read()
          return {state = fox.player.state(), position = fox.player.position(),
                  volume = fox.player.volume(), current = fox.player.current()}
        end
        return M
    """,
    "js": """
        module.exports = {
          async control() {
            await fox.player.play({id: "7", title: "Seven"});
            await fox.player.pause();
            await fox.player.seek(5000);
            await fox.player.set_volume(30);
          },
          async read() {
            return {state: await fox.player.state(), position: await fox.player.position(),
                    volume: await fox.player.volume(), current: await fox.player.current()};
          },
        };
    """,
    "py": """
        def control():
            fox.player.play({"id": "7", "title": "Seven"})
            fox.player.pause()
            fox.player.seek(5000)
            fox.player.set_volume(30)

        def read():
            return {"state": fox.player.state(), "position": fox.player.position(),
                    "volume": fox.player.volume(), "current": fox.player.current()}
    """,
}


@pytest.mark.parametrize("lang", LANGS)
async def test_player_control_and_read_go_to_the_host_player(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    manifest = "id: remote\nversion: 1.0.0\npermissions:\n  player.read: true\n  player.control: true"
    path = write_plugin(f"remote{EXT[lang]}", plugin_text(lang, manifest, PLAYER[lang]))
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        assert fox.player.state() == "stopped"
        await fox.call("remote", "control")

        assert fox.player.state() == "paused"
        assert fox.player.position() == 5000
        assert fox.player.volume() == 30
        assert fox.player.current() == {"id": "7", "title": "Seven"}
        assert await fox.call("remote", "read") == {
            "state": "paused",
            "position": 5000,
            "volume": 30,
            "current": {"id": "7", "title": "Seven"},
        }


async def test_player_read_alone_does_not_allow_control(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    manifest = "id: remote\nversion: 1.0.0\npermissions:\n  player.read: true"
    path = write_plugin("remote.lua", plugin_text("lua", manifest, PLAYER["lua"]))
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match=r"without the `player\.control` permission"):
            await fox.call("remote", "control")
        assert fox.player.state() == "stopped"
        assert fox.player.current() is None
