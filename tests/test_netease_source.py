"""The bundled NetEase source against a local stand-in for a NeteaseCloudMusicApi server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from engine import ConfigError, Engine, PermissionDenied
from script_api.lyrics import LyricLine
from script_api.types import Album, Artist, Song

NETEASE = Path(__file__).resolve().parent.parent / "plugins_lua" / "netease.lua"

# Shaped like the real API's answers, extra fields included (nulls, empty arrays, nested objects).
BEYOND = {"id": 11127, "name": "Beyond", "picUrl": None, "alias": [], "albumSize": 0, "img1v1": 0, "trans": None}
SONGS = [
    {
        "id": 347230,
        "name": "海阔天空",
        "artists": [BEYOND],
        "album": {"id": 34209, "name": "海阔天空", "artist": BEYOND, "publishTime": 747158400000, "size": 10},
        "duration": 326000,
        "copyrightId": 7002,
        "status": 0,
        "alias": [],
        "rtype": 0,
        "ftype": 0,
        "mvid": 376199,
        "fee": 1,
        "rUrl": None,
        "mark": 8192,
    },
    {
        "id": 5264842,
        "name": "Fly Me to the Moon",
        "artists": [{"id": 30224, "name": "Frank Sinatra"}, {"id": 33179, "name": "Count Basie"}],
        "album": {"id": 514196, "name": "It Might as Well Be Swing"},
        "duration": 148000,
        "alias": ["带我飞向月球"],
    },
    {  # the newer endpoints' shape: `ar`, `al` with the cover, `dt`; an unknown artist as an empty entry
        "id": 1901371647,
        "name": "Cover Story",
        "ar": [{"id": 12138269, "name": "Singer", "tns": [], "alias": []}, {"id": 0, "name": "", "tns": []}],
        "al": {"id": 137483519, "name": "Covers", "picUrl": "http://p1.music.126.net/cover.jpg", "tns": []},
        "dt": 201000,
    },
]
LYRICS = {
    "347230": {"lrc": {"version": 3, "lyric": "[00:18.56]今天我 寒夜里看雪飘过\n[00:24.40]怀着冷却了的心窝漂远方\n"}},
    "5264842": {
        "lrc": {"version": 5, "lyric": "[00:05.10]Fly me to the moon\n[00:08.30]Let me play among the stars\n"},
        "tlyric": {"version": 2, "lyric": "[00:05.10]带我飞向月球\n[00:08.30]让我在群星间嬉戏\n"},
    },
}


@dataclass
class FakeNetease:
    url: str
    seen: list[URL] = field(default_factory=list)
    """Every request the server received, as sent (raw query string included)."""

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


async def search(request: web.Request) -> web.Response:
    keywords = request.query["keywords"]
    if keywords == "busy":
        return web.json_response({"code": 405, "msg": "操作频繁，请稍候再试"})
    limit = int(request.query.get("limit", 30))
    words = keywords.lower().split()
    found = [
        song
        for song in SONGS
        if all(
            w in f"{song['name']} {' '.join(a['name'] for a in song.get('artists', song.get('ar')))}".lower()
            for w in words
        )
    ]
    return web.json_response({"result": {"songs": found[:limit], "songCount": len(found)}, "code": 200})


async def song_url(request: web.Request) -> web.Response:
    song_id = request.query["id"]
    url = f"http://m7.music.126.net/20240101/{song_id}.mp3" if song_id == "347230" else None
    return web.json_response({"data": [{"id": int(song_id), "url": url, "br": 320000, "code": 200}], "code": 200})


async def lyric(request: web.Request) -> web.Response:
    found = LYRICS.get(request.query["id"], {"nolyric": True})
    return web.json_response({**found, "code": 200})


@pytest.fixture
async def api() -> AsyncIterator[FakeNetease]:
    fake = FakeNetease(url="")

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        fake.seen.append(request.rel_url)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes([web.get("/search", search), web.get("/song/url", song_url), web.get("/lyric", lyric)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"  # a trailing slash must not matter
    yield fake
    await runner.cleanup()


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]], api: FakeNetease) -> AsyncIterator[Engine]:
    config = engine_config(plugin_configs={"netease": {"config": {"base_url": api.url}}})
    async with Engine(config) as engine:
        await engine.load(NETEASE)
        yield engine


async def test_search_results_become_songs_tagged_with_their_source(fox: Engine, api: FakeNetease) -> None:
    result = await fox.search("海阔天空 beyond", limit=5)

    assert result.errors == {}
    assert result.items == [
        Song(
            id="347230",
            title="海阔天空",
            artists=(Artist("11127", "Beyond"),),
            album=Album("34209", "海阔天空"),
            duration_ms=326000,
            source="netease",
        )
    ]
    assert api.paths() == ["/search"]
    assert api.seen[0].query["limit"] == "5"


async def test_the_query_reaches_the_server_url_encoded(fox: Engine, api: FakeNetease) -> None:
    query = "rock & roll/dé jà?=100%"

    await fox.search(query)

    [seen] = api.seen
    # The plugin sends %2F and %3F too; the HTTP client writes them as "/" and "?", both legal in a query.
    assert seen.raw_query_string == "keywords=rock%20%26%20roll/d%C3%A9%20j%C3%A0?%3D100%25&limit=20"
    assert seen.query["keywords"] == query


async def test_several_artists_stay_in_order(fox: Engine) -> None:
    [song] = (await fox.search("fly me to the moon")).items

    assert song.artists == (Artist("30224", "Frank Sinatra"), Artist("33179", "Count Basie"))
    assert song.album == Album("514196", "It Might as Well Be Swing")


async def test_album_covers_are_kept_and_empty_artist_entries_dropped(fox: Engine) -> None:
    [song] = (await fox.search("cover story")).items

    assert song.artists == (Artist("12138269", "Singer"),)
    assert song.album == Album("137483519", "Covers", "http://p1.music.126.net/cover.jpg")
    assert song.duration_ms == 201000


async def test_lyrics_of_a_song_given_only_by_its_id(fox: Engine, api: FakeNetease) -> None:
    lyrics = await fox.call("netease", "get_lyrics", {"id": "347230"})

    assert lyrics["lrc"].startswith("[00:18.56]今天我")
    assert api.paths() == ["/lyric"]


async def test_a_song_url_is_asked_for_at_the_requested_bitrate(fox: Engine, api: FakeNetease) -> None:
    url = await fox.call("netease", "get_song_url", "347230", "exhigh")
    unavailable = await fox.call("netease", "get_song_url", "5264842")

    assert url == "http://m7.music.126.net/20240101/347230.mp3"
    assert unavailable is None
    assert [str(seen) for seen in api.seen] == ["/song/url?id=347230&br=320000", "/song/url?id=5264842"]


async def test_lyrics_come_with_their_translation_merged_into_lines(fox: Engine, api: FakeNetease) -> None:
    [song] = (await fox.search("sinatra")).items

    lyrics = await fox.lyrics(song.to_dict())

    assert lyrics is not None
    assert lyrics.lines == (
        LyricLine(5100, "Fly me to the moon", "带我飞向月球"),
        LyricLine(8300, "Let me play among the stars", "让我在群星间嬉戏"),
    )
    assert [str(seen) for seen in api.seen][-1] == "/lyric?id=5264842"


async def test_a_song_from_another_source_is_looked_up_before_its_lyrics(fox: Engine, api: FakeNetease) -> None:
    song = {"id": "demo-1", "title": "海阔天空", "artists": [{"id": "x", "name": "Beyond"}], "source": "demo"}

    lyrics = await fox.lyrics(song)

    assert lyrics is not None
    assert [(line.time_ms, line.text) for line in lyrics.lines] == [
        (18560, "今天我 寒夜里看雪飘过"),
        (24400, "怀着冷却了的心窝漂远方"),
    ]
    assert api.paths() == ["/search", "/lyric"]
    assert api.seen[0].query["keywords"] == "海阔天空 Beyond"
    assert api.seen[1].query["id"] == "347230"


async def test_no_lyrics_and_unknown_songs_give_none(fox: Engine, api: FakeNetease) -> None:
    assert await fox.call("netease", "get_lyrics", {"id": "999", "title": "x", "source": "netease"}) is None
    assert await fox.lyrics({"id": "a", "title": "Nothing matches this", "source": "elsewhere"}) is None


async def test_an_api_error_code_is_reported_for_the_plugin(fox: Engine) -> None:
    result = await fox.search("busy")

    assert result.items == []
    assert "netease" in result.errors
    assert re.search(r"/search\?keywords=busy&limit=20 answered code 405", result.errors["netease"])


async def test_a_server_the_plugin_holds_no_grant_for_is_never_contacted(
    engine_config: Callable[..., dict[str, Any]], api: FakeNetease, tmp_path: Path
) -> None:
    source, granted = re.subn(
        r'network: \["127\.0\.0\.1", "localhost"\]', 'network: ["music.example.com"]', NETEASE.read_text()
    )
    assert granted == 1
    elsewhere = tmp_path / "netease.lua"
    elsewhere.write_text(source)

    async with Engine(engine_config(plugin_configs={"netease": {"config": {"base_url": api.url}}})) as fox:
        await fox.load(elsewhere)
        with pytest.raises(PermissionDenied, match=r"plugin `netease` called fox\.http\.get.*no network grant"):
            await fox.call("netease", "search", "海阔天空", {"limit": 5})

    assert api.seen == []


async def test_a_base_url_that_is_not_http_is_refused_at_load(engine_config: Callable[..., dict[str, Any]]) -> None:
    config = engine_config(plugin_configs={"netease": {"config": {"base_url": "ftp://127.0.0.1/"}}})

    async with Engine(config) as fox:
        with pytest.raises(ConfigError, match="base_url"):
            await fox.load(NETEASE)
