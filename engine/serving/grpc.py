"""`foxplug serve --grpc [ADDR]`: the engine as a gRPC service for a player written in any language (§3.9).

Served on one port, announced by a go-plugin handshake line on stdout (`1|1|tcp|HOST:PORT|grpc`):
- `musicfox.plugin.MusicSourceService` and `UIExtensionService` (schemas/proto/musicfox/plugin.proto) answered
  by all plugins together: Search fans out (per-plugin errors in the trailing metadata `foxplug-errors-bin`, JSON
  `{plugin: message}`), lyrics come parsed from the first provider that answers, other calls go to the first
  plugin that provides them (GetSongURL: the song's own source first);
- `musicfox.plugin.PluginService` for the engine itself; `grpc.health.v1.Health` (`""` and `"plugin"` SERVING);
  server reflection; go-plugin's `plugin.GRPCController/Shutdown` (and its stdio and broker streams, kept
  open and unused);
- `foxplug.host.v1.Host` (schemas/proto/foxplug/host/v1/host.proto): Call, Emit, Events, PlayerBridge.

Only the public Engine API is used, so this is what any embedding host could build.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from engine._version import __version__
from engine.config import Config
from engine.engine import Engine
from engine.errors import (
    ConfigError,
    FoxplugError,
    ManifestError,
    PermissionDenied,
    PluginCrashed,
    PluginNotFound,
    PluginSuspended,
    PluginTimeout,
    ResourceLimitExceeded,
)
from engine.serving.grpc_player import BridgedPlayer
from script_api.grpc_wire import BY_FUNCTION, PACKAGE, song_from_proto, value_map
from script_api.protos.foxplug.host.v1 import host_pb2
from script_api.protos.musicfox import plugin_pb2 as pb

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:0"
EVENTS = (
    "notify",
    "plugin_loaded",
    "plugin_reloaded",
    "reload_failed",
    "plugin_unloaded",
    "load_failed",
    "plugin_stopped",
    "plugin_disabled",
    "plugin_suspended",
    "plugin_resumed",
    "alert",
)
"""What an Events stream carries when the request names no events (plugins' own events need naming)."""
EVENT_BACKLOG = 1024
"""Events queued for one slow Events reader; past that the oldest are dropped (and logged)."""
_STATUS: tuple[tuple[type[FoxplugError], grpc.StatusCode], ...] = (
    (PluginNotFound, grpc.StatusCode.NOT_FOUND),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (PluginTimeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (ResourceLimitExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (PluginSuspended, grpc.StatusCode.UNAVAILABLE),
    (PluginCrashed, grpc.StatusCode.UNAVAILABLE),
    (ManifestError, grpc.StatusCode.FAILED_PRECONDITION),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
)


async def _abort(context: grpc.aio.ServicerContext, error: FoxplugError) -> None:
    """A foxplug error as a gRPC status; its class and fields go in the trailing metadata."""
    code = next((code for kind, code in _STATUS if isinstance(error, kind)), grpc.StatusCode.UNKNOWN)
    details = json.dumps({"type": type(error).__name__, **error.to_dict()}, default=str).encode()
    trailer = (("foxplug-error-type", type(error).__name__), ("foxplug-error-bin", details))
    await context.abort(code, f"{type(error).__name__}: {error}", trailing_metadata=trailer)


def _unary(handler: Callable[..., Any], request_type: Any, reply_type: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        handler, request_deserializer=request_type.FromString, response_serializer=reply_type.SerializeToString
    )


class EngineService:
    """The handlers, over one Engine."""

    def __init__(self, engine: Engine, player: BridgedPlayer, stop: asyncio.Event) -> None:
        self.engine = engine
        self.player = player
        self.stop = stop

    # -- musicfox.plugin.MusicSourceService ------------------------------------------------------------------

    async def search(self, request: pb.SearchRequest, context: grpc.aio.ServicerContext) -> pb.SearchResponse:
        kind = request.type or "song"
        result = await self.engine.search(request.query, type=kind, limit=request.limit or 20)
        if result.errors:
            context.set_trailing_metadata((("foxplug-errors-bin", json.dumps(result.errors).encode()),))
        items = [item.to_dict() if hasattr(item, "to_dict") else item for item in result.items]
        return BY_FUNCTION["search"].answer(items, request)

    async def lyrics(self, request: pb.LyricsRequest, context: grpc.aio.ServicerContext) -> pb.LyricsResponse:
        song = song_from_proto(request.song) if request.HasField("song") else {"id": request.song_id}
        found = await self.engine.lyrics(song)
        return BY_FUNCTION["get_lyrics"].answer(found.to_dict() if found is not None else None, request)

    async def first_answer(self, function: str, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """The RPC of `function` answered by the first running plugin that exports it and answers non-empty."""
        rpc = BY_FUNCTION[function]
        args = rpc.arguments(request)
        first = getattr(request, "song", None)
        source = first.source if first is not None and first.source else None
        providers = [p for p in self.engine.plugins if function in p.exports and p.state == "running"]
        providers.sort(key=lambda p: p.id != source)  # the song's own source first
        errors: dict[str, str] = {}
        for plugin in providers:
            try:
                answer = await self.engine.call(plugin.id, function, *args)
            except FoxplugError as error:
                errors[plugin.id] = f"{type(error).__name__}: {error}"
                continue
            if answer:
                return rpc.answer(answer, request)
        if errors:
            context.set_trailing_metadata((("foxplug-errors-bin", json.dumps(errors).encode()),))
        if not providers:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"no loaded plugin provides {function}()")
        return rpc.reply_type()

    # -- musicfox.plugin.UIExtensionService ---------------------------------------------------------------------

    async def menus(self, request: pb.MenuRequest, context: grpc.aio.ServicerContext) -> pb.MenuResponse:
        entries = await self.engine.ui.menus(value_map(request.context))
        return BY_FUNCTION["menus"].answer(entries, request)

    async def action(self, request: pb.MenuActionRequest, context: grpc.aio.ServicerContext) -> pb.MenuActionResponse:
        ctx = value_map(request.context)
        plugin = ctx.pop("plugin", None)
        if plugin is None:  # the plugin whose menu offered this id (menu items carry it in metadata)
            entries = await self.engine.ui.menus(ctx)
            plugin = next((e["plugin"] for e in entries if e["id"] == request.action_id), None)
        if plugin is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no plugin offers the menu action {request.action_id!r}")
        try:
            answer = await self.engine.ui.action(plugin, request.action_id, ctx)
        except FoxplugError as error:
            await _abort(context, error)
        return BY_FUNCTION["on_action"].answer(answer, request)

    async def themes(self, request: Empty, context: grpc.aio.ServicerContext) -> pb.ThemesResponse:
        return BY_FUNCTION["themes"].answer(await self.engine.ui.themes(), request)

    # -- musicfox.plugin.PluginService: the engine itself -------------------------------------------------------

    def info(self) -> pb.PluginInfo:
        provides = sorted({cap for p in self.engine.plugins for cap in p.provides})
        plugins = {p.id: p.version for p in self.engine.plugins}
        return pb.PluginInfo(
            id="foxplug",
            name="foxplug",
            version=__version__,
            description="foxplug's plugins, answering together",
            capabilities=provides,
            metadata={"plugins": json.dumps(plugins)},
        )

    async def initialize(self, request: pb.InitializeRequest, context: grpc.aio.ServicerContext) -> Any:
        return pb.InitializeResponse(success=True, info=self.info())

    async def health(self, request: Empty, context: grpc.aio.ServicerContext) -> pb.HealthResponse:
        return pb.HealthResponse(status=pb.HealthResponse.SERVING, message=f"{len(self.engine.plugins)} plugins")

    async def get_info(self, request: Empty, context: grpc.aio.ServicerContext) -> pb.PluginInfo:
        return self.info()

    async def capabilities(self, request: Empty, context: grpc.aio.ServicerContext) -> pb.CapabilitiesResponse:
        return pb.CapabilitiesResponse(capabilities=self.info().capabilities)

    async def quiet_stream(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        """A stream that stays open and says nothing until the server stops (go-plugin's stdio and broker)."""
        await self.stop.wait()
        return
        yield b""  # an async generator

    async def shutdown(self, request: Empty, context: grpc.aio.ServicerContext) -> Empty:
        self.stop.set()
        return Empty()

    # -- foxplug.host.v1.Host --------------------------------------------------------------------------------

    async def call(self, request: host_pb2.CallRequest, context: grpc.aio.ServicerContext) -> host_pb2.CallResponse:
        try:
            args = json.loads(request.args_json) if request.args_json else []
        except ValueError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"args_json is not JSON: {error}")
        if not isinstance(args, list):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "args_json must be a JSON array of arguments")
        try:
            result = await self.engine.call(request.plugin, request.method, *args, timeout=request.timeout or None)
        except FoxplugError as error:
            await _abort(context, error)
        return host_pb2.CallResponse(result_json=json.dumps(result, ensure_ascii=False, default=str))

    async def emit(self, request: host_pb2.EmitRequest, context: grpc.aio.ServicerContext) -> host_pb2.EmitResponse:
        try:
            payload = json.loads(request.payload_json) if request.payload_json else None
        except ValueError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"payload_json is not JSON: {error}")
        await self.engine.emit(request.event, payload)
        return host_pb2.EmitResponse()

    async def events(
        self, request: host_pb2.EventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[host_pb2.Event]:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(EVENT_BACKLOG)

        def put(name: str, payload: Any) -> None:
            if queue.full():
                queue.get_nowait()
                log.warning("an Events reader is %d events behind: dropped the oldest", EVENT_BACKLOG)
            queue.put_nowait((name, payload))

        unsubscribe = [self.engine.on(name, partial(put, name)) for name in request.names or EVENTS]
        try:
            while True:
                name, payload = await queue.get()
                yield host_pb2.Event(name=name, payload_json=json.dumps(payload, ensure_ascii=False, default=str))
        finally:
            for off in unsubscribe:
                off()

    # -- assembly ------------------------------------------------------------------------------------------

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        source: dict[str, grpc.RpcMethodHandler] = {
            "Search": _unary(self.search, pb.SearchRequest, pb.SearchResponse),
            "GetSongLyrics": _unary(self.lyrics, pb.LyricsRequest, pb.LyricsResponse),
        }
        for function in ("suggest", "get_playlist", "get_playlist_songs", "get_song_url", "get_song_detail", "login"):
            rpc = BY_FUNCTION[function]
            source[rpc.method] = _unary(partial(self.first_answer, function), rpc.request_type, rpc.reply_type)
        rpc = BY_FUNCTION["get_user_playlists"]
        source[rpc.method] = _unary(partial(self.first_answer, rpc.function), rpc.request_type, rpc.reply_type)
        ui = {
            "GetMenuItems": _unary(self.menus, pb.MenuRequest, pb.MenuResponse),
            "HandleMenuAction": _unary(self.action, pb.MenuActionRequest, pb.MenuActionResponse),
            "GetThemes": _unary(self.themes, Empty, pb.ThemesResponse),
        }
        ok = _unary(_empty, Empty, Empty)
        plugin = {
            "Initialize": _unary(self.initialize, pb.InitializeRequest, pb.InitializeResponse),
            "Start": ok,
            "Stop": ok,
            "Shutdown": _unary(self.shutdown, Empty, Empty),
            "HealthCheck": _unary(self.health, Empty, pb.HealthResponse),
            "GetInfo": _unary(self.get_info, Empty, pb.PluginInfo),
            "GetCapabilities": _unary(self.capabilities, Empty, pb.CapabilitiesResponse),
        }
        host = {
            "Call": _unary(self.call, host_pb2.CallRequest, host_pb2.CallResponse),
            "Emit": _unary(self.emit, host_pb2.EmitRequest, host_pb2.EmitResponse),
            "Events": grpc.unary_stream_rpc_method_handler(
                self.events,
                request_deserializer=host_pb2.EventsRequest.FromString,
                response_serializer=host_pb2.Event.SerializeToString,
            ),
            "PlayerBridge": grpc.stream_stream_rpc_method_handler(
                self.player.bridge,
                request_deserializer=host_pb2.PlayerReply.FromString,
                response_serializer=host_pb2.PlayerCommand.SerializeToString,
            ),
        }
        return [
            grpc.method_handlers_generic_handler(f"{PACKAGE}.MusicSourceService", source),
            grpc.method_handlers_generic_handler(f"{PACKAGE}.UIExtensionService", ui),
            grpc.method_handlers_generic_handler(f"{PACKAGE}.PluginService", plugin),
            grpc.method_handlers_generic_handler("foxplug.host.v1.Host", host),
            grpc.method_handlers_generic_handler(
                "plugin.GRPCController", {"Shutdown": _unary(self.shutdown, Empty, Empty)}
            ),
            # what a go-plugin host opens on connect; the engine sends nothing on either (logs go to stderr)
            grpc.method_handlers_generic_handler(
                "plugin.GRPCStdio", {"StreamStdio": grpc.unary_stream_rpc_method_handler(self.quiet_stream)}
            ),
            grpc.method_handlers_generic_handler(
                "plugin.GRPCBroker", {"StartStream": grpc.stream_stream_rpc_method_handler(self.quiet_stream)}
            ),
        ]


async def _empty(request: Empty, context: grpc.aio.ServicerContext) -> Empty:
    return Empty()


SERVICE_NAMES = (
    f"{PACKAGE}.MusicSourceService",
    f"{PACKAGE}.UIExtensionService",
    f"{PACKAGE}.PluginService",
    "foxplug.host.v1.Host",
)


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host in ("localhost", "") or address.startswith("unix:"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credentials(cert: Path | None, key: Path | None, address: str) -> grpc.ServerCredentials | None:
    if cert is None and key is None:
        if not _loopback(address):
            raise ConfigError(
                f"serving on {address} without TLS would let anyone on the network call every plugin",
                field="--grpc",
                hint="listen on 127.0.0.1 (the default) or a unix: socket, or give --tls-cert and --tls-key",
            )
        return None
    if cert is None or key is None:
        raise ConfigError("TLS needs both --tls-cert and --tls-key", field="--tls-cert")
    return grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])


async def serve(
    engine: Engine,
    player: BridgedPlayer,
    address: str = DEFAULT_ADDRESS,
    *,
    announce: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    tls: tuple[Path | None, Path | None] = (None, None),
) -> None:
    """Serve `engine` (started already) on `address` until `stop` is set or a client calls Shutdown.

    `announce` receives the handshake line once the port is open (default: print it on stdout).
    """
    credentials = _credentials(*tls, address)
    stop = stop or asyncio.Event()
    service = EngineService(engine, player, stop)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(service.handlers())
    checker = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    reflection.enable_server_reflection((*SERVICE_NAMES, "grpc.health.v1.Health", reflection.SERVICE_NAME), server)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    await server.start()
    for name in ("", "plugin", *SERVICE_NAMES):
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    if address.startswith("unix:"):
        line = f"1|1|unix|{address.removeprefix('unix:')}|grpc"
    else:
        host = address.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
        line = f"1|1|tcp|{host}:{port}|grpc"
    (announce or _print)(line)
    try:
        await stop.wait()
    finally:
        await checker.enter_graceful_shutdown()
        await server.stop(0.5)


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run(
    config: Config, address: str, *, stop: asyncio.Event, tls: tuple[Path | None, Path | None] = (None, None)
) -> int:
    """`foxplug serve --grpc`: start the engine with a bridged player and serve it until stopped."""
    player = BridgedPlayer()
    async with Engine(config, player=player) as engine:
        for path, error in engine.load_errors.items():
            log.error("%s: %s: %s", path, type(error).__name__, error)
        await serve(engine, player, address, stop=stop, tls=tls)
    return 0
