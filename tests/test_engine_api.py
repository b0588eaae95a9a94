"""A player embeds the engine: fan-out search, lyrics, events, UI hooks, storage and the sync facade."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine, PluginError, PluginNotFound, PluginTimeout, SyncEngine

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}

Write = Callable[[str, str], Path]
Build = Callable[..., dict[str, Any]]


def plugin_text(lang: str, manifest: str, body: str) -> str:
    start, end = FENCE[lang]
    return f"{start}\n{textwrap.dedent(manifest).strip()}\n{end}\n{textwrap.dedent(body).strip()}\n"


@pytest.fixture
async def slow_api() -> AsyncIterator[str]:
    """`GET /songs?q=..&delay_ms=..` answers after the delay with one song named after the query."""

    async def songs(request: web.Request) -> web.Response:
        await asyncio.sleep(int(request.query.get("delay_ms", "0")) / 1000)
        return web.json_response([{"id": "s1", "title": request.query["q"]}])

    app = web.Application()
    app.router.add_get("/songs", songs)
    runner = web.AppRunner(app, shutdown_timeout=0.1)  # do not wait for requests the tests abandoned
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


SLOW_SOURCE = {
    "lua": """
        local M = {}
        function M.search(q, opts)
          local r = fox.http.get(fox.config.api .. "/songs", {query = {q = q .. "-lua", delay_ms = 300}})
          return r.json
        end
        return M
    """,
    "js": """
        module.exports = {
          async search(q, opts) {
            const r = await fox.http.get(fox.config.api + "/songs", {query: {q: q + "-js", delay_ms: 300}});
            return r.json;
          },
        };
    """,
    "py": """
        def search(q, opts=None):
            r = fox.http.get(fox.config["api"] + "/songs", {"query": {"q": q + "-py", "delay_ms": 300}})
            return r["json"]
    """,
}


async def test_search_fans_out_concurrently_and_merges_by_priority(
    write_plugin: Write, engine_config: Build, slow_api: str
) -> None:
    manifest = "id: slow-{lang}\nversion: 1.0.0\nprovides: [search]\npermissions:\n  network: [127.0.0.1]"
    for lang in LANGS:
        write_plugin(f"slow-{lang}{EXT[lang]}", plugin_text(lang, manifest.format(lang=lang), SLOW_SOURCE[lang]))
    configs = {
        f"slow-{lang}": {"priority": priority, "config": {"api": slow_api}}
        for lang, priority in (("lua", 1), ("js", 3), ("py", 2))
    }
    plugins = write_plugin("x.txt", "").parent
    async with Engine(engine_config(directories=[plugins], plugin_configs=configs)) as fox:
        started = time.monotonic()
        result = await fox.search("tune")
        elapsed = time.monotonic() - started

    assert result.errors == {}
    assert [(song.title, song.source) for song in result.items] == [
        ("tune-js", "slow-js"),
        ("tune-py", "slow-py"),
        ("tune-lua", "slow-lua"),
    ]
    assert elapsed < 0.75, f"three 300 ms sources took {elapsed:.2f} s: not concurrent"


BROKEN_SOURCES = {
    "good.lua": """
        local M = {}
        function M.search(q, opts)
          local out = {}
          for i = 1, 5 do out[i] = {id = tostring(i), title = q .. i} end
          return out
        end
        return M
    """,
    "raises.js": """
        module.exports = { search(q) { throw new Error("upstream said no"); } };
    """,
    "spins.py": """
        def search(q, opts=None):
            while True:
                pass
    """,
    "shapeless.lua": """
        local M = {}
        function M.search(q) return {{title = "no id"}} end
        return M
    """,
    "wrongtype.js": """
        module.exports = { search(q) { return "not a list"; } };
    """,
}


async def test_search_reports_failures_per_plugin_and_never_raises(write_plugin: Write, engine_config: Build) -> None:
    for name, body in BROKEN_SOURCES.items():
        path = write_plugin(name, textwrap.dedent(body).strip() + "\n")
    async with Engine(engine_config(directories=[path.parent], performance={"call_timeout": "300ms"})) as fox:
        started = time.monotonic()
        result = await fox.search("q", limit=3)
        assert time.monotonic() - started < 1.3
        assert [song.title for song in result.items] == ["q1", "q2", "q3"]  # limit applies per source
        assert all(song.source == "good" for song in result.items)
        assert set(result.errors) == {"raises", "spins", "shapeless", "wrongtype"}
        assert result.errors["raises"].startswith("PluginError: ")
        assert "upstream said no" in result.errors["raises"]
        assert result.errors["spins"].startswith("PluginTimeout: ")
        assert "search()" in result.errors["shapeless"] and "id" in result.errors["shapeless"]
        assert result.errors["wrongtype"].startswith("PluginError: ")
        as_json = result.to_dict()
        assert as_json["items"][0]["source"] == "good"
        assert as_json["errors"] == result.errors
        assert fox.plugin("spins").state == "running"  # a timed-out source keeps serving


async def test_search_with_no_sources_is_empty(engine_config: Build) -> None:
    async with Engine(engine_config()) as fox:
        result = await fox.search("q")
    assert (result.items, result.errors) == ([], {})


LYRICS = {
    "a-broken.lua": ("local M = {}\nfunction M.get_lyrics(s) fox.log.info('asked'); error('down') end\nreturn M", 10),
    "b-empty.js": ("module.exports = { async get_lyrics(s) { await fox.log.info('asked'); return null; } };", 8),
    "c-junk.py": ("def get_lyrics(s):\n    fox.log.info('asked')\n    return 42", 6),
    "d-good.lua": (
        "local M = {}\nfunction M.get_lyrics(s)\n  fox.log.info('asked')\n"
        "  return {lrc = '[00:01.00]hello ' .. s.title .. '\\n[00:02.50]world'}\nend\nreturn M",
        4,
    ),
    "e-later.js": ("module.exports = { get_lyrics(s) { console.log('asked'); return '[00:01.00]too late'; } };", 2),
}


async def test_lyrics_asks_providers_by_priority_and_skips_failures(
    write_plugin: Write, engine_config: Build, caplog: pytest.LogCaptureFixture
) -> None:
    for name, (body, _) in LYRICS.items():
        path = write_plugin(name, body + "\n")
    priorities = {name.split(".")[0]: {"priority": priority} for name, (_, priority) in LYRICS.items()}
    caplog.set_level(logging.INFO, logger="foxplug.plugin")
    async with Engine(engine_config(directories=[path.parent], plugin_configs=priorities)) as fox:
        lyrics = await fox.lyrics({"title": "song", "artists": [{"name": "x"}]})

    assert lyrics is not None
    assert lyrics.lrc == "[00:01.00]hello song\n[00:02.50]world"
    assert [(line.time_ms, line.text) for line in lyrics.lines] == [(1000, "hello song"), (2500, "world")]
    asked = [r.name.removeprefix("foxplug.plugin.") for r in caplog.records if r.getMessage() == "asked"]
    assert asked == ["a-broken", "b-empty", "c-junk", "d-good"]


async def test_lyrics_is_none_when_nobody_answers(write_plugin: Write, engine_config: Build) -> None:
    path = write_plugin("nothing.lua", "local M = {}\nfunction M.get_lyrics(s) return nil end\nreturn M\n")
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        assert await fox.lyrics({"title": "x"}) is None


LISTENER = {
    "lua": """
        local M = {}
        function M.on_song_changed(song)
          local stop = os.clock() + 0.3
          while os.clock() < stop do end
          fox.events.emit("heard", {by = fox.plugin.id, title = song.title})
        end
        function M.announce(title) fox.events.emit("custom_news", {title = title}) end
        function M.on_custom_news(news) fox.events.emit("heard", {by = fox.plugin.id, title = news.title}) end
        return M
    """,
    "js": """
        module.exports = {
          async on_song_changed(song) {
            const stop = Date.now() + 300;
            while (Date.now() < stop) {}
            await fox.events.emit("heard", {by: fox.plugin.id, title: song.title});
          },
          async announce(title) { await fox.events.emit("custom_news", {title: title}); },
          async on_custom_news(news) { await fox.events.emit("heard", {by: fox.plugin.id, title: news.title}); },
        };
    """,
    "py": """
        def on_song_changed(song):
            import datetime
            stop = datetime.datetime.now() + datetime.timedelta(milliseconds=300)
            while datetime.datetime.now() < stop:
                pass
            fox.events.emit("heard", {"by": fox.plugin.id, "title": song["title"]})

        def announce(title):
            fox.events.emit("custom_news", {"title": title})

        def on_custom_news(news):
            fox.events.emit("heard", {"by": fox.plugin.id, "title": news["title"]})
    """,
}


async def wait_for(condition: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def write_listeners(write_plugin: Write) -> Path:
    manifest = "id: listener-{lang}\nversion: 1.0.0\nprovides: [events]\npermissions:\n  events.emit: true"
    for lang in LANGS:
        path = write_plugin(
            f"listener-{lang}{EXT[lang]}", plugin_text(lang, manifest.format(lang=lang), LISTENER[lang])
        )
    return path.parent


async def test_emit_reaches_every_handler_without_blocking_the_caller(
    write_plugin: Write, engine_config: Build
) -> None:
    folder = write_listeners(write_plugin)
    heard: list[dict[str, Any]] = []
    host_heard: list[dict[str, Any]] = []
    async with Engine(engine_config(directories=[folder])) as fox:
        fox.on("heard", lambda event: heard.append(event["payload"]))
        fox.on("song_changed", host_heard.append)
        started = time.monotonic()
        await fox.emit("song_changed", {"id": "1", "title": "Now"})
        assert time.monotonic() - started < 0.1  # handlers take 300 ms each; emit does not wait
        assert heard == []
        await wait_for(lambda: len(heard) == 3)
    assert sorted(event["by"] for event in heard) == ["listener-js", "listener-lua", "listener-py"]
    assert {event["title"] for event in heard} == {"Now"}
    assert host_heard == [{"payload": {"id": "1", "title": "Now"}}]


async def test_an_event_from_a_plugin_reaches_the_other_plugins_and_the_host(
    write_plugin: Write, engine_config: Build
) -> None:
    folder = write_listeners(write_plugin)
    heard: list[dict[str, Any]] = []
    news: list[dict[str, Any]] = []
    async with Engine(engine_config(directories=[folder])) as fox:
        fox.on("heard", lambda event: heard.append(event))
        fox.on("custom_news", news.append)
        await fox.call("listener-js", "announce", "extra")
        await wait_for(lambda: len(heard) == 2)
        await asyncio.sleep(0.1)
    assert news == [{"plugin": "listener-js", "payload": {"title": "extra"}}]
    assert sorted(event["payload"]["by"] for event in heard) == ["listener-lua", "listener-py"]  # not the sender
    assert {event["plugin"] for event in heard} == {"listener-lua", "listener-py"}


async def test_a_failing_handler_does_not_stop_the_others(write_plugin: Write, engine_config: Build) -> None:
    folder = write_listeners(write_plugin)
    write_plugin("failing.lua", "local M = {}\nfunction M.on_song_changed(s) error('nope') end\nreturn M\n")
    heard: list[Any] = []
    async with Engine(engine_config(directories=[folder])) as fox:
        fox.on("heard", heard.append)
        await fox.emit("song_changed", {"id": "1", "title": "t"})
        await wait_for(lambda: len(heard) == 3)
        assert fox.plugin("failing").errors == 1


UI = {
    "lua": """
        local M = {}
        function M.menus(ctx) return {{id = "like", label = "Like " .. (ctx.title or "?")}, {id = "skip"}} end
        function M.on_action(action, ctx) return "did " .. action .. " on " .. ctx.title end
        function M.status(state) return "♥ " .. state.title end
        function M.themes() return {{name = "dusk", colors = {fg = "#eee"}}} end
        function M.keymap() return {["ctrl+l"] = "like", q = "quit"} end
        return M
    """,
    "js": """
        module.exports = {
          status(state) { return [{text: "JS", style: "bold"}, "plain", {nope: 1}]; },
          themes() { return {name: "dawn", colors: {fg: "#111"}}; },
          keymap() { return {"ctrl+l": "js-like", "j": "down"}; },
        };
    """,
    "py": """
        def menus(ctx):
            return [{"id": "share", "label": "Share"}]

        def on_action(action, ctx):
            raise ValueError("cannot " + action)
    """,
}
UI_PROVIDES = {"lua": "[ui.menu, ui.status, ui.theme]", "js": "[ui.status, ui.theme]", "py": "[ui.menu]"}


async def test_ui_hooks_gather_from_every_plugin_tagged_by_plugin(write_plugin: Write, engine_config: Build) -> None:
    for lang in LANGS:
        manifest = f"id: ui-{lang}\nversion: 1.0.0\nprovides: {UI_PROVIDES[lang]}"
        path = write_plugin(f"ui-{lang}{EXT[lang]}", plugin_text(lang, manifest, UI[lang]))
    priorities = {"ui-lua": {"priority": 2}, "ui-js": {"priority": 1}}
    async with Engine(engine_config(directories=[path.parent], plugin_configs=priorities)) as fox:
        assert await fox.ui.menus({"title": "Song"}) == [
            {"id": "like", "label": "Like Song", "plugin": "ui-lua"},
            {"id": "skip", "label": "skip", "plugin": "ui-lua"},
            {"id": "share", "label": "Share", "plugin": "ui-py"},
        ]
        assert await fox.ui.action("ui-lua", "like", {"title": "Song"}) == "did like on Song"
        with pytest.raises(PluginError, match="cannot share"):
            await fox.ui.action("ui-py", "share", {})
        assert await fox.ui.status({"title": "Song"}) == [
            {"text": "♥ Song", "plugin": "ui-lua"},
            {"text": "JS", "style": "bold", "plugin": "ui-js"},
            {"text": "plain", "plugin": "ui-js"},
        ]
        assert await fox.ui.themes() == [
            {"name": "dusk", "colors": {"fg": "#eee"}, "plugin": "ui-lua"},
            {"name": "dawn", "colors": {"fg": "#111"}, "plugin": "ui-js"},
        ]
        assert await fox.ui.keymap() == {
            "ctrl+l": {"action": "like", "plugin": "ui-lua"},  # the higher priority wins the key
            "q": {"action": "quit", "plugin": "ui-lua"},
            "j": {"action": "down", "plugin": "ui-js"},
        }


async def test_unload_stops_the_plugin_and_forgets_it(write_plugin: Write, engine_config: Build) -> None:
    source = """
        local M = {}
        function M.ping() return "pong" end
        function M.stop() fox.storage.set("stopped", true) end
        function M.was_stopped() return fox.storage.get("stopped", false) end
        return M
    """
    path = write_plugin(
        "leaving.lua", plugin_text("lua", "id: leaving\nversion: 1.0.0\npermissions: {storage: true}", source)
    )
    events: list[tuple[str, Any]] = []
    async with Engine(engine_config()) as fox:
        fox.on("plugin_loaded", lambda info: events.append(("loaded", info["id"])))
        fox.on("plugin_unloaded", lambda info: events.append(("unloaded", info["id"])))
        await fox.load(path)
        assert await fox.call("leaving", "ping") == "pong"
        await fox.unload("leaving")
        assert fox.plugins == []
        with pytest.raises(PluginNotFound, match="no plugin `leaving`"):
            await fox.call("leaving", "ping")
        with pytest.raises(PluginNotFound):
            await fox.unload("leaving")
        await fox.load(path)
        assert await fox.call("leaving", "was_stopped") is True
    assert events == [("loaded", "leaving"), ("unloaded", "leaving"), ("loaded", "leaving")]


async def test_the_same_id_from_two_paths_is_refused(write_plugin: Write, engine_config: Build) -> None:
    first = write_plugin(
        "one.lua", plugin_text("lua", "id: twin\nversion: 1.0.0", "return {ping = function() return 1 end}")
    )
    second = write_plugin(
        "two.js", plugin_text("js", "id: twin\nversion: 1.0.0", "module.exports = {ping() { return 2; }};")
    )
    async with Engine(engine_config()) as fox:
        await fox.load(first)
        with pytest.raises(PluginError) as caught:
            await fox.load(second)
        assert caught.value.field == "id"
        assert f"already used by {first}" in str(caught.value)
        assert await fox.call("twin", "ping") == 1
        assert [p.path for p in fox.plugins] == [str(first)]
        await fox.load(first)  # loading the same path again replaces it
        assert await fox.call("twin", "ping") == 1


async def test_calling_a_missing_function_names_it(write_plugin: Write, engine_config: Build) -> None:
    path = write_plugin("small.js", "module.exports = { ping() { return 1; } };\n")
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginNotFound, match=r"has no function pong\(\)"):
            await fox.call("small", "pong")


def test_the_sync_facade_works_from_plain_code(write_plugin: Write, engine_config: Build) -> None:
    path = write_plugin("hello.py", 'def search(q, opts=None):\n    return [{"id": "1", "title": "hi " + q}]\n')
    with SyncEngine(Engine(engine_config())) as fox:
        info = fox.load(path)
        assert info.id == "hello"
        assert [p.id for p in fox.plugins] == ["hello"]
        assert fox.call("hello", "search", "there") == [{"id": "1", "title": "hi there"}]
        result = fox.search("you")
        assert [(s.title, s.source) for s in result.items] == [("hi you", "hello")]
        assert fox.ui.menus() == []
        with pytest.raises(PluginNotFound):
            fox.call("nobody", "x")


STORAGE = {
    "lua": """
        local M = {}
        function M.put(k, v) fox.storage.set(k, v) end
        function M.get(k) return fox.storage.get(k, "missing") end
        function M.keys(prefix) return fox.storage.keys(prefix) end
        function M.drop(k) return fox.storage.delete(k) end
        return M
    """,
    "js": """
        module.exports = {
          async put(k, v) { await fox.storage.set(k, v); },
          async get(k) { return await fox.storage.get(k, "missing"); },
          async keys(prefix) { return await fox.storage.keys(prefix); },
          async drop(k) { return await fox.storage.delete(k); },
        };
    """,
    "py": """
        def put(k, v):
            fox.storage.set(k, v)

        def get(k):
            return fox.storage.get(k, "missing")

        def keys(prefix=None):
            return fox.storage.keys(prefix)

        def drop(k):
            return fox.storage.delete(k)
    """,
}


async def test_storage_survives_restarts_and_is_namespaced_per_plugin(
    write_plugin: Write, engine_config: Build
) -> None:
    manifest = "id: keeper-{lang}\nversion: 1.0.0\npermissions:\n  storage: true"
    for lang in LANGS:
        path = write_plugin(f"keeper-{lang}{EXT[lang]}", plugin_text(lang, manifest.format(lang=lang), STORAGE[lang]))
    config = engine_config(directories=[path.parent])
    value = {"n": 1, "list": [1, "two", True], "nested": {"x": 1.5}}
    async with Engine(config) as fox:
        for lang in LANGS:
            await fox.call(f"keeper-{lang}", "put", "shared", f"from {lang}")
            await fox.call(f"keeper-{lang}", "put", "a.one", value)
            await fox.call(f"keeper-{lang}", "put", "b.two", 2)
    async with Engine(config) as fox:  # a new engine on the same SQLite file
        for lang in LANGS:
            assert await fox.call(f"keeper-{lang}", "get", "shared") == f"from {lang}"
            assert await fox.call(f"keeper-{lang}", "get", "a.one") == value
            assert await fox.call(f"keeper-{lang}", "keys", "a.") == ["a.one"]
            assert await fox.call(f"keeper-{lang}", "keys") == ["a.one", "b.two", "shared"]
            assert await fox.call(f"keeper-{lang}", "drop", "b.two") is True
            assert await fox.call(f"keeper-{lang}", "drop", "b.two") is False
            assert await fox.call(f"keeper-{lang}", "get", "b.two") == "missing"


IDENTITY = {
    "lua": """
        local M = {}
        function M.who() return {id = fox.plugin.id, version = fox.plugin.version, config = fox.config} end
        function M.info() return fox.plugin.info() end
        function M.speak(text) print("said", text); fox.log.warn("careful " .. text) end
        return M
    """,
    "js": """
        module.exports = {
          who() { return {id: fox.plugin.id, version: fox.plugin.version, config: fox.config}; },
          async info() { return await fox.plugin.info(); },
          async speak(text) { console.log("said", text); await fox.log.warn("careful " + text); },
        };
    """,
    "py": """
        def who():
            return {"id": fox.plugin.id, "version": fox.plugin.version, "config": fox.config}

        def info():
            return fox.plugin.info()

        def speak(text):
            print("said", text)
            fox.log.warn("careful " + text)
    """,
}


@pytest.mark.parametrize("lang", LANGS)
async def test_a_plugin_sees_its_id_and_config_and_its_output_goes_to_its_logger(
    lang: str, write_plugin: Write, engine_config: Build, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_plugin(f"me{EXT[lang]}", plugin_text(lang, "id: me-plugin\nversion: 1.2.3", IDENTITY[lang]))
    config = {"base_url": "http://x", "n": 2, "tags": ["a"]}
    caplog.set_level(logging.INFO, logger="foxplug.plugin")
    async with Engine(engine_config(plugin_configs={"me-plugin": {"config": config}})) as fox:
        await fox.load(path)
        assert await fox.call("me-plugin", "who") == {"id": "me-plugin", "version": "1.2.3", "config": config}
        assert await fox.call("me-plugin", "info") == {"id": "me-plugin", "version": "1.2.3", "config": config}
        await fox.call("me-plugin", "speak", "hi")
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("foxplug.plugin")]
    separator = "\t" if lang == "lua" else " "
    assert records == [
        ("foxplug.plugin.me-plugin", logging.INFO, f"said{separator}hi"),
        ("foxplug.plugin.me-plugin", logging.WARNING, "careful hi"),
    ]


async def test_a_broken_plugin_in_a_directory_does_not_stop_the_others(
    write_plugin: Write, engine_config: Build
) -> None:
    good = write_plugin("good.lua", "local M = {}\nfunction M.ping() return 1 end\nreturn M\n")
    bad = write_plugin("bad.js", "module.exports = {;\n")
    failures: list[dict[str, Any]] = []
    fox = Engine(engine_config(directories=[good.parent]))
    fox.on("load_failed", failures.append)
    async with fox:
        assert [p.id for p in fox.plugins] == ["good"]
        assert list(fox.load_errors) == [str(bad)]
        assert isinstance(fox.load_errors[str(bad)], PluginError)
        assert failures[0]["path"] == str(bad)
        assert failures[0]["error"]["error"] == "PluginError"
        assert failures[0]["error"]["line"] == 1


async def test_a_deadline_on_engine_call_reaches_host_calls_too(
    write_plugin: Write, engine_config: Build, slow_api: str
) -> None:
    """A plugin waiting on slow I/O is still bounded by its call's deadline."""
    manifest = "id: waiter\nversion: 1.0.0\npermissions:\n  network: [127.0.0.1]"
    body = """
        local M = {}
        function M.wait(api) return fox.http.get(api .. "/songs?q=x&delay_ms=3000").status end
        return M
    """
    path = write_plugin("waiter.lua", plugin_text("lua", manifest, body))
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(PluginTimeout):
            await fox.call("waiter", "wait", slow_api, timeout=0.3)
        assert time.monotonic() - started < 1.3
