"""LX Music custom sources dropped into a plugin directory, unmodified: the lx-music-doc example, a real source
for a self-hosted API server, and sources written in LX's exact shape, against stand-in servers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine
from engine.errors import PermissionDenied, PluginError

FIXTURES = Path(__file__).parent / "fixtures" / "ecosystems"
API_PORT = 9763
"""lx-music-api-server's source script names its server as http://127.0.0.1:9763; being unmodified, it gets it."""


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / f"{name}.js", folder / f"{name}.js")
    return folder


async def test_the_doc_example_loads_declares_what_lx_allows_and_needs_a_grant(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config([_copy(tmp_path, "lx-doc-example")])) as fox:
        info = fox.plugin("lx-doc-example")
        assert (info.runtime, info.name, info.version) == ("lx", "测试音乐源", "1.0.0")
        assert set(info.provides) == {"song_url", "lyrics"}  # kw: musicUrl; local: musicUrl, lyric (and pic)
        request = {"source": "kw", "action": "musicUrl", "info": {"type": "320k", "musicInfo": {"songmid": "1"}}}
        with pytest.raises(PermissionDenied, match=r"plugin_configs\.lx-doc-example\.permissions"):
            await fox.call("lx-doc-example", "request", request)
        with pytest.raises(PluginError, match="does not declare the action `lyric`"):
            await fox.call("lx-doc-example", "request", {**request, "action": "lyric"})


class ApiServer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.url_reply: Any = None


@pytest.fixture
async def api_server() -> AsyncIterator[ApiServer]:
    state = ApiServer()
    base = f"http://127.0.0.1:{API_PORT}"

    async def url(request: web.Request) -> web.Response:
        state.seen.append((request.path, dict(request.headers)))
        m = request.match_info
        reply = state.url_reply or f"{base}/file/{m['source']}/{m['song']}.{m['quality']}.mp3"
        return web.json_response({"code": 0, "msg": "success", "data": reply})

    async def script(request: web.Request) -> web.Response:
        state.seen.append((request.path, dict(request.headers)))
        return web.json_response({"code": 0, "msg": "success", "data": None})

    async def local(request: web.Request) -> web.Response:
        query = json.loads(base64.urlsafe_b64decode(request.query["q"]))
        state.seen.append((request.path, query))
        if request.match_info["t"] == "c":
            return web.json_response({"code": 0, "data": {"file": True, "cover": True, "lyric": True}})
        return web.json_response({"code": 0, "data": "[00:01.00]From the server\n[00:04.00]second line"})

    app = web.Application()
    app.router.add_get("/url/{source}/{song}/{quality}", url)
    app.router.add_get("/script", script)
    app.router.add_get("/local/{t}", local)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", API_PORT).start()
    yield state
    await runner.cleanup()


async def test_a_real_source_for_a_self_hosted_api_resolves_urls_and_lyrics(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], api_server: ApiServer
) -> None:
    config = engine_config(
        [_copy(tmp_path, "lx-api-server-source")],
        plugin_configs={"lx-api-server-source": {"permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        info = fox.plugin("lx-api-server-source")
        assert (info.version, set(info.provides)) == ("2.0.1", {"song_url", "lyrics"})
        assert api_server.seen[0][0] == "/script"  # it checked for updates while loading, through the gate
        song = {
            "id": "kw-77",
            "title": "Gentle Rain",
            "source": "lx-api-server-source",
            "extra": {"source": "kw", "musicInfo": {"songmid": "77", "name": "Gentle Rain"}},
        }
        media = await fox.song_url(song, "flac")  # kw declares only 128k: LX's quality list decides
        assert media == {
            "url": f"http://127.0.0.1:{API_PORT}/file/kw/77.128k.mp3",
            "headers": {},
            "source": "lx-api-server-source",
        }
        path, headers = api_server.seen[-1]
        assert path == "/url/kw/77/128k" and headers["User-Agent"] == "lx-music-desktop/2.0.0"

        raw = await fox.call(
            "lx-api-server-source",
            "request",
            {"source": "kw", "action": "musicUrl", "info": {"type": "128k", "musicInfo": {"songmid": "5"}}},
        )
        assert raw == f"http://127.0.0.1:{API_PORT}/file/kw/5.128k.mp3"

        local = {
            "id": "server_a.flac",
            "title": "A",
            "source": "lx-api-server-source",
            "extra": {"source": "local", "musicInfo": {"songmid": "server_a.flac"}},
        }
        lyrics = await fox.lyrics(local)
        assert lyrics is not None and [line.text for line in lyrics.lines] == ["From the server", "second line"]


async def test_lxs_reply_checks_refuse_a_non_http_url(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], api_server: ApiServer
) -> None:
    config = engine_config(
        [_copy(tmp_path, "lx-api-server-source")],
        plugin_configs={"lx-api-server-source": {"permissions": {"network": ["127.0.0.1"]}}},
    )
    async with Engine(config) as fox:
        song = {"id": "1", "title": "x", "source": "lx-api-server-source", "extra": {"source": "wy"}}
        api_server.url_reply = "file:///etc/passwd"
        with pytest.raises(PluginError, match="http\\(s\\) URL of at most 2048"):
            await fox.song_url(song)
        api_server.url_reply = "https://cdn.example.org/" + "a" * 2100
        with pytest.raises(PluginError, match="at most 2048"):
            await fox.song_url(song)


SHAPED = r"""/**
 * @name Shaped Source
 * @version 0.3
 * @author tests
 */
const { EVENT_NAMES, request, on, send, utils } = globalThis.lx
const BASE = 'BASE_URL'
let cancelledCalled = false

const get = (url, options) => new Promise((resolve, reject) => {
  request(url, options, (err, resp, body) => err ? reject(err) : resolve(resp))
})

function handler({ source, action, info }) {
  if (action === 'musicUrl') {
    return get(`${BASE}/resolve?id=${info.musicInfo.songmid}&q=${info.type}`, {
      method: 'post', form: { token: utils.crypto.md5('k' + info.musicInfo.songmid) },
      headers: { Referer: 'https://lx.example/', Cookie: 'sid=abc; theme=dark' },
    }).then(resp => resp.body.url)
  }
  if (action === 'lyric') {
    return get(`${BASE}/lyric.bin`, {}).then(resp => ({ lyric: utils.buffer.bufToString(resp.raw, 'utf8'), tlyric: null }))
  }
  if (action === 'pic') {  // the test's window into lx.utils: the source reports what they computed
    return utils.zlib.deflate(utils.buffer.from('zip me')).then(utils.zlib.inflate)
      .then(z => get(`${BASE}/probe`, { method: 'post', body: JSON.stringify({ ...probe(), zlib: z.toString() }) }))
      .then(() => 'https://x.example/p.jpg')
  }
  return Promise.reject(new Error('nope'))
}

// a source that looks itself up before it is ready: inited comes after an http request and a timer
get(`${BASE}/config`, {}).then(resp => new Promise(r => setTimeout(r, 20, resp))).then(resp => {
  const cancel = request(`${BASE}/slow`, {}, () => { cancelledCalled = true })
  cancel()
  return send(EVENT_NAMES.inited, {
    openDevTools: false,
    sources: {
      kw: { name: 'kw', type: 'music', actions: ['musicUrl', 'lyric'], qualitys: resp.body.qualitys },
      zz: { name: 'unknown', type: 'music', actions: ['musicUrl'], qualitys: ['128k'] },
      local: { name: 'local', type: 'music', actions: ['lyric', 'pic'], qualitys: [] },
    },
  })
}).then(() => send(EVENT_NAMES.inited, { sources: {} }))
  .catch(err => { globalThis.secondInit = err.message })

on(EVENT_NAMES.request, () => Promise.reject(new Error('replaced')))  // lx.on replaces the handler...
on(EVENT_NAMES.request, handler)                                   // ...and this one is the source's

const probe = () => ({
  secondInit: globalThis.secondInit, cancelledCalled,
  md5: utils.crypto.md5('hello'),
  aes: utils.buffer.bufToString(utils.crypto.aesEncrypt(utils.buffer.from('0123456789abcdef'), 'aes-128-ecb', utils.buffer.from('k'.repeat(16)), ''), 'hex'),
  rsa: utils.buffer.bufToString(utils.crypto.rsaEncrypt(utils.buffer.from('hi'), RSA_KEY), 'hex'),
  random: utils.crypto.randomBytes(24).length,
  info: globalThis.lx.currentScriptInfo.name + ' ' + globalThis.lx.version + ' ' + globalThis.lx.env,
})
"""


def _rsa_key() -> tuple[str, int, int]:
    """A small fixed RSA public key as PEM (SubjectPublicKeyInfo), with its modulus and exponent."""
    n = int.from_bytes(hashlib.sha512(b"modulus").digest() * 2, "big") | (1 << 1023) | 1  # 1024 bits, odd
    e = 65537

    def der(tag: int, body: bytes) -> bytes:
        size = len(body)
        length = (
            bytes([size])
            if size < 128
            else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes((size.bit_length() + 7) // 8, "big")
        )
        return bytes([tag]) + length + body

    def integer(value: int) -> bytes:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
        return der(0x02, raw)

    rsa = der(0x30, integer(n) + integer(e))
    algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    spki = der(0x30, algorithm + der(0x03, b"\x00" + rsa))
    body = base64.b64encode(spki).decode()
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        + "\n-----END PUBLIC KEY-----"
    )
    return pem, n, e


@pytest.fixture
async def shaped_server() -> AsyncIterator[tuple[str, list[Any]]]:
    seen: list[Any] = []

    async def config(request: web.Request) -> web.Response:
        return web.json_response({"qualitys": ["128k", "320k", "bogus"]})

    async def resolve(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append((dict(request.query), dict(form), request.headers.get("Referer"), request.headers.get("Cookie")))
        return web.json_response({"url": f"https://cdn.example.org/{request.query['id']}.mp3"})

    async def probe(request: web.Request) -> web.Response:
        seen.append(json.loads(await request.text()))
        return web.Response(text="ok")

    async def lyric(request: web.Request) -> web.Response:
        return web.Response(body="[00:02.00]字节歌词".encode(), content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/config", config)
    app.router.add_post("/resolve", resolve)
    app.router.add_get("/lyric.bin", lyric)
    app.router.add_get("/slow", config)
    app.router.add_post("/probe", probe)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


async def test_a_source_in_lxs_exact_shape(
    write_plugin: Callable[[str, str], Path],
    engine_config: Callable[..., dict[str, Any]],
    shaped_server: tuple[str, list[Any]],
) -> None:
    base, seen = shaped_server
    pem, n, e = _rsa_key()
    source = SHAPED.replace("BASE_URL", base).replace("RSA_KEY", json.dumps(pem))
    path = write_plugin("shaped.js", source)
    config = engine_config(plugin_configs={"shaped": {"permissions": {"network": ["127.0.0.1"]}}})
    async with Engine(config) as fox:
        info = await fox.load(path)
        assert (info.name, info.version, set(info.provides)) == ("Shaped Source", "0.3.0", {"song_url", "lyrics"})
        media = await fox.song_url({"id": "9", "title": "t", "source": "shaped", "extra": {"source": "kw"}}, "320k")
        assert media == {"url": "https://cdn.example.org/9.mp3", "headers": {}, "source": "shaped"}
        query, form, referer, cookie = seen[-1]
        assert query == {"id": "9", "q": "320k"}
        assert form == {"token": hashlib.md5(b"k9").hexdigest()}
        assert (referer, cookie) == ("https://lx.example/", "sid=abc; theme=dark")  # sent as the source wrote them
        with pytest.raises(PluginError, match="source `zz` is not one this script declared"):
            await fox.call("shaped", "request", {"source": "zz", "action": "musicUrl", "info": {}})
        with pytest.raises(
            PluginError, match="source `kw` does not declare the action `lyric`"
        ):  # LX allows kw only musicUrl
            await fox.call("shaped", "request", {"source": "kw", "action": "lyric", "info": {"musicInfo": {}}})
        lyrics = await fox.call("shaped", "request", {"source": "local", "action": "lyric", "info": {"musicInfo": {}}})
        assert lyrics == {"lyric": "[00:02.00]字节歌词", "tlyric": None, "rlyric": None, "lxlyric": None}

        cover = await fox.call("shaped", "request", {"source": "local", "action": "pic", "info": {"musicInfo": {}}})
        assert cover == "https://x.example/p.jpg"
        probe = seen[-1]
        assert probe["secondInit"] == "Script is inited" and probe["cancelledCalled"] is False
        assert probe["md5"] == hashlib.md5(b"hello").hexdigest()
        assert probe["aes"] == _aes_ecb(b"0123456789abcdef", b"k" * 16)
        padded = int.from_bytes(b"\0" * 126 + b"hi", "big")
        assert int(probe["rsa"], 16) == pow(padded, e, n)
        assert probe["zlib"] == "zip me"
        assert probe["random"] == 24 and probe["info"] == "Shaped Source 2.0.0 desktop"


def _aes_ecb(block: bytes, key: bytes) -> str:
    """AES-128-ECB with PKCS#7, as Node's createCipheriv gives it: computed by OpenSSL's own tool."""
    out = subprocess.run(
        ["openssl", "enc", "-aes-128-ecb", "-K", key.hex(), "-nosalt"], input=block, capture_output=True, check=True
    )
    return out.stdout.hex()


async def test_a_source_that_never_sends_inited_fails_to_load_within_the_deadline(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(
        "silent.js",
        """
        /**
         * @name Silent
         */
        globalThis.lx.on(globalThis.lx.EVENT_NAMES.request, () => Promise.resolve('http://x/'))
        """,
    )
    async with Engine(engine_config()) as fox:
        with pytest.raises(PluginError, match=r"never sent lx\.send\(lx\.EVENT_NAMES\.inited"):
            await fox.load(path)


async def test_an_error_in_a_request_callback_before_inited_fails_the_load(
    write_plugin: Callable[[str, str], Path],
    engine_config: Callable[..., dict[str, Any]],
    shaped_server: tuple[str, list[Any]],
) -> None:
    base, _ = shaped_server
    path = write_plugin(
        "broken.js",
        f"""
        /**
         * @name Broken
         */
        globalThis.lx.request('{base}/config', {{}}, (err, resp) => {{ throw new Error('bad config: ' + resp.statusCode) }})
        """,
    )
    config = engine_config(plugin_configs={"broken": {"permissions": {"network": ["127.0.0.1"]}}})
    async with Engine(config) as fox:
        with pytest.raises(PluginError, match="bad config: 200"):
            await fox.load(path)


async def test_update_alert_reaches_the_host_only_with_the_notify_permission(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin(
        "alerting.js",
        """
        /**
         * @name Alerting
         */
        const { EVENT_NAMES, send, on } = globalThis.lx
        on(EVENT_NAMES.request, () => Promise.resolve('http://x/'))
        send(EVENT_NAMES.updateAlert, { log: 'v2 is out', updateUrl: 'https://example.org/v2.js' })
          .catch(err => { globalThis.alertError = err.name })
        send(EVENT_NAMES.inited, { sources: { kw: { type: 'music', actions: ['musicUrl'], qualitys: ['128k'] } } })
        """,
    )
    notes: list[dict[str, Any]] = []
    config = engine_config(plugin_configs={"alerting": {"permissions": {"ui.notify": True}}})
    async with Engine(config) as fox:
        fox.on("notify", notes.append)
        await fox.load(path)
        for _ in range(50):
            if notes:
                break
            await asyncio.sleep(0.01)
        assert notes == [
            {"plugin": "alerting", "text": "Alerting: v2 is out\nhttps://example.org/v2.js", "level": "info"}
        ]


def test_the_cli_calls_an_lx_source_and_names_where_to_grant() -> None:
    request = {"source": "kw", "action": "musicUrl", "info": {"type": "128k", "musicInfo": {}}}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "call", str(FIXTURES / "lx-doc-example.js"), "request", json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    *printed, error = done.stderr.splitlines()  # the source logs the failure itself; call shows plugin output
    assert error.startswith("PermissionDenied: plugin `lx-doc-example` called fox.http.request('GET', 'http://xxx')")
    assert all(line.startswith("[lx-doc-example] ") for line in printed)
    assert "plugin_configs.lx-doc-example.permissions.network" in done.stderr
