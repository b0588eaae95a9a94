"""The bundled LRCLIB lyrics provider against a local stand-in for an LRCLIB server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from engine import Engine, PermissionDenied
from script_api.lyrics import LyricLine

LRCLIB = Path(__file__).resolve().parent.parent / "plugins_js" / "lrclib.js"


def track(track_id: int, title: str, artist: str, album: str, duration: float, synced: str | None) -> dict[str, Any]:
    """A record as LRCLIB returns it from /api/get and in /api/search arrays."""
    plain = re.sub(r"\[[\d:.]+\]", "", synced) if synced else "Some words without timing"
    return {
        "id": track_id,
        "name": title,
        "trackName": title,
        "artistName": artist,
        "albumName": album,
        "duration": duration,
        "instrumental": False,
        "plainLyrics": plain,
        "syncedLyrics": synced,
    }


LIGHTHOUSE = track(
    3396226,
    "Lighthouse Keeper",
    "Harbour Lights",
    "Coastal Songs",
    233.0,
    "[00:17.12]I keep the light for ships at sea\n[00:21.50]And no one keeps the light for me\n[00:26.00]",
)
DRIFT_PLAIN = track(41, "Drift", "The Tides", "Drift (Single)", 180.0, None)
DRIFT_SYNCED = track(
    42, "Drift", "The Tides", "Low Water", 181.0, "[00:03.00]We drift along\n[00:06.50]Where the water goes"
)
NOT_FOUND = {"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"}


@dataclass
class FakeLrclib:
    url: str
    seen: list[URL] = field(default_factory=list)
    """Every request the server received."""


async def get(request: web.Request) -> web.Response:
    query = request.query
    for record in (LIGHTHOUSE, DRIFT_PLAIN):
        if (query.get("track_name"), query.get("artist_name")) == (record["trackName"], record["artistName"]):
            return web.json_response(record)
    return web.json_response(NOT_FOUND, status=404)


async def search(request: web.Request) -> web.Response:
    """Looser than /api/get, like LRCLIB's full-text search: every record whose title the query contains."""
    q = request.query["q"].lower()
    return web.json_response([r for r in (LIGHTHOUSE, DRIFT_PLAIN, DRIFT_SYNCED) if r["trackName"].lower() in q])


@pytest.fixture
async def api() -> AsyncIterator[FakeLrclib]:
    fake = FakeLrclib(url="")

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        fake.seen.append(request.rel_url)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes([web.get("/api/get", get), web.get("/api/search", search)])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]], api: FakeLrclib) -> AsyncIterator[Engine]:
    async with Engine(engine_config(plugin_configs={"lrclib": {"config": {"base_url": api.url}}})) as engine:
        await engine.load(LRCLIB)
        yield engine


async def test_an_exact_match_gives_timed_lines(fox: Engine, api: FakeLrclib) -> None:
    song = {
        "id": "1",
        "title": "Lighthouse Keeper",
        "artists": [{"id": "a", "name": "Harbour Lights"}],
        "album": {"id": "b", "name": "Coastal Songs"},
        "duration_ms": 233400,
    }

    lyrics = await fox.lyrics(song)

    assert lyrics is not None
    assert lyrics.lines == (
        LyricLine(17120, "I keep the light for ships at sea"),
        LyricLine(21500, "And no one keeps the light for me"),
        LyricLine(26000, ""),
    )
    [seen] = api.seen
    assert seen.path == "/api/get"
    assert dict(seen.query) == {
        "track_name": "Lighthouse Keeper",
        "artist_name": "Harbour Lights",
        "album_name": "Coastal Songs",
        "duration": "233",
    }


async def test_when_get_finds_nothing_the_search_is_tried(fox: Engine, api: FakeLrclib) -> None:
    lyrics = await fox.lyrics({"title": "Lighthouse Keeper", "artists": ["Harbour Lights feat. Mara"]})

    assert lyrics is not None and lyrics.lines[0].text == "I keep the light for ships at sea"
    assert [seen.path for seen in api.seen] == ["/api/get", "/api/search"]
    assert dict(api.seen[0].query) == {"track_name": "Lighthouse Keeper", "artist_name": "Harbour Lights feat. Mara"}
    assert api.seen[1].query["q"] == "Lighthouse Keeper Harbour Lights feat. Mara"


async def test_plain_only_lyrics_lead_to_a_timed_version_found_by_search(fox: Engine, api: FakeLrclib) -> None:
    lyrics = await fox.lyrics({"title": "Drift", "artists": [{"name": "The Tides"}]})

    assert lyrics is not None
    assert [(line.time_ms, line.text) for line in lyrics.lines] == [
        (3000, "We drift along"),
        (6500, "Where the water goes"),
    ]
    assert [seen.path for seen in api.seen] == ["/api/get", "/api/search"]


async def test_a_song_without_artist_is_only_searched(fox: Engine, api: FakeLrclib) -> None:
    lyrics = await fox.lyrics({"title": "Lighthouse Keeper"})

    assert lyrics is not None
    assert [(seen.path, dict(seen.query)) for seen in api.seen] == [("/api/search", {"q": "Lighthouse Keeper"})]


async def test_a_song_lrclib_does_not_know_gives_none(fox: Engine, api: FakeLrclib) -> None:
    song = {"title": "Unheard Melody", "artists": ["Nobody"], "duration_ms": 100000}

    assert await fox.call("lrclib", "get_lyrics", song) is None
    assert await fox.lyrics(song) is None
    assert [seen.path for seen in api.seen] == ["/api/get", "/api/search"] * 2


async def test_a_server_the_plugin_holds_no_grant_for_is_never_contacted(
    engine_config: Callable[..., dict[str, Any]], api: FakeLrclib, tmp_path: Path
) -> None:
    source, granted = re.subn(
        r'network: \["lrclib\.net", "127\.0\.0\.1", "localhost"\]', 'network: ["lrclib.net"]', LRCLIB.read_text()
    )
    assert granted == 1
    elsewhere = tmp_path / "lrclib.js"
    elsewhere.write_text(source)
    song = {"title": "Lighthouse Keeper", "artists": ["Harbour Lights"]}

    async with Engine(engine_config(plugin_configs={"lrclib": {"config": {"base_url": api.url}}})) as fox:
        await fox.load(elsewhere)
        with pytest.raises(PermissionDenied, match=r"plugin `lrclib` called fox\.http\.get.*no network grant for 127"):
            await fox.call("lrclib", "get_lyrics", song)
        assert await fox.lyrics(song) is None  # a failing provider is skipped, not fatal

    assert api.seen == []
