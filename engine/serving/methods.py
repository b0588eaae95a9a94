"""The sidecar's methods (docs/serve.md), whatever carries them: names, named params, and what each asks of the
engine. A transport (stdio now, gRPC later) reads requests, hands them to `Sidecar.dispatch`, and writes answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine._version import __version__
from engine.config import Config
from engine.engine import Engine
from engine.runtimes.process import rpc
from script_api.api import Param, parse_params
from script_api.player import Player

log = logging.getLogger(__name__)

INVALID_REQUEST = -32600
NOT_INITIALIZED = -32002
FORWARDED_EVENTS = ("plugin_loaded", "plugin_reloaded", "reload_failed", "plugin_unloaded", "load_failed", "alert")
"""Engine events the player hears as `event` notifications (with `notify` for `fox.ui.notify`)."""
_ARTICLES = {"string": "a string", "integer": "an integer", "object": "an object", "array": "an array"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
"""notify(method, params): a notification to the player."""


class RequestError(Exception):
    """Answer this request with a JSON-RPC error object: its code and `data.type`."""

    def __init__(self, code: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.code, self.kind = code, kind


def invalid(message: str) -> RequestError:
    return RequestError(rpc.INVALID_PARAMS, message, "InvalidParams")


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
            raise invalid(f"{name}: params must be an object (by name)")
        known = {param.name for param in self.params}
        for key in params:
            if key not in known:
                raise invalid(f"{name}: unknown parameter `{key}` (expected: {', '.join(sorted(known)) or 'none'})")
        for param in self.params:
            if param.name not in params:
                if param.required:
                    raise invalid(f"{name}: missing parameter `{param.name}` ({param.type})")
            elif not _TYPES[param.type](params[param.name]):
                got = type(params[param.name]).__name__
                raise invalid(f"{name}: parameter `{param.name}` must be {_ARTICLES[param.type]}, got {got}")
        return params


class Sidecar:
    """The engine behind one player: created by `initialize`, which must come first, and closed with it."""

    def __init__(self, config: Config, notify: Notify, remote_player: Callable[[], Player]) -> None:
        self.config = config
        self._notify = notify
        self._remote_player = remote_player
        """The player that started us, for when it says it has one (`capabilities.player`)."""
        self.engine: Engine | None = None
        self._initializing: asyncio.Future[Any] | None = None
        self.shutdown_requested = asyncio.Event()
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

    async def dispatch(self, name: Any, params: Any) -> Any:
        """Run one request: its result, or RequestError / the engine's FoxplugError."""
        method = self.methods.get(name) if isinstance(name, str) else None
        if method is None:
            raise RequestError(
                rpc.METHOD_NOT_FOUND, f"the engine has no method {name!r} (docs/serve.md lists them)", "MethodNotFound"
            )
        kwargs = method.check(name, params)
        if name == "initialize":
            if self._initializing is not None:
                raise RequestError(INVALID_REQUEST, "initialize was already sent", "InvalidRequest")
            self._initializing = asyncio.ensure_future(method.run(**kwargs))
            return await asyncio.shield(self._initializing)
        if self._initializing is None:
            raise RequestError(NOT_INITIALIZED, f"{name}: send `initialize` first", "NotInitialized")
        await asyncio.shield(self._initializing)  # requests sent right after `initialize` wait for it
        return await method.run(**kwargs)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()

    def _engine(self) -> Engine:
        assert self.engine is not None
        return self.engine

    async def initialize(
        self, protocol_versions: list[Any], player: dict[str, Any] | None = None, capabilities: Any = None
    ) -> dict[str, Any]:
        common = [v for v in protocol_versions if type(v) is int and v in rpc.PROTOCOL_VERSIONS]
        if not common:
            raise invalid(
                f"initialize: no protocol version in common (the player offered {protocol_versions}, the engine "
                f"speaks {', '.join(map(str, rpc.PROTOCOL_VERSIONS))})"
            )
        remote = isinstance(capabilities, dict) and capabilities.get("player") is True
        self.engine = Engine(self.config, player=self._remote_player() if remote else None)
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
            return lambda payload: self._notify(method, params(payload))

        engine.on("notify", forward("notify", lambda e: {k: e.get(k) for k in ("plugin", "text", "level")}))
        for name in FORWARDED_EVENTS:
            engine.on(name, forward("event", lambda payload, name=name: {"name": name, "payload": payload}))

    async def search(self, query: str, type: str = "song", limit: int = 20) -> dict[str, Any]:
        if type not in ("song", "album", "artist", "playlist"):
            raise invalid(f"search: type {type!r} is not song, album, artist or playlist")
        if limit < 1:
            raise invalid("search: limit must be at least 1")
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
        asyncio.get_running_loop().call_soon(self.shutdown_requested.set)  # after this answer is written
