"""`/plugin/connect` under abuse: silent handshakes hold only their own few threads, and a connected plugin that
floods frames nobody asked for is disconnected instead of filling the host's memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine import Engine
from engine.admin import serve_admin
from engine.admin.connect import HANDSHAKES

TOKEN = "t0ken-for-the-abuse-of-the-plugin-endpoint"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOCAL = """
--[[---
id: local
version: 1.0.0
---]]
return {ping = function() return "pong" end}
"""


@pytest.fixture
async def served(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Callable[[str, str], Path]
) -> AsyncIterator[tuple[Engine, str]]:
    config = engine_config(security={"plugin_connect": {"token": TOKEN}}, performance={"max_result_size": "256KB"})
    async with Engine(config) as fox:
        await fox.load(write_plugin("local.lua", LOCAL))
        endpoint = await serve_admin(fox, ("127.0.0.1", 0))
        yield fox, f"{endpoint.url}/plugin/connect"


async def test_silent_handshakes_neither_pile_up_nor_slow_the_engine(served: tuple[Engine, str]) -> None:
    fox, url = served
    async with aiohttp.ClientSession() as session:
        silent = [await session.ws_connect(url, headers=AUTH) for _ in range(HANDSHAKES)]
        await asyncio.sleep(0.2)  # every handshake is now waiting for an answer that never comes
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, headers=AUTH)
        started = time.monotonic()
        await fox.stop_plugin("local")  # its actor is stopped through the default executor
        stopped_in = time.monotonic() - started
        for ws in silent:
            await ws.close()
    assert refused.value.status == 503
    assert stopped_in < 3, f"stopping a plugin took {stopped_in:.1f} s behind silent handshakes"


async def test_a_plugin_flooding_unread_frames_is_disconnected(served: tuple[Engine, str]) -> None:
    fox, url = served
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, headers=AUTH)
        hello = json.loads((await ws.receive()).data)
        manifest = {"id": "flood", "version": "1.0.0"}
        result = {"protocol_version": 1, "exports": ["search"], "manifest": manifest}
        await ws.send_json({"jsonrpc": "2.0", "id": hello["id"], "result": result})
        await until(lambda: "flood" in {info.id for info in fox.plugins})
        frame = "x" * (200 << 10)
        with contextlib.suppress(ConnectionResetError, aiohttp.ClientConnectionError):
            for _ in range(64):  # 12.5 MB that no call asked for, queued while the plugin is idle
                await ws.send_str(frame)
        ended = await asyncio.wait_for(_closed(ws), 10)
        await until(lambda: "flood" not in {info.id for info in fox.plugins})
    assert ended in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert ws.close_code == 1009, "closed for its inbox (1009: message too big), not for anything else"
    assert await fox.call("local", "ping") == "pong"


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMsgType:
    while True:
        message = await ws.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return message.type


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
