"""`foxplug serve --stdio`: the engine as a player's child process, JSON-RPC 2.0 on stdin/stdout (docs/serve.md).

The plugin protocol (docs/protocol.md) with the roles reversed: the player starts us, sends `initialize`, and calls
the engine's methods; when it says it has a player we call `player.*` on it, so `fox.player.*` in a plugin reaches
the real player. The framing, codec, error codes and line cap are the plugin protocol's (engine.rpc). Unlike a
plugin, the engine serves requests concurrently: each runs as its own task and is answered by id when it is done,
so a slow search never holds up a `ui.status`, and a `$/cancelRequest` cancels just that task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

from engine._version import __version__
from engine.config import Config
from engine.engine import Engine
from engine.errors import FoxplugError, PlayerError
from engine.runtimes.process import rpc
from script_api.api import Param, parse_params
from script_api.player import song_dict

log = logging.getLogger(__name__)

INVALID_REQUEST = -32600
PARSE_ERROR = -32700
NOT_INITIALIZED = -32002
EOF_GRACE = 1.0
"""Seconds requests still running at the end of input get to finish (`printf ... | foxplug serve --stdio`)."""
PLAYER_TIMEOUT = 5.0
"""Seconds the player has to answer a `player.*` request before the plugin that asked gets PlayerError."""
FORWARDED_EVENTS = ("plugin_loaded", "plugin_reloaded", "reload_failed", "plugin_unloaded", "load_failed", "alert")
_ARTICLES = {"string": "a string", "integer": "an integer", "object": "an object", "array": "an array"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


class RequestError(Exception):
    """Answer this request with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.code, self.kind = code, kind


@dataclass(frozen=True, slots=True)
class Method:
    """One method the player may call: its named params (`name:type`, `?` optional) and the coroutine."""

    params: tuple[Param, ...]
    run: Callable[..., Awaitable[Any]]

    def check(self, name: str, params: Any) -> dict[str, Any]:
        """The params as keyword arguments, or -32602 naming the parameter and what was expected."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise RequestError(rpc.INVALID_PARAMS, f"{name}: params must be an object (by name)", "InvalidParams")
        known = {param.name for param in self.params}
        for key in params:
            if key not in known:
                expected = ", ".join(sorted(known)) or "none"
                raise RequestError(
                    rpc.INVALID_PARAMS, f"{name}: unknown parameter `{key}` (expected: {expected})", "InvalidParams"
                )
        for param in self.params:
            if param.name not in params:
                if param.required:
                    raise RequestError(
                        rpc.INVALID_PARAMS, f"{name}: missing parameter `{param.name}` ({param.type})", "InvalidParams"
                    )
            elif not _TYPES[param.type](params[param.name]):
                got = type(params[param.name]).__name__
                raise RequestError(
                    rpc.INVALID_PARAMS,
                    f"{name}: parameter `{param.name}` must be {_ARTICLES[param.type]}, got {got}",
                    "InvalidParams",
                )
        return params


def _error(code: int, message: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def _engine_error(error: FoxplugError) -> dict[str, Any]:
    """An engine error as the player sees it: -32000 with the error class and its address in `data`."""
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for key in ("plugin", "file", "line", "field", "hint"):
        if (value := getattr(error, key)) is not None:
            data[key] = value
    return _error(rpc.PLUGIN_ERROR, f"{type(error).__name__}: {error}", data)


class Lines:
    """Newline-delimited messages from a pipe, never holding more than `limit` bytes of one."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader, self.limit = reader, limit

    async def next(self) -> bytes | None:
        """The next message (without its newline); None at end of input. Raises rpc.FrameTooLarge once per
        oversized message, after skipping the rest of it, so the stream stays in step."""
        try:
            return (await self._reader.readuntil(b"\n"))[:-1]
        except asyncio.IncompleteReadError as end:
            return end.partial or None
        except asyncio.LimitOverrunError as over:
            await self._skip_line(over.consumed)
            raise rpc.FrameTooLarge(self.limit) from None

    async def _skip_line(self, consumed: int) -> None:
        while True:
            await self._reader.readexactly(consumed)
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError as over:
                consumed = over.consumed


class Peer:
    """One JSON-RPC connection: writes lines, matches answers to our requests, hands requests to `serve`."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._ids = count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.loop = asyncio.get_running_loop()

    async def send(self, message: dict[str, Any]) -> None:
        message = {"jsonrpc": "2.0", **message}
        try:
            data = rpc.encode(message)
        except (TypeError, ValueError) as error:  # an answer that is not JSON: the player still gets one
            data = rpc.encode(
                {"jsonrpc": "2.0", "id": message.get("id"), "error": _error(rpc.INTERNAL_ERROR, str(error), {})}
            )
        self._writer.write(data + b"\n")
        await self._writer.drain()

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send({"method": method, "params": params})

    async def request(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        """Ask the player; its result, or PlayerError (its error, no answer in time)."""
        request_id = next(self._ids)
        answer = self.loop.create_future()
        self._waiting[request_id] = answer
        try:
            await self.send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            await self.notify("$/cancelRequest", {"id": request_id})
            raise PlayerError(
                f"the player did not answer `{method}` within {timeout:g} s",
                hint="a player answers every request it is sent, also while it is busy (docs/serve.md)",
            ) from None
        finally:
            self._waiting.pop(request_id, None)

    def answered(self, message: dict[str, Any]) -> None:
        """A response from the player to one of our requests."""
        waiting = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
        if waiting is None or waiting.done():
            log.warning("the player answered request id %r, which is not waiting", message.get("id"))
            return
        error = message.get("error")
        if error is not None:
            text = error.get("message") if isinstance(error, dict) else error
            waiting.set_exception(PlayerError(f"the player answered with an error: {text}"))
        else:
            waiting.set_result(message.get("result"))

    def close(self) -> None:
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(PlayerError("the player closed the connection"))


class RemotePlayer:
    """The Player protocol on the wire: each method is a `player.*` request to the player that started us.

    Called on plugin threads (like every Player), it waits there for the answer; never on the event loop."""

    def __init__(self, peer: Peer, timeout: float = PLAYER_TIMEOUT) -> None:
        self._peer, self._timeout = peer, timeout

    def _ask(self, method: str, **params: Any) -> Any:
        try:
            if asyncio.get_running_loop() is self._peer.loop:
                raise PlayerError(f"player.{method} was called on the event loop; it waits for the player")
        except RuntimeError:
            pass  # no loop on this thread: a plugin thread, as it should be
        future = asyncio.run_coroutine_threadsafe(
            self._peer.request(f"player.{method}", params, self._timeout), self._peer.loop
        )
        return future.result(self._timeout + 1)

    def state(self) -> str:
        return str(self._ask("state"))

    def position(self) -> int:
        return int(self._ask("position") or 0)

    def volume(self) -> int:
        return int(self._ask("volume") or 0)

    def current(self) -> dict[str, Any] | None:
        return self._ask("current")

    def play(self, song: Any = None) -> None:
        self._ask("play", **({} if song is None else {"song": song_dict(song)}))

    def pause(self) -> None:
        self._ask("pause")

    def resume(self) -> None:
        self._ask("resume")

    def stop(self) -> None:
        self._ask("stop")

    def seek(self, position_ms: int) -> None:
        self._ask("seek", position_ms=int(position_ms))

    def set_volume(self, volume: int) -> None:
        self._ask("set_volume", volume=int(volume))

    def next(self) -> None:
        self._ask("next")

    def previous(self) -> None:
        self._ask("previous")


class StdioServer:
    """The player's requests in, answers and notifications out, until stdin closes or `shutdown`."""

    def __init__(self, config: Config, lines: Lines, peer: Peer) -> None:
        self.config = config
        self._lines, self._peer = lines, peer
        self.engine: Engine | None = None
        self._initializing: asyncio.Task[Any] | None = None
        self._tasks: dict[Any, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self.methods: dict[str, Method] = {
            name: Method(parse_params(spec), run)
            for name, spec, run in (
                ("initialize", "protocol_versions:array player?:object capabilities?:object", self.initialize),
                ("search", "query:string type?:string limit?:integer", self.search),
                ("lyrics", "song:object", self.lyrics),
                ("song_url", "song:object quality?:string", self.song_url),
                ("call", "plugin:string method:string args?:array", self.call),
                ("emit", "event:string payload?:any", self.emit),
                ("ui.menus", "ctx?:object", self.menus),
                ("ui.action", "plugin:string id:string ctx?:object", self.action),
                ("ui.status", "state?:object", self.status),
                ("ui.themes", "", self.themes),
                ("ui.keymap", "", self.keymap),
                ("plugins", "", self.plugins),
                ("ping", "", self.ping),
                ("shutdown", "", self.shutdown),
            )
        }

    async def run(self) -> None:
        reading = asyncio.ensure_future(self._read())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._stop.set()  # requests still running end without an answer: nobody is listening
            reading.cancel()
            stopping.cancel()
            for task in list(self._tasks.values()):
                task.cancel()
            self._peer.close()
            if self.engine is not None:
                await self.engine.close()

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._lines.next()
            except rpc.FrameTooLarge as error:
                text = f"the player {error}"
                await self._reply(None, error=_error(INVALID_REQUEST, text, {"type": "ResourceLimitExceeded"}))
                continue
            if raw is None:
                if self._tasks:
                    await asyncio.wait(list(self._tasks.values()), timeout=EOF_GRACE)
                return
            if raw.strip():
                self._received(raw)

    def _received(self, raw: bytes) -> None:
        try:
            message = rpc.decode(raw)
        except rpc.ProtocolViolation as error:
            text = str(error).replace("wrote a line", "received a line")
            self._spawn(None, self._reply(None, error=_error(PARSE_ERROR, text, {"type": "ParseError"})))
            return
        method, request_id = message.get("method"), message.get("id")
        if method is None:
            self._peer.answered(message)
        elif method == "$/cancelRequest":
            task = self._tasks.get((message.get("params") or {}).get("id"))
            if task is not None:
                task.cancel()
        elif request_id is None:  # a notification: `emit` (the one the contract names) runs, others are ignored
            if method == "emit":
                self._spawn(None, self._handle(None, method, message.get("params")))
        else:
            self._spawn(request_id, self._handle(request_id, method, message.get("params")))

    def _spawn(self, request_id: Any, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        if request_id is not None:
            self._tasks[request_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(request_id, None))
        else:
            self._tasks[id(task)] = task
            task.add_done_callback(lambda _: self._tasks.pop(id(task), None))

    async def _handle(self, request_id: Any, name: str, params: Any) -> None:
        try:
            method = self.methods.get(name) if isinstance(name, str) else None
            if method is None:
                raise RequestError(
                    rpc.METHOD_NOT_FOUND,
                    f"the engine has no method {name!r} (docs/serve.md lists them)",
                    "MethodNotFound",
                )
            kwargs = method.check(name, params)
            if name == "initialize":
                if self._initializing is not None:
                    raise RequestError(INVALID_REQUEST, "initialize was already sent", "InvalidRequest")
                self._initializing = asyncio.ensure_future(method.run(**kwargs))
                result = await asyncio.shield(self._initializing)
            else:
                if self._initializing is None:
                    raise RequestError(NOT_INITIALIZED, f"{name}: send `initialize` first", "NotInitialized")
                await asyncio.shield(self._initializing)
                result = await method.run(**kwargs)
        except RequestError as error:
            await self._reply(request_id, error=_error(error.code, str(error), {"type": error.kind}))
        except FoxplugError as error:
            await self._reply(request_id, error=_engine_error(error))
        except asyncio.CancelledError:
            if self._stop.is_set():
                raise
            await self._reply(
                request_id, error=_error(rpc.REQUEST_CANCELLED, "cancelled by the player", {"type": "Cancelled"})
            )
        except Exception as error:  # a bug in the engine: the player gets an answer, the log the traceback
            log.exception("%s failed", name)
            await self._reply(request_id, error=_error(rpc.INTERNAL_ERROR, repr(error), {"type": "InternalError"}))
        else:
            await self._reply(request_id, result=result)

    async def _reply(self, request_id: Any, *, result: Any = None, error: dict[str, Any] | None = None) -> None:
        if request_id is None and error is None:
            return  # a notification is not answered
        await self._peer.send({"id": request_id, "error": error} if error else {"id": request_id, "result": result})

    def _engine(self) -> Engine:
        assert self.engine is not None
        return self.engine

    # The methods (docs/serve.md).

    async def initialize(
        self, protocol_versions: list[Any], player: dict[str, Any] | None = None, capabilities: Any = None
    ) -> dict[str, Any]:
        common = [v for v in protocol_versions if type(v) is int and v in rpc.PROTOCOL_VERSIONS]
        if not common:
            offered = ", ".join(map(str, rpc.PROTOCOL_VERSIONS))
            raise RequestError(
                rpc.INVALID_PARAMS,
                f"initialize: no protocol version in common (the player offered {protocol_versions}, the engine "
                f"speaks {offered})",
                "InvalidParams",
            )
        remote = isinstance(capabilities, dict) and capabilities.get("player") is True
        self.engine = Engine(self.config, player=RemotePlayer(self._peer) if remote else None)
        await self.engine.start()
        self._subscribe(self.engine)  # from here on: what `plugins` and `load_errors` below do not already say
        log.info("serving %s", (player or {}).get("name", "a player"))
        return {
            "protocol_version": max(common),
            "engine_version": __version__,
            "plugins": [info.to_dict() for info in self.engine.plugins],
            "load_errors": {path: error.to_dict() for path, error in self.engine.load_errors.items()},
        }

    def _subscribe(self, engine: Engine) -> None:
        def forward(method: str, params: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
            return lambda payload: self._peer.notify(method, params(payload))

        engine.on("notify", forward("notify", lambda e: {k: e.get(k) for k in ("plugin", "text", "level")}))
        for name in FORWARDED_EVENTS:
            engine.on(name, forward("event", lambda payload, name=name: {"name": name, "payload": payload}))

    async def search(self, query: str, type: str = "song", limit: int = 20) -> dict[str, Any]:
        if type not in ("song", "album", "artist", "playlist"):
            raise RequestError(
                rpc.INVALID_PARAMS, f"search: type {type!r} is not song, album, artist or playlist", "InvalidParams"
            )
        if limit < 1:
            raise RequestError(rpc.INVALID_PARAMS, "search: limit must be at least 1", "InvalidParams")
        return (await self._engine().search(query, type=type, limit=limit)).to_dict()

    async def lyrics(self, song: dict[str, Any]) -> dict[str, Any] | None:
        found = await self._engine().lyrics(song)
        return found.to_dict() if found is not None else None

    async def song_url(self, song: dict[str, Any], quality: str | None = None) -> dict[str, Any] | None:
        return await self._engine().song_url(song, quality)

    async def call(self, plugin: str, method: str, args: list[Any] | None = None) -> Any:
        return await self._engine().call(plugin, method, *(args or ()))

    async def emit(self, event: str, payload: Any = None) -> None:
        await self._engine().emit(event, payload)

    async def menus(self, ctx: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._engine().ui.menus(ctx)

    async def action(self, plugin: str, id: str, ctx: dict[str, Any] | None = None) -> Any:
        return await self._engine().ui.action(plugin, id, ctx)

    async def status(self, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._engine().ui.status(state)

    async def themes(self) -> list[dict[str, Any]]:
        return await self._engine().ui.themes()

    async def keymap(self) -> dict[str, dict[str, str]]:
        return await self._engine().ui.keymap()

    async def plugins(self) -> list[dict[str, Any]]:
        return [info.to_dict() for info in self._engine().plugins]

    async def ping(self) -> dict[str, Any]:
        return {}

    async def shutdown(self) -> None:
        asyncio.get_running_loop().call_soon(self._stop.set)  # after this answer is written


async def serve_stdio(config: Config) -> None:
    """Serve on this process's stdin/stdout until stdin closes or the player sends `shutdown`.

    stdout is kept for protocol lines: the real fd 1 is moved aside and fd 1 pointed at stderr, so a stray
    write (a library's print, a child process) lands in the log instead of corrupting the stream."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    loop = asyncio.get_running_loop()
    limit = config.max_result_size
    reader = asyncio.StreamReader(limit=limit)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", 0, closefd=False))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(protocol_fd, "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        await StdioServer(config, Lines(reader, limit), Peer(writer)).run()
    finally:
        transport.close()
