"""The bundled plugins work offline out of the box: a fresh install can search, play, show lyrics and UI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, NullPlayer, PluginError
from engine.engine import SearchResult
from script_api.lyrics import LyricLine
from script_api.types import Album, Artist, Playlist, Song

REPO = Path(__file__).resolve().parent.parent
BUNDLED = [REPO / "plugins_lua", REPO / "plugins_js", REPO / "plugins_py"]
OFFLINE_IDS = {
    "demo-catalogue",
    "instrumental",
    "now-playing",
    "demo-lyrics",
    "test-signals",
    "stop-after",
    "quick-controls",
    "soundscapes",
    "saved-lyrics",
    "play-stats",
    "lyrics-tri",
    "metronome",
    "tuner",
    "binaural-beats",
}


@pytest.fixture
def bundled_config(engine_config: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """All bundled plugins; the two online ones disabled, as in the shipped config (no network in tests)."""
    return engine_config(
        directories=BUNDLED,
        hot_reload={"enabled": False},
        plugin_configs={"netease": {"enabled": False}, "lrclib": {"enabled": False}, "saved-lyrics": {"priority": 10}},
    )


@pytest.fixture
async def fox(bundled_config: dict[str, Any]) -> AsyncIterator[Engine]:
    async with Engine(bundled_config) as engine:
        assert engine.load_errors == {}
        yield engine


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll until `check()` is truthy: events are delivered to plugins in the background."""
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        await asyncio.sleep(0.02)
    return result


async def plays_are(fox: Engine, song: dict[str, Any], count: int) -> bool:
    return await fox.call("play-stats", "play_count", song) == count


def ids(result: SearchResult) -> list[tuple[str, str]]:
    return [(song.source, song.id) for song in result.items]


async def test_the_demo_catalogue_matches_title_artist_and_album_ignoring_case(fox: Engine) -> None:
    by_artist = await fox.search("BEETHOVEN")
    by_album = await fox.search("plugin sessions")
    by_title_and_artist = await fox.search("rondo mozart")

    assert ids(by_artist) == [
        ("demo-catalogue", "beethoven-fur-elise"),
        ("demo-catalogue", "beethoven-moonlight"),
        ("demo-catalogue", "beethoven-fifth"),
    ]
    assert ids(by_album) == [
        ("demo-catalogue", "demo-fox-in-the-terminal"),
        ("demo-catalogue", "demo-hot-reload"),
        ("demo-catalogue", "demo-sandbox-lullaby"),
    ]
    assert by_title_and_artist.items == [
        Song(
            id="mozart-rondo-alla-turca",
            title="Rondo alla Turca",
            artists=(Artist("mozart", "Wolfgang Amadeus Mozart"),),
            album=Album("piano-sonatas", "Piano Sonatas"),
            duration_ms=212000,
            source="demo-catalogue",
            extra={"instrumental": True},
        )
    ]
    assert by_artist.errors == by_album.errors == by_title_and_artist.errors == {}


async def test_the_catalogue_holds_enough_songs_and_honours_the_limit(fox: Engine) -> None:
    everything = await fox.call("demo-catalogue", "search", "", {"limit": 100})
    limited = await fox.search("the", limit=2)

    assert 20 <= len(everything) <= 30
    assert len({song["id"] for song in everything}) == len(everything)
    assert all(song["title"] and song["artists"] and song["album"] and song["duration_ms"] > 0 for song in everything)
    assert len([song for song in limited.items if song.source == "demo-catalogue"]) == 2


async def test_catalogue_songs_resolve_to_tones(fox: Engine) -> None:
    url = await fox.call("demo-catalogue", "get_song_url", "satie-gymnopedie-1", "standard")

    assert url == "tone:satie-gymnopedie-1"
    with pytest.raises(PluginError, match="no song with id nope in the demo catalogue"):
        await fox.call("demo-catalogue", "get_song_url", "nope")


async def test_test_signals_are_found_and_play_as_lavfi_sources(fox: Engine) -> None:
    found = await fox.search("sine")

    assert ids(found) == [("test-signals", f"sine-{hz}") for hz in (100, 440, 1000, 10000)]
    assert await fox.call("test-signals", "get_song_url", "sine-440") == "av://lavfi:sine=frequency=440:duration=30"


async def test_soundscapes_offer_songs_and_playlists(fox: Engine) -> None:
    songs = await fox.search("water sleep")
    playlists = await fox.search("focus", type="playlist")
    page = await fox.call("soundscapes", "get_playlist_songs", "sleep", 1, 2)

    assert ids(songs) == [("soundscapes", "rain"), ("soundscapes", "ocean")]
    assert playlists.items == [
        Playlist(
            id="focus",
            name="Deep Focus",
            description="Steady sounds that keep distractions out.",
            song_count=4,
            creator="foxplug",
        )
    ]
    assert [song["id"] for song in page] == ["ocean", "night"]
    assert await fox.call("soundscapes", "get_song_url", "cafe") == "soundscape://cafe"


async def test_catalogue_songs_with_words_get_timed_lyrics(fox: Engine) -> None:
    [song] = (await fox.search("twinkle")).items

    lyrics = await fox.lyrics(song.to_dict())

    assert lyrics is not None
    assert [(line.time_ms, line.text) for line in lyrics.lines] == [
        (4000, "Twinkle, twinkle, little star,"),
        (8000, "How I wonder what you are!"),
        (12000, "Up above the world so high,"),
        (16000, "Like a diamond in the sky."),
        (28000, "Twinkle, twinkle, little star,"),
        (32000, "How I wonder what you are!"),
        (36000, ""),
    ]


async def test_demo_lyrics_carry_translations_offsets_and_word_timings(fox: Engine) -> None:
    translated = await fox.lyrics({"title": "Fox in the Terminal"})
    shifted = await fox.lyrics({"title": "hot reload"})
    karaoke = await fox.lyrics({"title": "Sandbox Lullaby"})

    assert translated is not None and shifted is not None and karaoke is not None
    assert translated.lines[0] == LyricLine(
        12000, "A little fox lives in my terminal", "Un petit renard vit dans mon terminal"
    )
    assert [line.time_ms for line in shifted.lines] == [7750, 11750, 15750, 19750]
    first = karaoke.lines[0]
    assert first.text == "Hush little plugin, don't you cry"
    assert [(word.time_ms, word.text) for word in first.words[:3]] == [
        (10000, "Hush "),
        (10600, "little "),
        (11200, "plugin, "),
    ]


async def test_instrumental_songs_say_so_and_unknown_songs_get_none(fox: Engine) -> None:
    [gymnopedie] = (await fox.search("satie")).items

    instrumental = await fox.lyrics(gymnopedie.to_dict())
    unknown = await fox.lyrics({"title": "A song nobody wrote", "artists": ["Nobody"]})

    assert instrumental is not None
    assert [(line.time_ms, line.text) for line in instrumental.lines] == [(0, "♪ Instrumental ♪")]
    assert unknown is None


async def test_saved_lyrics_win_over_the_demo_lyrics_until_forgotten(fox: Engine) -> None:
    song = {"title": "Amazing Grace", "artists": [{"id": "traditional", "name": "Traditional"}]}

    saved = await fox.call("saved-lyrics", "save_lyrics", song, "[00:01.00]My own words", "[00:01.00]Mes mots")
    mine = await fox.lyrics({"title": "amazing grace", "artists": ["TRADITIONAL"]})
    forgotten = await fox.call("saved-lyrics", "forget_lyrics", song)
    demo = await fox.lyrics(song)

    assert saved is True and forgotten is True
    assert mine is not None and mine.lines == (LyricLine(1000, "My own words", "Mes mots"),)
    assert demo is not None and demo.lines[0].text == "Amazing grace! How sweet the sound"


async def test_status_line_shows_the_song_its_progress_and_its_play_count(fox: Engine) -> None:
    [song] = (await fox.search("clair de lune")).items

    playing = await fox.ui.status({"song": song.to_dict(), "state": "playing", "position_ms": 65000})
    paused = await fox.ui.status({"song": song.to_dict(), "state": "paused", "position_ms": 65000})
    idle = await fox.ui.status({"state": "stopped"})

    assert playing == [
        {"text": "▶ Clair de lune — Claude Debussy  1:05 / 5:01", "style": "bold", "plugin": "now-playing"},
        {"text": "♫ 0 plays", "style": "dim", "plugin": "play-stats"},
    ]
    assert paused[0] == {
        "text": "⏸ Clair de lune — Claude Debussy  1:05 / 5:01",
        "style": "dim",
        "plugin": "now-playing",
    }
    assert idle == []


async def test_a_song_change_is_announced_to_the_host(fox: Engine) -> None:
    heard: list[dict[str, Any]] = []
    announced = asyncio.Event()

    def on_notify(message: dict[str, Any]) -> None:
        if message["plugin"] == "now-playing":
            heard.append(message)
            announced.set()

    fox.on("notify", on_notify)
    [song] = (await fox.search("hot reload")).items
    await fox.emit("song_changed", song.to_dict())
    await asyncio.wait_for(announced.wait(), timeout=5)

    assert heard == [{"plugin": "now-playing", "text": "Now playing: Hot Reload — The Demo Tapes", "level": "info"}]


async def test_stop_after_this_song_is_a_menu_toggle_that_stops_the_next_song(bundled_config: dict[str, Any]) -> None:
    player = NullPlayer()
    player.play({"id": "1", "title": "Greensleeves"})
    notes: list[str] = []
    stopped = asyncio.Event()

    def on_notify(message: dict[str, Any]) -> None:
        if message["plugin"] == "stop-after":
            notes.append(message["text"])
            if message["text"].startswith("Stopped"):
                stopped.set()

    async with Engine(bundled_config, player=player) as fox:
        fox.on("notify", on_notify)
        before = [entry for entry in await fox.ui.menus({}) if entry["plugin"] == "stop-after"]
        answer = await fox.ui.action("stop-after", "stop-after-current", {})
        after = [entry for entry in await fox.ui.menus({}) if entry["plugin"] == "stop-after"]
        assert player.state() == "playing"
        await fox.emit("song_changed", {"id": "2", "title": "Auld Lang Syne"})
        await asyncio.wait_for(stopped.wait(), timeout=5)

    assert before == [
        {"id": "stop-after-current", "label": "Stop after this song", "checked": False, "plugin": "stop-after"}
    ]
    assert answer == {"armed": True}
    assert after[0]["label"] == "Keep playing after this song"
    assert player.state() == "stopped"
    assert notes == ["Playback will stop after this song", "Stopped after the last song, as asked"]


async def test_play_counts_survive_an_engine_restart(bundled_config: dict[str, Any]) -> None:
    song = {"id": "trad-greensleeves", "title": "Greensleeves", "source": "demo-catalogue"}

    async with Engine(bundled_config) as fox:
        await fox.emit("song_changed", song)
        await fox.emit("song_changed", song)
        await eventually(lambda: plays_are(fox, song, 2))

    async with Engine(bundled_config) as fox:
        status = await fox.ui.status({"song": song})
        menu = [entry["id"] for entry in await fox.ui.menus({}) if entry["plugin"] == "play-stats"]
        top = await fox.ui.action("play-stats", "top-songs", {})
        reset = await fox.ui.action("play-stats", "reset-plays", {})
        after_reset = await fox.call("play-stats", "play_count", song)

    assert {"text": "♫ 2 plays", "style": "dim", "plugin": "play-stats"} in status
    assert menu == ["top-songs", "reset-plays"]
    assert top == [{"title": "Greensleeves", "plays": 2}]
    assert reset == {"deleted": 1}
    assert after_reset == 0


async def test_the_shipped_config_loads_every_bundled_plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOXPLUG_STORAGE", str(tmp_path / "storage.sqlite3"))

    async with Engine.from_config(REPO / "config" / "plugins.yaml") as fox:
        plugins = {info.id: info for info in fox.plugins}
        found = await fox.search("greensleeves")
        errors = fox.load_errors

    assert errors == {}
    assert set(plugins) == OFFLINE_IDS | {"netease", "lrclib"}
    assert {plugins[i].state for i in OFFLINE_IDS} == {"running"}
    assert plugins["netease"].state == plugins["lrclib"].state == "disabled"
    assert {"lua", "js", "python"} <= {info.runtime for info in plugins.values()}
    assert plugins["lyrics-tri"].runtime in ("native", "wasm", "lua")  # native once `make plugins` built it
    assert ids(found) == [("demo-catalogue", "trad-greensleeves")] and found.errors == {}


async def test_quick_controls_pause_resume_and_skip_the_player(fox: Engine) -> None:
    fox.player.play({"id": "a", "title": "A"})
    fox.player.play({"id": "b", "title": "B"})

    playing = [e["id"] for e in await fox.ui.menus({}) if e["plugin"] == "quick-controls"]
    paused = await fox.ui.action("quick-controls", "pause", {})
    while_paused = [e["id"] for e in await fox.ui.menus({}) if e["plugin"] == "quick-controls"]
    resumed = await fox.ui.action("quick-controls", "resume", {})
    await fox.ui.action("quick-controls", "next", {})

    assert playing == ["pause", "next"]
    assert (paused, resumed) == ({"state": "paused"}, {"state": "playing"})
    assert while_paused == ["resume", "next"]
    assert fox.player.current() == {"id": "a", "title": "A"}  # next after the last wraps around
