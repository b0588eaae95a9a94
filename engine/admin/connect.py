"""`GET /plugin/connect`: plugin processes started elsewhere connect over WebSocket and become plugins.

The connecting plugin authenticates with `security.plugin_connect.token` (Bearer), from loopback unless the config
says otherwise, and names itself in its `initialize` answer (`manifest`). From there the normal pipeline runs:
schema, permission policy, actor, `provides`, init/start. When the socket closes the plugin is unloaded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from engine.admin.auth import bearer_matches
from engine.engine import Engine
from engine.errors import FoxplugError, ManifestError, PluginNotFound
from engine.loading.manifest import connected_manifest
from engine.running.version import PluginVersion
from engine.runtimes.base import Source
from engine.runtimes.process.rpc import ChannelClosed, FrameTooLarge, ProtocolViolation, Session, Unresponsive, encode
from engine.runtimes.process.supervisor import HANDSHAKE_TIMEOUT, HEALTH_INTERVAL, host_info
from engine.runtimes.process.websocket import WebSocketChannel, connected_backend
from script_api.api import HOST_FUNCTIONS

log = logging.getLogger(__name__)

PATH = "/plugin/connect"
HANDSHAKES = 4
"""Handshakes in progress at once; one more is refused (503). They wait in their own threads, so connections
that never answer cannot hold up the default executor (DNS lookups, plugin stops, reload swaps)."""
INBOX_FRAMES = 4
"""A connection's unread frames may total this many result-size limits before it is closed."""


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class PluginEndpoint:
    """The `/plugin/connect` handler of one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._handshakes = ThreadPoolExecutor(HANDSHAKES, thread_name_prefix="foxplug-handshake")
        self._pending = 0
        engine.on_close(self._close)

    async def _close(self) -> None:
        self._handshakes.shutdown(wait=False, cancel_futures=True)

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
        if not bearer_matches(request, token):
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
        if self._pending >= HANDSHAKES:
            message = f"{HANDSHAKES} plugins are connecting already; try again when their handshakes end"
            return web.json_response({"error": "Busy", "message": message}, status=503, headers={"Retry-After": "1"})
        config = self._engine.config
        ws = web.WebSocketResponse(max_msg_size=config.max_result_size)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        channel = WebSocketChannel(ws, loop, INBOX_FRAMES * config.max_result_size)
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
            self._pending += 1
            try:
                hello = await loop.run_in_executor(
                    self._handshakes, session.handshake, params, time.monotonic() + HANDSHAKE_TIMEOUT
                )
            except (ChannelClosed, ProtocolViolation, Unresponsive, FrameTooLarge) as problem:
                raise ManifestError(f"the plugin at {origin} failed the handshake: {problem}", file=origin) from None
            finally:
                self._pending -= 1
            manifest = connected_manifest(hello.get("manifest"), origin, connected_backend(session, origin))
            info = await self._engine.attach(PluginVersion(manifest, Source(manifest.path, ""), ""))
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
