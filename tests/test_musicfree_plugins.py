"""MusicFree plugins dropped into a plugin directory, unmodified: real ones from MusicFree's plugin repository
and ones written in their exact shapes, against stand-in servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine
from engine.errors import PermissionDenied, PluginError

FIXTURES = Path(__file__).parent / "fixtures" / "ecosystems"
PASSWORD = "s3cret-pass"

SONGS = [
    {
        "id": "tr-101",
        "parent": "al-7",
        "isDir": False,
        "title": "Gentle Rain",
        "album": "Weather",
        "artist": "Soundscapes",
        "track": 1,
        "year": 2019,
        "genre": "Ambient",
        "coverArt": "al-7",
        "size": 5120000,
        "contentType": "audio/mpeg",
        "suffix": "mp3",
        "duration": 245,
        "bitRate": 320,
        "path": "Soundscapes/Weather/01 Gentle Rain.mp3",
        "albumId": "al-7",
        "artistId": "ar-3",
        "type": "music",
    },
    {
        "id": "tr-102",
        "parent": "al-7",
        "isDir": False,
        "title": "Rain on Glass",
        "album": "Weather",
        "artist": "Soundscapes",
        "track": 2,
        "coverArt": "al-7",
        "duration": 198,
        "albumId": "al-7",
        "artistId": "ar-3",
        "type": "music",
    },
]


def _subsonic(body: dict[str, Any]) -> web.Response:
    return web.json_response({"subsonic-response": {"status": "ok", "version": "1.16.1", "type": "navidrome", **body}})


async def subsonic_search(request: web.Request) -> web.Response:
    q = request.query
    if hashlib.md5(f"{PASSWORD}{q['s']}".encode()).hexdigest() != q["t"] or q["u"] != "alice":
        return _subsonic({"status": "failed", "error": {"code": 40, "message": "Wrong username or password"}})
    found = [s for s in SONGS if q["query"].lower() in s["title"].lower()]
    return _subsonic({"searchResult2": {"song": found, "album": []}})


@pytest.fixture
async def subsonic() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/rest/search2", subsonic_search)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _directory(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"musicfree-{name}.js", folder / f"{name}.js")
    return folder


async def test_the_real_navidrome_plugin_searches_and_resolves_urls(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], subsonic: str
) -> None:
    settings = {"config": {"url": subsonic, "username": "alice", "password": PASSWORD}}
    config = engine_config(
        [_directory(tmp_path, "navidrome")],
        plugin_configs={"navidrome": {**settings, "permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        info = fox.plugin("navidrome")
        assert (info.runtime, info.name, info.version) == ("musicfree", "Navidrome", "0.0.0")
        assert set(info.provides) >= {"search", "song_url"}
        result = await fox.search("rain")
        assert result.errors == {}
        assert [(s.id, s.title, s.source) for s in result.items] == [
            ("tr-101", "Gentle Rain", "navidrome"),
            ("tr-102", "Rain on Glass", "navidrome"),
        ]
        first = result.items[0]
        assert first.artists[0].name == "Soundscapes" and first.album.name == "Weather"
        assert first.duration_ms == 245_000
        assert first.extra["albumId"] == "al-7" and first.extra["artwork"] == "al-7"  # MusicFree's item, kept whole

        media = await fox.song_url(first)
        assert media is not None and media["source"] == "navidrome"
        assert media["url"].startswith(f"{subsonic}/rest/stream?u=alice&s=")
        assert media["url"].endswith("&id=tr-101")

        raw = await fox.call("navidrome", "search", "glass", 1, "music")  # MusicFree's own signature
        assert raw["isEnd"] is True and [s["id"] for s in raw["data"]] == ["tr-102"]
        assert await fox.search("rain", type="album") == type(result)()  # supportedSearchType: music, album


async def test_the_real_navidrome_plugin_runs_in_a_worker_process_too(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], subsonic: str
) -> None:
    settings = {"config": {"url": subsonic, "username": "alice", "password": PASSWORD}, "isolation": "process"}
    config = engine_config(
        [_directory(tmp_path, "navidrome")],
        plugin_configs={"navidrome": {**settings, "permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        result = await fox.search("glass")
        assert result.errors == {} and [s.id for s in result.items] == ["tr-102"]
        media = await fox.song_url(result.items[0])
        assert media is not None and media["url"].endswith("&id=tr-102")


async def test_without_a_grant_the_plugin_is_refused_and_told_where_to_grant(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], subsonic: str
) -> None:
    settings = {"config": {"url": subsonic, "username": "alice", "password": PASSWORD}}
    config = engine_config([_directory(tmp_path, "navidrome")], plugin_configs={"navidrome": settings})
    async with Engine(config) as fox:
        result = await fox.search("rain")
        assert result.items == []
        error = result.errors["navidrome"]
        assert error.startswith("PermissionDenied:")
        assert "plugin_configs.navidrome.permissions" in error
        assert "t=***" in error and "s=***" in error  # the password-derived token never reaches a message
        with pytest.raises(PermissionDenied):
            await fox.call("navidrome", "search", "rain", 1, "music")


async def test_a_grant_for_another_host_reaches_nothing(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], subsonic: str
) -> None:
    settings = {"config": {"url": subsonic, "username": "alice", "password": PASSWORD}}
    config = engine_config(
        [_directory(tmp_path, "navidrome")],
        plugin_configs={"navidrome": {**settings, "permissions": {"network": ["music.example.org"]}}},
    )
    async with Engine(config) as fox:
        result = await fox.search("rain")
        assert result.errors["navidrome"].startswith("PermissionDenied:")


# --- WebDAV: the real plugin over foxplug's webdav subset, with user:pass@ download links ---------------

PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:">
  <d:response><d:href>/dav/music/</d:href><d:propstat><d:prop>
    <d:resourcetype><d:collection/></d:resourcetype><d:getlastmodified>Mon, 01 Jan 2024 00:00:00 GMT</d:getlastmodified>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
  <d:response><d:href>/dav/music/Gentle%20Rain.mp3</d:href><d:propstat><d:prop>
    <d:resourcetype/><d:getcontentlength>5120000</d:getcontentlength><d:getcontenttype>audio/mpeg</d:getcontenttype>
    <d:getetag>"e1"</d:getetag><d:getlastmodified>Mon, 01 Jan 2024 00:00:00 GMT</d:getlastmodified>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
  <d:response><d:href>/dav/music/cover.jpg</d:href><d:propstat><d:prop>
    <d:resourcetype/><d:getcontentlength>1000</d:getcontentlength><d:getcontenttype>image/jpeg</d:getcontenttype>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"""


@pytest.fixture
async def webdav() -> AsyncIterator[str]:
    async def propfind(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Basic Ym9iOnB3QDE=":  # bob:pw@1
            return web.Response(status=401)
        assert request.headers["Depth"] == "1"
        return web.Response(status=207, text=PROPFIND, content_type="application/xml")

    app = web.Application()
    app.router.add_route("PROPFIND", "/dav/music/", propfind)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_the_real_webdav_plugin_lists_audio_and_plays_with_an_authorization_header(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], webdav: str
) -> None:
    variables = {"url": f"{webdav}/dav", "username": "bob", "password": "pw@1", "searchPath": "/music/"}
    config = engine_config(
        [_directory(tmp_path, "webdav")],
        plugin_configs={"webdav": {"config": variables, "permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        result = await fox.search("Rain")
        assert result.errors == {}
        assert [(s.id, s.title) for s in result.items] == [("/music/Gentle Rain.mp3", "Gentle Rain.mp3")]
        media = await fox.song_url(result.items[0])
        assert media == {
            "url": f"{webdav}/dav/music/Gentle%20Rain.mp3",
            "headers": {"Authorization": "Basic Ym9iOnB3QDE="},
            "source": "webdav",
        }
        tops = await fox.call("webdav", "getTopLists")  # its own methods, by their own names
        assert tops == [{"title": "全部歌曲", "data": [{"title": "/music/", "id": "/music/"}]}]
        detail = await fox.call("webdav", "getTopListDetail", tops[0]["data"][0])
        assert [m["id"] for m in detail["musicList"]] == ["/music/Gentle Rain.mp3"]


# --- an HTML lyrics site: the real plugin's getLyric, and cheerio search in its exact shape ------------

LYRICS_PAGE = """<html><body><div class="nav">x</div>
<div id="lyrics">[00:01.00]Rain falls
[00:05.00]Softly on the glass
</div></body></html>"""

SEARCH_PAGE = """<html><body><table class="table table-striped"><tbody>
<tr><td>Gentle Rain</td><td>Soundscapes</td><td>Weather</td><td><a href="{base}/lyrics/gentle-rain">view</a></td></tr>
<tr><td>Dry Wind</td><td>Others</td><td>Seasons</td><td><a href="{base}/lyrics/dry-wind">view</a></td></tr>
</tbody></table></body></html>"""


@pytest.fixture
async def lyrics_site() -> AsyncIterator[str]:
    async def search(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(text=SEARCH_PAGE.format(base=base), content_type="text/html")

    async def lyrics(request: web.Request) -> web.Response:
        return web.Response(text=LYRICS_PAGE, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/search", search)
    app.router.add_get("/lyrics/{slug}", lyrics)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_the_real_cheerio_lyrics_plugin_reads_a_page(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], lyrics_site: str
) -> None:
    config = engine_config(
        [_directory(tmp_path, "geciwang")],
        plugin_configs={"geciwang": {"permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        assert fox.plugin("geciwang").name == "歌词网"
        page = f"{lyrics_site}/lyrics/gentle-rain"
        raw = await fox.call("geciwang", "getLyric", {"id": page, "platform": "歌词网"})
        assert raw == {"rawLrc": "[00:01.00]Rain falls[00:05.00]Softly on the glass"}
        lyrics = await fox.lyrics({"id": page, "title": "Gentle Rain", "source": "geciwang", "extra": {"id": page}})
        assert lyrics is not None and lyrics.lrc == raw["rawLrc"]  # the plugin joins the page's lines itself


CHEERIO_SOURCE = """
"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
const axios_1 = require("axios");
const cheerio_1 = require("cheerio");
const he = require("he");
const dayjs = require("dayjs");
const BASE = env.getUserVariables().site;
let searches = 0;
async function search(query, page, type) {
    searches += 1;
    const html = (await axios_1.default.get(`${BASE}/search`, { params: { name: query } })).data;
    const $ = (0, cheerio_1.load)(html);
    const data = $(".table.table-striped > tbody").children("tr").map((i, el) => {
        const tds = $(el).children();
        return { id: $(tds.get(3)).children("a").attr("href"), title: he.decode($(tds.get(0)).text().trim()),
                 artist: $(tds.get(1)).text().trim(), album: $(tds.get(2)).text().trim(),
                 searchedAt: dayjs(0).format("YYYY-MM-DD") };
    }).toArray().filter((it) => it.title.toLowerCase().includes(query.toLowerCase()));
    return { isEnd: true, data };
}
async function getLyric(musicItem) {
    const $ = (0, cheerio_1.load)((await axios_1.default.get(musicItem.id)).data);
    return { rawLrc: $("div#lyrics").text() };
}
exports.default = {
    platform: "Lyrics Site", version: "1.2", author: "someone", srcUrl: "https://example.org/lyrics-site.js",
    userVariables: [{ key: "site", name: "Site address", hint: "http://..." }],
    supportedSearchType: ["music", "lyric"],
    search, getLyric,
    searchCount() { return searches; },
};
"""


async def test_a_tsc_default_export_plugin_with_cheerio_he_and_dayjs(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], lyrics_site: str
) -> None:
    path = write_plugin("lyrics_site.js", CHEERIO_SOURCE)
    config = engine_config(
        [path.parent],
        plugin_configs={"lyrics_site": {"config": {"site": lyrics_site}, "permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        info = fox.plugin("lyrics_site")
        assert (info.name, info.version) == ("Lyrics Site", "1.2.0")
        result = await fox.search("gentle")
        assert [(s.title, s.artists[0].name) for s in result.items] == [("Gentle Rain", "Soundscapes")]
        assert result.items[0].extra["searchedAt"] == "1970-01-01"
        lyrics = await fox.lyrics({"title": "Gentle Rain", "artists": ["Soundscapes"]})  # searched on the site
        assert lyrics is not None and lyrics.lines[0].text == "Rain falls"
        assert await fox.call("lyrics_site", "searchCount") == 2  # module-level state lives between calls


async def test_user_variables_become_the_config_schema(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin("lyrics_site.js", CHEERIO_SOURCE)
    bad = engine_config([], plugin_configs={"lyrics_site": {"config": {"site": 42}}})
    async with Engine(bad) as fox:
        with pytest.raises(Exception, match=r"plugin_configs\.lyrics_site\.config\.site"):
            await fox.load(path)


async def test_a_module_outside_musicfrees_list_is_refused_with_the_list(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(
        "needs_lodash.js",
        """
        const _ = require("lodash");
        module.exports = { platform: "Lodash User", async search() { return { data: [] }; } };
        """,
    )
    async with Engine(engine_config()) as fox:
        with pytest.raises(PluginError, match=r"Cannot find module 'lodash'.*axios, cheerio, crypto-js, dayjs, he"):
            await fox.load(path)


async def test_sync_methods_a_plain_module_exports_and_the_real_bilibili_plugin_load(
    tmp_path: Path, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    write_plugin(
        "offline.js",
        """
        const bigInt = require("big-integer");
        const qs = require("qs");
        module.exports = {
          platform: "Offline",
          version: "2.0.0",
          search(query, page, type) {
            return { isEnd: true, data: [{ id: bigInt("9007199254740993").toString(), title: query,
                                           artist: qs.stringify({ a: [1, 2] }), duration: 61 }] };
          },
          getMediaSource(item, quality) { return { url: "https://user:p%40ss@media.example.org/" + item.id + "?q=" + quality }; },
        };
        """,
    )
    shutil.copy(FIXTURES / "musicfree-bilibili.js", tmp_path / "plugins" / "bilibili.js")
    async with Engine(engine_config([tmp_path / "plugins"])) as fox:
        assert fox.load_errors == {}
        assert fox.plugin("bilibili").runtime == "musicfree"
        result = await fox.search("hello")
        assert result.errors["bilibili"].startswith("PermissionDenied:")
        song = next(s for s in result.items if s.source == "offline")
        assert (song.id, song.artists[0].name, song.duration_ms) == ("9007199254740993", "a%5B0%5D=1&a%5B1%5D=2", 61000)
        media = await fox.song_url(song, "high")
        assert media == {
            "url": "https://media.example.org/9007199254740993?q=high",
            "headers": {"Authorization": "Basic dXNlcjpwQHNz"},  # user:p@ss
            "source": "offline",
        }
