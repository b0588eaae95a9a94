"""`GET /plugin/connect`: plugin processes started elsewhere connect over WebSocket and become plugins.

The same protocol as a stdio process plugin (docs/protocol.md), one JSON-RPC message per text frame. The
connecting plugin authenticates with `security.plugin_connect.token` (Bearer), from loopback unless the config
says otherwise, and names itself in its `initialize` answer (`manifest`). From there the normal pipeline runs:
schema, permission policy, actor, `provides`, init/start. When the socket closes the plugin is unloaded.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import queue
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from engine.errors import FoxplugError, ManifestError, PluginNotFound
from engine.manifest import Manifest
from engine.permissions import Grants
from engine.rpc import ChannelClosed, FrameTooLarge, ProtocolViolation, Session, Unresponsive, encode
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.supervisor import HANDSHAKE_TIMEOUT, HEALTH_INTERVAL, Supervisor, host_info
from engine.units import parse_duration, parse_size
from engine.validation import problems
from engine.yamldoc import dotted
from script_api.api import HOST_FUNCTIONS
from script_api.context import PluginContext

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger(__name__)

PATH = "/plugin/connect"


class WebSocketChannel:
    """`engine.rpc.Channel` over an aiohttp WebSocket: the actor thread blocks on a queue the loop fills."""

    def __init__(self, ws: web.WebSocketResponse, loop: asyncio.AbstractEventLoop) -> None:
        self._ws = ws
        self._loop = loop
        self._inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self._ended = ""

    async def pump(self) -> None:
        """On the loop, until the socket closes: frames into the inbox, the outbox onto the socket."""
        writer = asyncio.ensure_future(self._write())
        try:
            async for message in self._ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    data = message.data
                    self._inbox.put(data.encode() if isinstance(data, str) else data)
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


def _manifest(data: Any, origin: str, session: Session) -> Manifest:
    """The manifest a connected plugin sent in its handshake, checked like a plugin.yaml."""
    where = Path(origin)
    if not isinstance(data, dict):
        raise ManifestError("the `initialize` answer carries no `manifest`", file=origin, field="manifest")
    for problem in problems(data, "manifest"):
        raise ManifestError(problem.message, file=origin, field=dotted(problem.path) or None, hint=problem.hint)
    if data.get("runtime", "process") != "process":
        raise ManifestError("a connected plugin's runtime is `process`", file=origin, field="runtime")

    def attach(source: Source, ctx: PluginContext, limits: Limits) -> Supervisor:
        session.link = HostLink(ctx)
        session.label = f"plugin `{ctx.plugin_id}` ({origin})"
        return Supervisor(session.link, limits, None, session=session)

    limits = data.get("limits", {})
    return Manifest(
        id=data["id"],
        version=data["version"],
        path=where,
        entry=where,
        backend=Backend("process", (), re.compile(r"(?!)"), attach),
        grants=Grants.from_manifest(data.get("permissions", {})),
        provides=tuple(data["provides"]) if "provides" in data else None,
        name=data.get("name", ""),
        description=data.get("description", ""),
        config_schema=data.get("config_schema"),
        timeout=parse_duration(limits["timeout"]) if "timeout" in limits else None,
        memory=parse_size(limits["memory"]) if "memory" in limits else None,
        data=data,
    )


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class PluginEndpoint:
    """The `/plugin/connect` handler of one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _settings(self) -> dict[str, Any]:
        return self._engine.config.sections.get("security", {}).get("plugin_connect", {})

    def _refusal(self, request: web.Request) -> web.Response | None:
        settings = self._settings()
        token = settings.get("token")
        if not token:
            return web.json_response(
                {"error": "Forbidden", "message": "the plugin endpoint is off: set security.plugin_connect.token"},
                status=403,
            )
        if settings.get("loopback_only", True) and not _loopback(request.remote):
            message = f"{request.remote} is not this machine; see security.plugin_connect.loopback_only"
            return web.json_response({"error": "Forbidden", "message": message}, status=403)
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), token.encode()):
            return web.json_response(
                {"error": "Unauthorized", "message": "send `Authorization: Bearer <security.plugin_connect.token>`"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="foxplug plugins"'},
            )
        return None

    async def connect(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        config = self._engine.config
        ws = web.WebSocketResponse(max_msg_size=config.max_result_size)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        channel = WebSocketChannel(ws, loop)
        pump = asyncio.ensure_future(channel.pump())
        origin = f"ws:{request.remote}:{request.transport.get_extra_info('peername')[1]}"  # type: ignore[union-attr]
        plugin_id = None
        try:
            session = Session(channel, f"the plugin at {origin}")
            params = {
                "host": host_info(),
                "api": list(HOST_FUNCTIONS),
                "limits": {"timeout": config.call_timeout, "max_message": config.max_result_size},
                "heartbeat": HEALTH_INTERVAL,
            }
            try:
                hello = await loop.run_in_executor(
                    None, session.handshake, params, time.monotonic() + HANDSHAKE_TIMEOUT
                )
            except (ChannelClosed, ProtocolViolation, Unresponsive, FrameTooLarge) as problem:
                raise ManifestError(f"the plugin at {origin} failed the handshake: {problem}", file=origin) from None
            manifest = _manifest(hello.get("manifest"), origin, session)
            info = await self._engine.attach((manifest, Source(manifest.path, ""), ""))
            plugin_id = info.id
            log.info("plugin %s connected from %s", plugin_id, request.remote, extra={"plugin": plugin_id})
            await pump
        except FoxplugError as error:
            log.warning("%s: %s", type(error).__name__, error)
            channel.send(encode({"jsonrpc": "2.0", "method": "$/refused", "params": error.to_dict()}), 0.0)
            channel.close()
            await pump
        finally:
            pump.cancel()
            if plugin_id is not None:
                await self._disconnected(plugin_id, origin)
        return ws

    async def _disconnected(self, plugin_id: str, origin: str) -> None:
        try:
            if self._engine.plugin(plugin_id).path == origin:  # not a newer connection of the same plugin
                await self._engine.unload(plugin_id)
        except PluginNotFound:
            pass


def add_plugin_routes(app: web.Application, engine: Engine) -> None:
    """Mount `/plugin/connect` on an aiohttp app (the engine's admin server)."""
    app.router.add_get(PATH, PluginEndpoint(engine).connect)
