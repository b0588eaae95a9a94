"""What fox.http gives real plugins: bytes bodies, every value of a repeated header, a cookie jar of its own,
explicit Cookie/Host/Referer sent as written, redirects as asked, and credentials kept out of messages."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine
from engine.errors import PermissionDenied

PLUGIN = """
/*---
id: needs
version: 1.0.0
permissions:
  network: ["127.0.0.1"]
---*/
export async function request(method, url, opts) { return await fox.http.request(method, url, opts); }
"""


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append({k.lower(): v for k, v in request.headers.items()} | {"body": (await request.read()).hex()})
        return web.Response(body=bytes(range(256)), content_type="application/octet-stream")

    async def login(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.set_cookie("session", "s-123")
        response.set_cookie("theme", "dark")
        return response

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/echo")

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/login", login)
    app.router.add_get("/hop", hop)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


@pytest.fixture
async def fox(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> AsyncIterator[Engine]:
    async with Engine(engine_config()) as engine:
        await engine.load(write_plugin("needs.js", PLUGIN))
        yield engine


async def test_bytes_go_out_and_come_back_as_base64(fox: Engine, server: tuple[str, list[Any]]) -> None:
    base, seen = server
    body = base64.b64encode(b"\x00\xffbinary").decode()
    res = await fox.call("needs", "request", "POST", f"{base}/echo", {"body_base64": body, "binary": True})
    assert base64.b64decode(res["body_base64"]) == bytes(range(256)) and "body" not in res
    assert seen[-1]["body"] == b"\x00\xffbinary".hex()


async def test_every_set_cookie_is_seen_and_the_jar_sends_them_back(fox: Engine, server: tuple[str, list[Any]]) -> None:
    base, seen = server
    res = await fox.call("needs", "request", "GET", f"{base}/login")
    cookies = [value for name, value in res["header_list"] if name == "set-cookie"]
    assert [c.split(";")[0] for c in cookies] == ["session=s-123", "theme=dark"]
    await fox.call("needs", "request", "GET", f"{base}/echo")
    assert seen[-1]["cookie"] == "session=s-123; theme=dark"


async def test_explicit_cookie_host_and_referer_are_sent_as_written(fox: Engine, server: tuple[str, list[Any]]) -> None:
    base, seen = server
    await fox.call("needs", "request", "GET", f"{base}/login")  # the jar holds cookies now; the plugin's header wins
    headers = {"Cookie": 'buvid3="a,b"; SESSDATA=x%2Cy', "Host": "api.example.org", "Referer": "https://example.org/"}
    await fox.call("needs", "request", "GET", f"{base}/echo", {"headers": headers})
    assert (seen[-1]["cookie"], seen[-1]["host"], seen[-1]["referer"]) == (
        'buvid3="a,b"; SESSDATA=x%2Cy',
        "api.example.org",
        "https://example.org/",
    )


async def test_redirects_are_followed_unless_the_caller_says_not_to(fox: Engine, server: tuple[str, list[Any]]) -> None:
    base, _ = server
    followed = await fox.call("needs", "request", "GET", f"{base}/hop")
    assert followed["status"] == 200 and followed["url"] == f"{base}/echo"
    kept = await fox.call("needs", "request", "GET", f"{base}/hop", {"max_redirects": 0})
    assert kept["status"] == 302 and kept["headers"]["location"] == "/echo"


async def test_credentials_in_a_refused_url_are_masked(fox: Engine) -> None:
    with pytest.raises(PermissionDenied) as caught:
        await fox.call("needs", "request", "GET", "https://api.example.org/x?user=me&token=abc123&password=hunter2")
    message = str(caught.value)
    assert "abc123" not in message and "hunter2" not in message
    assert "token=***" in message and "user=me" in message
