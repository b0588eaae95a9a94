"""`/plugin/connect` under abuse: silent handshakes hold only their own few threads, and a connected plugin that
floods frames nobody asked for is disconnected instead of filling the host's memory."""

from __future__ import annotations

import asyncio
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
    _, url = served
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, headers=AUTH)
        frame = "x" * (200 << 10)
        closed = False
        for _ in range(64):  # 12.5 MB, never read: the handshake waits for an `initialize` answer
            try:
                await ws.send_str(frame)
            except (ConnectionResetError, aiohttp.ClientConnectionError):
                closed = True
                break
            if ws.closed:
                closed = True
                break
            await asyncio.sleep(0)
        message = await asyncio.wait_for(ws.receive(), 10)
        closed = closed or message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert closed
