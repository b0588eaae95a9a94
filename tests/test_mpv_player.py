"""MpvPlayer (ARCHITECTURE §3.13) with a real mpv (`--ao=null`) on wav files the tests write."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, MpvPlayer, PlayerError
from engine.players.tones import melody, write_wav

UNTIMED = ["--ao=null", "--ao-null-untimed"]
"""mpv decodes as fast as it can: a 2 s wav ends in a fraction of a second."""
TIMED = ["--ao=null"]
"""mpv plays in real time, to nothing."""

LISTENER_LUA = """
--[[---
id: listener
version: 1.0.0
provides: [events]
permissions: {player.control: true, ui.notify: true}
---]]
local M = {}
function M.on_song_changed(song) fox.ui.notify("changed to " .. song.title) end
function M.pause_it() fox.player.pause() end
return M
"""


async def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `check` until it is truthy; fail with what it last returned after `timeout` (a hang bound)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(0.01)
    return value


def loaded(player: MpvPlayer) -> str | None:
    """The path mpv has open, or None while it starts or loads."""
    try:
        return player.get("path") if player.pid else None
    except PlayerError:
        return None


@pytest.fixture
def wavs(tmp_path: Path) -> Callable[[str, float], dict[str, Any]]:
    """`song("name", seconds)` -> a song whose url is a wav of that length."""

    def song(name: str, seconds: float = 1.0) -> dict[str, Any]:
        notes = melody(name)
        path = write_wav(tmp_path / "wav" / f"{name}.wav", notes, seconds / len(notes))
        return {"id": name, "title": name.title(), "url": str(path)}

    return song


@pytest.fixture
async def fox(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Callable[[str, str], Path], request: Any
) -> AsyncIterator[Engine]:
    """An engine that plays through mpv (`plugins.player.backend: mpv`), with a plugin listening for songs."""
    args = getattr(request, "param", UNTIMED)
    plugin = write_plugin("listener.lua", LISTENER_LUA)
    config = engine_config(
        [plugin.parent], player={"backend": "mpv", "mpv": {"args": args}}, hot_reload={"enabled": False}
    )
    async with Engine(config) as engine:
        engine.notes = []  # type: ignore[attr-defined]
        engine.on("notify", lambda event: engine.notes.append(event["text"]))  # type: ignore[attr-defined]
        engine.states = []  # type: ignore[attr-defined]
        engine.on("player_state", lambda event: engine.states.append(event["payload"]))  # type: ignore[attr-defined]
        yield engine


def notes(fox: Engine) -> list[str]:
    return fox.notes  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("fox", [TIMED], indirect=True)
async def test_play_pause_resume_seek_and_volume(fox: Engine, wavs: Callable[..., dict[str, Any]]) -> None:
    player = fox.player
    assert isinstance(player, MpvPlayer)

    player.play(wavs("long", 20.0))
    assert player.state() == "playing"
    await until(lambda: player.position() > 0)
    player.pause()
    paused = (player.state(), player.get("pause"))
    player.resume()
    resumed = (player.state(), player.get("pause"))
    player.seek(12_000)
    await until(lambda: player.position() >= 12_000)
    player.set_volume(40)

    assert paused == ("paused", True)
    assert resumed == ("playing", False)
    assert (player.volume(), player.get("volume")) == (40, 40)
    assert player.get("path").endswith("long.wav")
    assert player.current() is not None and player.current()["id"] == "long"


async def test_the_end_of_a_file_plays_the_next_song_and_plugins_hear_it(
    fox: Engine, wavs: Callable[..., dict[str, Any]]
) -> None:
    player = fox.player
    assert isinstance(player, MpvPlayer)
    player.queue.extend([wavs("first"), wavs("second")])

    player.play()
    await until(lambda: player.state() == "stopped")

    assert player.current()["id"] == "second"  # type: ignore[index]
    await until(lambda: "changed to Second" in notes(fox))
    assert notes(fox) == ["changed to First", "changed to Second"]
    await until(lambda: fox.states == ["playing", "stopped"])  # type: ignore[attr-defined]


async def test_a_missing_file_is_announced_and_the_next_song_plays(
    fox: Engine, wavs: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    player = fox.player
    player.queue.extend([{"id": "gone", "title": "Gone", "url": str(tmp_path / "gone.wav")}, wavs("after")])

    player.play()
    await until(lambda: "changed to After" in notes(fox))

    gone = next(note for note in notes(fox) if note.startswith("cannot play 'Gone'"))
    assert "No such file or directory" in gone  # mpv's own error message, from its log
    assert player.current()["id"] == "after"  # type: ignore[index]


async def test_two_hundred_rapid_plays_never_stall(fox: Engine, wavs: Callable[..., dict[str, Any]]) -> None:
    player = fox.player
    assert isinstance(player, MpvPlayer)
    songs = [wavs(f"rapid-{i % 5}", 0.5) for i in range(200)]
    started = time.monotonic()

    for song in songs:
        player.play(song)
    returned = time.monotonic() - started
    await until(lambda: player.state() == "stopped")  # the last one played to its end: nothing stuck

    assert returned < 10  # a hang bound: each play returns at once, its load queues behind it
    assert len(player.queue) == 200
    assert player.current() is player.queue[-1]
    assert player.get("idle-active") is True


@pytest.mark.parametrize("fox", [TIMED], indirect=True)  # real time: the song is still playing when paused
async def test_a_plugin_pauses_mpv_through_fox_player(fox: Engine, wavs: Callable[..., dict[str, Any]]) -> None:
    player = fox.player
    assert isinstance(player, MpvPlayer)
    player.play(wavs("paused-by-plugin", 30.0))

    await fox.call("listener", "pause_it")

    assert (player.state(), player.get("pause")) == ("paused", True)


async def test_songs_from_search_resolve_through_their_plugin(
    engine_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from tests.conftest import REPO

    config = engine_config([REPO / "plugins_lua"], player={"backend": "mpv", "mpv": {"args": TIMED}})
    async with Engine(config) as fox:
        player = fox.player
        assert isinstance(player, MpvPlayer)
        song = (await fox.search("greensleeves")).items[0]

        player.play(song)  # a Song, no url: the demo catalogue's get_song_url gives a tone, written as a wav
        path = await until(lambda: loaded(player))

    assert path == str(tmp_path / "cache" / "foxplug" / "tones" / "trad-greensleeves.wav")  # mpv drops file://


async def test_no_mpv_is_left_after_the_engine_stops(
    engine_config: Callable[..., dict[str, Any]], wavs: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config(player={"backend": "mpv", "mpv": {"args": TIMED}})) as fox:
        fox.player.play(wavs("last", 30.0))
        pid = await until(lambda: fox.player.pid)  # type: ignore[attr-defined]

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("fox", [TIMED], indirect=True)
async def test_when_mpv_dies_control_calls_say_so_and_the_next_play_starts_it_again(
    fox: Engine, wavs: Callable[..., dict[str, Any]]
) -> None:
    player = fox.player
    assert isinstance(player, MpvPlayer)
    player.play(wavs("doomed", 30.0))
    first = await until(lambda: player.position() > 0 and player.pid)  # playing, not still loading

    os.kill(first, signal.SIGKILL)
    await until(lambda: any(note.startswith("mpv exited") for note in notes(fox)))
    with pytest.raises(PlayerError, match="killed by signal 9"):
        player.pause()
    player.play(wavs("revived", 30.0))
    path = await until(lambda: loaded(player))

    assert player.pid != first
    assert player.state() == "playing"
    assert path.endswith("revived.wav")


async def test_a_missing_mpv_is_a_clear_notification(
    engine_config: Callable[..., dict[str, Any]], wavs: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config(player={"backend": "mpv", "mpv": {"path": "/nonexistent/mpv"}})) as fox:
        heard: list[dict[str, Any]] = []
        fox.on("notify", heard.append)
        fox.player.play(wavs("silent"))
        await until(lambda: heard)

    assert heard[0]["plugin"] == "player"
    assert "mpv not found: '/nonexistent/mpv'" in heard[0]["text"]
    assert fox.player.state() == "stopped"
