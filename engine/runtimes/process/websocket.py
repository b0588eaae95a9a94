"""A process plugin that connected itself over a WebSocket (`/plugin/connect`, engine.admin.connect): the same
protocol as a stdio process plugin (docs/protocol.md), one JSON-RPC message per text frame."""

from __future__ import annotations

import asyncio
import queue
import re
import threading
import time

from aiohttp import WSMsgType, web

from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.process.rpc import ChannelClosed, Session, encode
from engine.runtimes.process.supervisor import Supervisor
from script_api.context import PluginContext


class WebSocketChannel:
    """`engine.runtimes.process.rpc.Channel` over an aiohttp WebSocket: the actor thread blocks on a queue the loop fills.

    The inbox holds at most `inbox_limit` bytes of frames not yet read: a plugin that sends while nobody asked
    (frames queued between calls) is disconnected rather than allowed to fill the host's memory."""

    def __init__(self, ws: web.WebSocketResponse, loop: asyncio.AbstractEventLoop, inbox_limit: int) -> None:
        self._ws = ws
        self._loop = loop
        self._inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._inbox_limit = inbox_limit
        self._queued = 0
        self._queued_lock = threading.Lock()
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self._ended = ""

    async def pump(self) -> None:
        """On the loop, until the socket closes: frames into the inbox, the outbox onto the socket."""
        writer = asyncio.ensure_future(self._write())
        try:
            async for message in self._ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    data = message.data.encode() if isinstance(message.data, str) else message.data
                    with self._queued_lock:
                        self._queued += len(data)
                        over = self._queued > self._inbox_limit
                    if over:
                        self._ended = (
                            f"the plugin sent more than {self._inbox_limit} bytes the host had not asked for yet"
                        )
                        await self._ws.close(code=1009, message=b"inbox limit")
                        break
                    self._inbox.put(data)
                elif message.type == WSMsgType.ERROR:
                    self._ended = f"the WebSocket failed: {self._ws.exception()}"
                    break
        finally:
            self._ended = self._ended or f"the WebSocket closed (code {self._ws.close_code})"
            self._inbox.put(None)
            writer.cancel()

    async def _write(self) -> None:
        while (text := await self._outbox.get()) is not None:
            await self._ws.send_str(text)
        await self._ws.close()

    def send(self, data: bytes, deadline: float) -> bool:
        if self._closed:
            raise ChannelClosed
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, data.decode())
        return True

    def receive(self, deadline: float) -> bytes | None:
        if self._closed:
            raise ChannelClosed
        try:
            item = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if item is None:
            self._closed = True
            raise ChannelClosed
        with self._queued_lock:
            self._queued -= len(item)
        return item

    def describe(self, when: str = "") -> str:
        return (self._ended or "the WebSocket was closed by the host") + when

    def shutdown(self) -> None:
        if not self._closed:
            self.send(encode({"jsonrpc": "2.0", "method": "shutdown"}), 0.0)
        self.close()

    def close(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, None)


def connected_backend(session: Session, origin: str) -> Backend:
    """The backend row of one connected plugin: its instance is the session it already has."""

    def attach(source: Source, ctx: PluginContext, limits: Limits) -> Supervisor:
        session.link = HostLink(ctx)
        session.label = f"plugin `{ctx.plugin_id}` ({origin})"
        return Supervisor(session.link, limits, None, session=session)

    return Backend("process", (), re.compile(r"(?!)"), attach, manifest_is_source=True)
