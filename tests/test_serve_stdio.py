"""`foxplug serve --stdio` (ARCHITECTURE §3.9) driven by a stand-in player through a real subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.stdio_player import RpcError, StandInPlayer, result_of

REMOTE_LUA = """
--[[---
id: remote
version: 1.0.0
provides: [search, song_url, lyrics, ui.menu, ui.status, ui.theme, events]
permissions: {player.control: true, player.read: true, ui.notify: true}
---]]
local M = {}
function M.search(query, opts) return { { id = "r1", title = "Remote " .. query, artists = { "Band" } } } end
function M.get_song_url(id, quality) return { url = "https://songs.example/" .. id, headers = { Referer = "x" } } end
function M.get_lyrics(song) return "[00:01.00]first line of " .. song.title .. "\\n[00:02.00]second" end
function M.menus(ctx) return { { id = "like", label = "Like" } } end
function M.on_action(id, ctx) return "did " .. id end
function M.status(state) return "remote: " .. tostring(state.state) end
function M.themes() return { { name = "fox", colors = { fg = "orange" } } } end
function M.keymap() return { l = "like" } end
function M.pause_it() fox.player.pause(); return fox.player.state() end
function M.everything()
  fox.player.play({ id = "p1", title = "Played" })
  fox.player.pause(); fox.player.resume(); fox.player.seek(1500); fox.player.set_volume(33)
  fox.player.next(); fox.player.previous()
  local seen = { fox.player.state(), fox.player.position() >= 0, fox.player.volume(), fox.player.current().title }
  fox.player.stop()
  return seen
end
function M.shout(text) fox.ui.notify(text, "warn") end
function M.boom() error("boom") end
function M.on_song_changed(song) fox.ui.notify("now " .. song.title) end
return M
"""
NOPERMIT_LUA = """
--[[---
id: nopermit
version: 1.0.0
---]]
local M = {}
function M.pause_it() fox.player.pause() end
return M
"""
SLOW_LUA = """
--[[---
id: slow
version: 1.0.0
permissions:
  network: ["127.0.0.1"]
---]]
local M = {}
function M.fetch(url) return fox.http.get(url).body end
return M
"""


NOISY_NATIVE = """
import os, sys


def shout():
    print("a stray print")
    sys.stdout.write("a stray write\\n")
    os.write(1, b"a stray write to fd 1\\n")
    return "shouted"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "noisy").mkdir()
    (plugins / "noisy" / "plugin.yaml").write_text("id: noisy\nversion: 1.0.0\nruntime: native\nentry: noisy.py\n")
    (plugins / "noisy" / "noisy.py").write_text(NOISY_NATIVE, encoding="utf-8")
    for name, source in (("remote.lua", REMOTE_LUA), ("nopermit.lua", NOPERMIT_LUA), ("slow.lua", SLOW_LUA)):
        (plugins / name).write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    path = tmp_path / "plugins.yaml"
    section = {
        "directories": [str(plugins)],
        "storage": str(tmp_path / "storage.sqlite3"),
        "hot_reload": {"enabled": True, "debounce": "20ms"},
        "monitoring": {"enabled": False},
    }
    path.write_text(yaml.safe_dump({"plugins": section}), encoding="utf-8")
    return path


@pytest.fixture
async def serve(config: Path, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[StandInPlayer] = []

    async def start(*, player: bool = True, initialize: bool = True) -> StandInPlayer:
        stand_in = await StandInPlayer(config, {"XDG_CACHE_HOME": str(tmp_path / "cache")}).start()
        started.append(stand_in)
        if initialize:
            await stand_in.initialize(player=player)
        return stand_in

    yield start
    for stand_in in started:
        if stand_in.process.returncode is None:
            await stand_in.close()


class Gate:
    """An HTTP endpoint that answers only when the test opens it: a plugin call that takes as long as we like."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.url = ""


@pytest.fixture
async def gate() -> AsyncIterator[Gate]:
    gate = Gate()

    async def held(request: web.Request) -> web.Response:
        await gate.open.wait()
        return web.Response(text="released")

    app = web.Application()
    app.add_routes([web.get("/held", held)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    gate.url = f"http://127.0.0.1:{runner.addresses[0][1]}/held"
    yield gate
    gate.open.set()
    await runner.cleanup()


async def test_initialize_negotiates_the_version_and_lists_the_plugins(serve: Callable[..., Any]) -> None:
    player = await serve(initialize=False)
    hello = await player.initialize()

    assert hello["protocol_version"] == 1
    assert hello["engine_version"]
    assert {p["id"] for p in hello["plugins"]} == {"remote", "nopermit", "slow", "noisy"}
    assert hello["load_errors"] == {}


async def test_a_request_before_initialize_and_an_unknown_version_are_refused(serve: Callable[..., Any]) -> None:
    player = await serve(initialize=False)
    with pytest.raises(RpcError) as early:
        await player.request("search", {"query": "x"})
    with pytest.raises(RpcError) as version:
        await player.initialize(versions=[7, 8])

    assert (early.value.code, early.value.data["type"]) == (-32002, "NotInitialized")
    assert version.value.code == -32602
    assert "no protocol version in common" in str(version.value)


async def test_every_player_method_answers(serve: Callable[..., Any]) -> None:
    player = await serve()
    song = (await player.request("search", {"query": "song", "limit": 5}))["items"][0]
    lyrics = await player.request("lyrics", {"song": song})
    url = await player.request("song_url", {"song": song, "quality": "standard"})
    called = await player.request("call", {"plugin": "remote", "method": "on_action", "args": ["x", {}]})
    menus = await player.request("ui.menus", {"ctx": {}})
    action = await player.request("ui.action", {"plugin": "remote", "id": "like", "ctx": {}})
    status = await player.request("ui.status", {"state": {"state": "playing"}})
    themes = await player.request("ui.themes", {})
    keymap = await player.request("ui.keymap", {})
    plugins = await player.request("plugins", {})
    emitted = await player.request("emit", {"event": "song_changed", "payload": song})
    announced = await player.wait_for(lambda m: m["method"] == "notify" and "now Remote song" in m["params"]["text"])

    assert song == {**song, "id": "r1", "title": "Remote song", "source": "remote"}
    assert lyrics["lines"][0]["text"] == "first line of Remote song"
    assert lyrics["plain"] == "first line of Remote song\nsecond"
    assert url == {"url": "https://songs.example/r1", "headers": {"Referer": "x"}, "source": "remote"}
    assert (called, action) == ("did x", "did like")
    assert menus == [{"id": "like", "label": "Like", "plugin": "remote"}]
    assert status == [{"text": "remote: playing", "plugin": "remote"}]
    assert themes == [{"name": "fox", "colors": {"fg": "orange"}, "plugin": "remote"}]
    assert keymap == {"l": {"action": "like", "plugin": "remote"}}
    assert {p["id"] for p in plugins} == {"remote", "nopermit", "slow", "noisy"}
    assert emitted is None
    assert announced["params"] == {"plugin": "remote", "text": "now Remote song", "level": "info"}


async def test_an_emit_notification_reaches_plugins_and_gets_no_answer(serve: Callable[..., Any]) -> None:
    player = await serve()
    player.send({"method": "emit", "params": {"event": "song_changed", "payload": {"id": "9", "title": "Quiet"}}})

    await player.wait_for(lambda m: m["method"] == "notify" and m["params"]["text"] == "now Quiet")
    await player.close()
    assert [line["id"] for line in player.lines if "method" not in line] == [1]  # initialize; none for emit


async def test_song_url_returns_null_when_no_provider_has_one(serve: Callable[..., Any]) -> None:
    player = await serve()

    assert await player.request("lyrics", {"song": {"id": "x", "title": "t"}}) is not None  # remote answers all
    assert await player.request("song_url", {"song": {"id": "", "title": "t", "source": "nobody"}}) == {
        "url": "https://songs.example/",
        "headers": {"Referer": "x"},
        "source": "remote",
    }


async def test_a_plugins_fox_player_pause_arrives_at_the_player(serve: Callable[..., Any]) -> None:
    player = await serve(player=True)
    player.player.play({"id": "1", "title": "Playing"})

    state = await player.request("call", {"plugin": "remote", "method": "pause_it", "args": []})

    assert player.player_requests == ["player.pause", "player.state"]
    assert state == "paused"


async def test_every_fox_player_function_is_a_request_to_the_player(serve: Callable[..., Any]) -> None:
    player = await serve(player=True)

    seen = await player.request("call", {"plugin": "remote", "method": "everything", "args": []})

    assert player.player_requests == [
        f"player.{name}"
        for name in (
            "play", "pause", "resume", "seek", "set_volume", "next", "previous",
            "state", "position", "volume", "current", "stop",
        )
    ]  # fmt: skip
    assert seen == ["playing", True, 33, "Played"]
    assert player.player.state() == "stopped"


async def test_without_a_player_the_configured_backend_plays(serve: Callable[..., Any]) -> None:
    player = await serve(player=False)

    state = await player.request("call", {"plugin": "remote", "method": "pause_it", "args": []})

    assert state == "stopped"  # NullPlayer (plugins.player.backend: null) had nothing to pause
    assert player.player_requests == []


async def test_a_player_error_reaches_the_plugin_as_player_error(serve: Callable[..., Any]) -> None:
    player = await serve(player=True)

    def refuse(method: str, params: dict[str, Any]) -> Any:
        raise RuntimeError("no audio device")

    player.answer_player = refuse
    with pytest.raises(RpcError) as failed:
        await player.request("call", {"plugin": "remote", "method": "pause_it", "args": []})

    assert failed.value.code == -32000
    assert "no audio device" in str(failed.value)


async def test_errors_are_json_rpc_errors_with_their_type(serve: Callable[..., Any]) -> None:
    player = await serve()
    failures = {}
    for method, params in (
        ("no.such.method", {}),
        ("search", {"query": 5}),
        ("search", {"query": "x", "colour": "red"}),
        ("search", ["positional"]),
        ("lyrics", {}),
        ("call", {"plugin": "remote", "method": "boom", "args": []}),
        ("call", {"plugin": "ghost", "method": "x"}),
        ("call", {"plugin": "nopermit", "method": "pause_it"}),
    ):
        with pytest.raises(RpcError) as failed:
            await player.request(method, params)
        failures[(method, json.dumps(params))] = failed.value

    codes = [(e.code, e.data["type"]) for e in failures.values()]
    assert codes[:5] == [(-32601, "MethodNotFound")] + [(-32602, "InvalidParams")] * 4
    assert codes[5:] == [(-32000, "PluginError"), (-32000, "PluginNotFound"), (-32000, "PermissionDenied")]
    boom = failures[("call", json.dumps({"plugin": "remote", "method": "boom", "args": []}))]
    assert boom.data["plugin"] == "remote" and "boom" in boom.data["message"]
    denied = list(failures.values())[-1]
    assert denied.data["plugin"] == "nopermit" and "player.control" in denied.data["message"]
    assert "hint" in denied.data
    assert "missing parameter `song`" in str(failures[("lyrics", "{}")])


async def test_a_bad_line_gets_an_error_and_the_stream_stays_in_step(serve: Callable[..., Any]) -> None:
    player = await serve()
    player.send_line(b"this is not json")
    player.send_line(b'{"jsonrpc": "2.0", "id": 77, "method": "ping", "params": {}, "x": ' + b"1" * (5 << 20) + b"}")
    player.send_line(b'{"jsonrpc": "2.0", "id": {"an": "object"}, "method": "ping"}')
    player.send_line(b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": [{"id": []}]}')
    player.send_line(b'{"jsonrpc": "2.0", "id": [1], "result": "an answer to nothing"}')

    assert await player.request("ping", {}) == {}
    errors = [line["error"] for line in player.lines if line.get("id") is None and "error" in line]
    assert [(e["code"], e["data"]["type"]) for e in errors] == [
        (-32700, "ParseError"),
        (-32600, "ResourceLimitExceeded"),
        (-32600, "InvalidRequest"),
        (-32600, "InvalidRequest"),
    ]
    assert "larger than the 4194304-byte limit" in errors[1]["message"]


async def test_a_slow_request_does_not_hold_up_others_and_can_be_cancelled(
    serve: Callable[..., Any], gate: Gate
) -> None:
    player = await serve()
    _, slow = player.begin("call", {"plugin": "slow", "method": "fetch", "args": [gate.url]})
    cancel_id, cancelled = player.begin("call", {"plugin": "slow", "method": "fetch", "args": [gate.url]})

    fast = await player.request("search", {"query": "meanwhile"})
    player.send({"method": "$/cancelRequest", "params": {"id": cancel_id}})
    cancelled_answer = await asyncio.wait_for(cancelled, 10)
    gate.open.set()
    slow_answer = await asyncio.wait_for(slow, 10)

    assert fast["items"][0]["title"] == "Remote meanwhile"
    assert cancelled_answer["error"]["code"] == -32800
    assert result_of(slow_answer) == "released"
    order = [line.get("id") for line in player.lines if "method" not in line]
    assert order.index(cancel_id) < order.index(slow_answer["id"])


async def test_engine_events_and_notifications_arrive_as_notifications(serve: Callable[..., Any], config: Path) -> None:
    player = await serve()
    await player.request("call", {"plugin": "remote", "method": "shout", "args": ["hello player"]})
    remote = config.parent / "plugins" / "remote.lua"
    remote.write_text(remote.read_text().replace("version: 1.0.0", "version: 1.0.1"), encoding="utf-8")

    shout = await player.wait_for(lambda m: m["method"] == "notify")
    reloaded = await player.wait_for(lambda m: m["method"] == "event" and m["params"]["name"] == "plugin_reloaded")

    assert shout["params"] == {"plugin": "remote", "text": "hello player", "level": "warn"}
    assert reloaded["params"]["payload"]["version"] == "1.0.1"


async def test_closing_stdin_ends_the_engine_quickly_and_stdout_held_only_protocol(
    serve: Callable[..., Any],
) -> None:
    player = await serve()
    await player.request("search", {"query": "x"})
    shouted = await player.request("call", {"plugin": "noisy", "method": "shout", "args": []})
    started = time.monotonic()

    code = await player.close()

    assert code == 0
    assert time.monotonic() - started < 2.0
    assert shouted == "shouted"
    assert all(line["jsonrpc"] == "2.0" for line in player.lines)  # _read parsed every stdout line as JSON-RPC
    stderr = await player.stderr()
    assert "a stray print" in stderr and "a stray write to fd 1" in stderr  # moved to the log, off the protocol


async def test_shutdown_answers_then_exits(serve: Callable[..., Any]) -> None:
    player = await serve()

    assert await player.request("shutdown", {}) is None
    assert await asyncio.wait_for(player.process.wait(), 5) == 0


def test_a_session_can_be_replayed_from_a_file(config: Path, tmp_path: Path) -> None:
    """`foxplug serve --stdio < session.jsonl > answers.jsonl`: files instead of pipes, every request answered."""
    session = tmp_path / "session.jsonl"
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocol_versions": [1]}},
        {"jsonrpc": "2.0", "id": 2, "method": "search", "params": {"query": "replayed"}},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
    ]
    session.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    answers = tmp_path / "answers.jsonl"
    with session.open("rb") as stdin, answers.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "engine", "--config", str(config), "serve", "--stdio"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    assert done.returncode == 0, done.stderr
    replies = {m["id"]: m for m in map(json.loads, answers.read_text().splitlines())}
    assert replies[2]["result"]["items"][0]["title"] == "Remote replayed"
    assert replies[3]["result"] == {}


async def test_requests_in_flight_are_capped(serve: Callable[..., Any]) -> None:
    player = await serve(initialize=False)
    _, hello = player.begin("initialize", {"protocol_versions": [1]})
    pings = [player.begin("ping", {})[1] for _ in range(1100)]  # all wait for initialize, which loads plugins

    answers = [await asyncio.wait_for(answer, 60) for answer in pings]

    assert "result" in await hello
    refused = [a["error"] for a in answers if "error" in a]
    assert refused and {e["data"]["type"] for e in refused} == {"ResourceLimitExceeded"}
    assert all(a["result"] == {} for a in answers if "error" not in a)
    assert len(refused) <= 1100 - 1023  # the cap, 1024, less the initialize
