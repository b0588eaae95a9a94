"""A hostile or broken index server costs an install its time budget and a clear error, never a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from engine.errors import RegistryError
from engine.registry.install import Installer
from engine.registry.settings import IndexSource, RegistrySettings


async def _never_used_check(paths: object) -> None:
    raise AssertionError("nothing may reach the load check")


@pytest.fixture
async def hostile() -> AsyncIterator[str]:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        while True:  # no Content-Length, and no end
            await response.write(b"x" * 65536)

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(3)  # past the client's timeout; short, so the server stops soon after
        return web.Response(text="{}")

    async def lies(request: web.Request) -> web.Response:
        return web.Response(body=b"{}", headers={"Content-Length": "2"}, status=500)

    app = web.Application()
    app.router.add_get("/endless/index.json", endless)
    app.router.add_get("/stall/index.json", stall)
    app.router.add_get("/error/index.json", lies)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


def _settings(tmp_path: Path, url: str, timeout: float = 10.0) -> RegistrySettings:
    return RegistrySettings(
        indexes=(IndexSource("hostile", url),),
        install_dir=tmp_path / "installed",
        cache_dir=tmp_path / "cache",
        lockfile=tmp_path / "plugins.lock.json",
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("path", "timeout", "message"),
    [
        ("endless", 10.0, "sent more than the"),
        ("stall", 0.5, "cannot fetch"),
        ("error", 10.0, "answered HTTP 500"),
    ],
)
async def test_a_hostile_index_server_is_refused_in_time(
    tmp_path: Path, hostile: str, path: str, timeout: float, message: str
) -> None:
    started = time.monotonic()
    async with Installer(_settings(tmp_path, f"{hostile}/{path}/index.json", timeout), _never_used_check) as installer:
        with pytest.raises(RegistryError, match=message):
            await installer.install(["anything"])
    assert time.monotonic() - started < timeout + 5
    assert not (tmp_path / "installed").exists() and not (tmp_path / "plugins.lock.json").exists()
