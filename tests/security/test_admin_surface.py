"""The admin server is safe to leave running: a web page cannot make it run plugin code or read it through a
rebound DNS name, and a client that never finishes its headers is dropped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine import Engine
from engine.admin import AdminEndpoint, serve_admin

FLAKY = """
--[[---
id: flaky
version: 1.0.0
permissions:
  storage: true
---]]
local M = {}
local asked = 0
function M.health() asked = asked + 1; error("the backend is down") end
function M.asked() return asked end
return M
"""


@pytest.fixture
async def served(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Callable[[str, str], Path]
) -> AsyncIterator[tuple[Engine, AdminEndpoint]]:
    config = engine_config(
        monitoring={"listen": "127.0.0.1:0", "allowed_hosts": ["foxplug.internal"], "header_timeout": "500ms"}
    )
    async with Engine(config) as fox:
        await fox.load(write_plugin("flaky.lua", FLAKY))
        yield fox, await serve_admin(fox)


async def test_health_gets_never_run_plugin_code_or_trip_its_breaker(served: tuple[Engine, AdminEndpoint]) -> None:
    fox, endpoint = served
    async with aiohttp.ClientSession() as session:
        for _ in range(8):  # six were enough to suspend it: any web page could do it with <img> tags
            async with session.get(f"{endpoint.url}/api/v1/plugins/flaky/health") as response:
                assert response.status == 200
        assert await fox.call("flaky", "asked") == 0
        assert fox.plugin("flaky").state == "running"
        headers = {"Authorization": f"Bearer {endpoint.token}"}
        async with session.post(f"{endpoint.url}/api/v1/plugins/flaky/health", headers=headers) as response:
            checked = await response.json()
        async with session.get(f"{endpoint.url}/api/v1/plugins/flaky/health") as response:
            remembered = response.status, await response.json()
        async with session.post(f"{endpoint.url}/api/v1/plugins/flaky/health") as response:
            assert response.status == 401
    assert checked["healthy"] is False and "the backend is down" in checked["health"]["message"]
    assert remembered[0] == 503 and remembered[1]["health"] == checked["health"]
    assert await fox.call("flaky", "asked") == 1


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/plugins", "/api/v1/plugins/flaky/health"])
async def test_only_its_own_host_names_are_answered(served: tuple[Engine, AdminEndpoint], path: str) -> None:
    _, endpoint = served
    answers = {}
    async with aiohttp.ClientSession() as session:
        for host in ("evil.example", "evil.example:80", f"127.0.0.1:{endpoint.port}", f"localhost:{endpoint.port}"):
            async with session.get(endpoint.url + path, headers={"Host": host}) as response:
                answers[host] = response.status, await response.text()
        async with session.get(endpoint.url + path, headers={"Host": "FOXPLUG.internal:1"}) as response:
            answers["allowed"] = response.status, ""
    assert answers["evil.example"][0] == 421 and "monitoring.allowed_hosts" in answers["evil.example"][1]
    assert "flaky" not in answers["evil.example"][1]
    assert answers["evil.example:80"][0] == 421
    assert {answers[h][0] for h in answers if not h.startswith("evil")} <= {200, 503}


async def test_a_client_that_never_finishes_its_headers_is_dropped(served: tuple[Engine, AdminEndpoint]) -> None:
    _, endpoint = served
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    started = time.monotonic()

    async def drip() -> None:
        while True:
            await asyncio.sleep(0.1)
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()

    dripping = asyncio.ensure_future(drip())
    try:
        assert await asyncio.wait_for(reader.read(), 10) == b""
    finally:
        dripping.cancel()
        writer.close()
    assert time.monotonic() - started < 5  # header_timeout is 500 ms; aiohttp's default keeps it an hour
