"""`Engine.song_url` and the Song objects `search` returns, handed back to `lyrics`, `emit` and the player (§3.13)."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from engine import Engine
from tests.conftest import REPO

FIRST_LUA = """
--[[---
id: first
version: 1.0.0
provides: [search, song_url, lyrics, events]
permissions: {storage: true}
---]]
local M = {}
function M.search(query, opts) return { { id = "f1", title = "First " .. query, artists = { "A" } } } end
function M.get_song_url(id, quality)
  if id == "f1" then return { url = "https://first.example/" .. id .. "?q=" .. tostring(quality), headers = { Cookie = "c" } } end
  return nil
end
function M.get_lyrics(song) return "[00:01.00]" .. song.title .. " by " .. song.artists[1].name end
function M.on_song_changed(song) fox.storage.set("heard", song.title) end
function M.heard() return fox.storage.get("heard") end
return M
"""
SECOND_LUA = """
--[[---
id: second
version: 1.0.0
provides: [song_url]
---]]
local M = {}
function M.get_song_url(id, quality) return "https://second.example/" .. id end
return M
"""
JUNK_LUA = """
--[[---
id: junk
version: 1.0.0
provides: [song_url]
---]]
local M = {}
function M.get_song_url(id, quality) return { url = 42 } end
return M
"""


@pytest.fixture
def plugins(write_plugin: Callable[[str, str], Path]) -> Path:
    write_plugin("first.lua", FIRST_LUA)
    write_plugin("junk.lua", JUNK_LUA)
    return write_plugin("second.lua", SECOND_LUA).parent


async def test_the_songs_own_source_answers_first(engine_config: Callable[..., dict[str, Any]], plugins: Path) -> None:
    config = engine_config([plugins], plugin_configs={"second": {"priority": 10}, "junk": {"priority": 20}})
    async with Engine(config) as fox:
        song = (await fox.search("x")).items[0]

        url = await fox.song_url(song, "exhigh")

    assert url == {"url": "https://first.example/f1?q=exhigh", "headers": {"Cookie": "c"}, "source": "first"}


async def test_other_providers_are_asked_when_the_source_has_none_and_junk_is_skipped(
    engine_config: Callable[..., dict[str, Any]], plugins: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = engine_config([plugins], plugin_configs={"junk": {"priority": 20}})
    async with Engine(config) as fox:
        url = await fox.song_url({"id": "elsewhere", "title": "T", "source": "first"})

    assert url == {"url": "https://second.example/elsewhere", "headers": {}, "source": "second"}
    assert "song_url from junk failed: PluginError: " in caplog.text
    assert "get_song_url().url: expected a string, got int" in caplog.text


async def test_without_a_provider_the_songs_own_url_or_none(engine_config: Callable[..., dict[str, Any]]) -> None:
    async with Engine(engine_config()) as fox:
        none = await fox.song_url({"id": "1", "title": "T"})
        own = await fox.song_url({"id": "1", "title": "T", "url": "https://own.example/1", "source": "x"})

    assert none is None
    assert own == {"url": "https://own.example/1", "headers": {}, "source": "x"}


async def test_lyrics_and_emit_take_the_song_objects_search_returns(
    engine_config: Callable[..., dict[str, Any]], plugins: Path
) -> None:
    async with Engine(engine_config([plugins])) as fox:
        song = (await fox.search("x")).items[0]

        lyrics = await fox.lyrics(song)
        await fox.emit("song_changed", song)
        await fox.call("first", "heard")  # queued behind on_song_changed on the plugin's actor
        heard = await fox.call("first", "heard")

    assert lyrics is not None
    assert (lyrics.plain, lyrics.source) == ("First x by A", "first")
    assert heard == "First x"


async def test_the_null_player_takes_a_song_and_plugins_hear_it_change(
    engine_config: Callable[..., dict[str, Any]], plugins: Path
) -> None:
    async with Engine(engine_config([plugins])) as fox:
        song = (await fox.search("x")).items[0]

        fox.player.play(song)  # the player tells the engine, which delivers song_changed from the loop
        for _ in range(200):
            if heard := await fox.call("first", "heard"):
                break
            await asyncio.sleep(0.01)

    assert fox.player.current() == song.to_dict()
    assert heard == "First x"


async def test_the_demo_catalogue_plays_tones_written_on_first_use(
    engine_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    async with Engine(engine_config([REPO / "plugins_lua"])) as fox:
        song = (await fox.search("air on the g string")).items[0]
        first = await fox.song_url(song)
        again = await fox.song_url(song)

    assert first == again
    assert first is not None and first["source"] == "demo-catalogue"
    path = Path(urlsplit(first["url"]).path)
    assert path == tmp_path / "cache" / "foxplug" / "tones" / "bach-air.wav"
    with wave.open(str(path)) as tone:
        assert tone.getnchannels() == 1 and tone.getnframes() / tone.getframerate() > 3
