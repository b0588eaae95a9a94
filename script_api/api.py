"""THE API plugins see as `fox.*`, defined once as data.

Every runtime builds its `fox` object from `HOST_FUNCTIONS`, and every call goes through
`engine.gate.dispatch.dispatch`, which applies the permission gate. Editor stubs are generated from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from script_api.context import PluginContext
from script_api.host import basics, http, plugins, storage

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "any": (object,),
}


PERMISSIONS = (
    "network",
    "storage",
    "player.read",
    "player.control",
    "ui.notify",
    "events.emit",
    "plugins.call",
)
"""Every permission a manifest can ask for and a policy can allow; each host function needs one or none."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    required: bool = True
    variadic: bool = False
    """The last parameter only (`...args:any`): it takes every argument from its position on."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return not self.required
        if isinstance(value, bool):
            return self.type in ("boolean", "any")
        if self.type == "object" and value == []:  # an empty Lua table arrives as []
            return True
        return isinstance(value, _JSON_TYPES[self.type])


@dataclass(frozen=True, slots=True)
class HostFunction:
    """One `fox.<name>` function: what it needs, what it takes, what it returns, and the host code behind it."""

    name: str
    permission: str | None
    params: tuple[Param, ...]
    result: str
    doc: str
    impl: Callable[..., Any]
    scope: Callable[[tuple[Any, ...]], Any] | None = None
    """The resource the permission is about (e.g. the parsed URL), read once from the call's arguments: the gate
    judges it and `impl` receives it as `scope=`, so both act on the same parse."""


@dataclass(frozen=True, slots=True)
class HostValue:
    """A plain value on `fox` (not a function), read from the plugin's context when its runtime starts."""

    name: str
    type: str
    doc: str
    read: Callable[[PluginContext], Any]


def parse_params(spec: str) -> tuple[Param, ...]:
    """'url:string opts?:object' -> Params; `?` marks an optional parameter, `...` a variadic last one."""
    params = []
    for item in spec.split():
        name, kind = item.split(":")
        variadic = name.startswith("...")
        params.append(Param(name.lstrip(".").rstrip("?"), kind, not (variadic or name.endswith("?")), variadic))
    return tuple(params)


def _player(method: str) -> Callable[..., Any]:
    def call(ctx: PluginContext, *args: Any) -> Any:
        return getattr(ctx.services.player, method)(*args)

    call.__name__ = f"player_{method}"
    return call


def _table(*rows: tuple[Any, ...]) -> dict[str, HostFunction]:
    functions = [
        HostFunction(name, permission, parse_params(params), result, doc, impl, *scope)
        for name, permission, params, result, doc, impl, *scope in rows
    ]
    return {f.name: f for f in functions}


HOST_FUNCTIONS: dict[str, HostFunction] = _table(
    (
        "log.debug",
        None,
        "message:any",
        "null",
        "Log at debug level to foxplug.plugin.<id>.",
        basics.log("debug"),
    ),
    ("log.info", None, "message:any", "null", "Log at info level.", basics.log("info")),
    ("log.warn", None, "message:any", "null", "Log at warning level.", basics.log("warn")),
    ("log.error", None, "message:any", "null", "Log at error level.", basics.log("error")),
    (
        "json.encode",
        None,
        "value:any pretty?:boolean",
        "string",
        "Encode a value as JSON.",
        basics.json_encode,
    ),
    ("json.decode", None, "text:string", "any", "Decode JSON text.", basics.json_decode),
    ("plugin.info", None, "", "object", "This plugin's id, version and config.", basics.plugin_info),
    (
        "http.get",
        "network",
        "url:string opts?:object",
        "HttpResponse",
        "GET a URL. opts: headers, query, timeout (s), max_redirects, binary. Returns {status, ok, reason, url, "
        "headers, header_list, body (or body_base64 with binary), json?}; header_list keeps every value of a "
        "repeated header (set-cookie).",
        http.get,
        lambda args: http.parse_target(args[0] if args else None),
    ),
    (
        "http.request",
        "network",
        "method:string url:string opts?:object",
        "HttpResponse",
        "Any HTTP method. opts: headers (Cookie, Host, Referer sent as given), query, body (string), body_base64 "
        "(bytes) or json (value), timeout (s), max_redirects (0: return the 3xx), binary (answer body_base64). "
        "Cookies the server sets are kept per plugin.",
        http.request,
        lambda args: http.parse_target(args[1] if len(args) > 1 else None),
    ),
    ("storage.get", "storage", "key:string default?:any", "any", "Read a stored value.", storage.get),
    ("storage.set", "storage", "key:string value:any", "null", "Store a JSON value durably.", storage.set_),
    (
        "storage.delete",
        "storage",
        "key:string",
        "boolean",
        "Delete a key; true if it existed.",
        storage.delete,
    ),
    (
        "storage.keys",
        "storage",
        "prefix?:string",
        "array",
        "Stored keys, sorted, optionally by prefix.",
        storage.keys,
    ),
    ("player.state", "player.read", "", "string", "'playing', 'paused' or 'stopped'.", _player("state")),
    ("player.position", "player.read", "", "integer", "Playback position in ms.", _player("position")),
    ("player.volume", "player.read", "", "integer", "Volume 0-100.", _player("volume")),
    ("player.current", "player.read", "", "object", "The current song, or null.", _player("current")),
    ("player.play", "player.control", "song?:object", "null", "Play a song, or the queue.", _player("play")),
    ("player.pause", "player.control", "", "null", "Pause playback.", _player("pause")),
    ("player.resume", "player.control", "", "null", "Resume playback.", _player("resume")),
    ("player.stop", "player.control", "", "null", "Stop playback.", _player("stop")),
    (
        "player.seek",
        "player.control",
        "position_ms:integer",
        "null",
        "Seek to a position in ms.",
        _player("seek"),
    ),
    (
        "player.set_volume",
        "player.control",
        "volume:integer",
        "null",
        "Set volume 0-100.",
        _player("set_volume"),
    ),
    ("player.next", "player.control", "", "null", "Skip to the next song.", _player("next")),
    ("player.previous", "player.control", "", "null", "Go back to the previous song.", _player("previous")),
    (
        "ui.notify",
        "ui.notify",
        "text:string level?:string",
        "null",
        "Show a notification (level: info, warn, error).",
        lambda ctx, text, level="info": ctx.services.notify(ctx.plugin_id, text, level),
    ),
    (
        "events.emit",
        "events.emit",
        "event:string payload?:any",
        "null",
        "Send an event to every plugin's on_<event> handler and to the host.",
        lambda ctx, event, payload=None: ctx.services.emit(ctx.plugin_id, event, payload),
    ),
    (
        "plugins.call",
        "plugins.call",
        "id:string function:string ...args:any",
        "any",
        "Call a function of a declared dependency, on its thread within its limits; its error is a PluginError here.",
        plugins.call,
    ),
)


HOST_VALUES: dict[str, HostValue] = {
    value.name: value
    for value in (
        HostValue(
            "config",
            "object",
            "This plugin's config (`plugin_configs.<id>.config`), checked against its `config_schema`.",
            lambda ctx: ctx.config,
        ),
        HostValue("plugin.id", "string", "This plugin's id.", lambda ctx: ctx.plugin_id),
        HostValue("plugin.version", "string", "This plugin's version.", lambda ctx: ctx.version),
    )
}


def host_values(ctx: PluginContext) -> dict[str, Any]:
    """{'plugin.id': 'hello', ...}: what every runtime sets on its `fox` object beside the functions."""
    return {name: value.read(ctx) for name, value in HOST_VALUES.items()}


def namespaces() -> dict[str, list[str]]:
    """{'http': ['get', 'request'], ...}: the shape every runtime builds its `fox` object in."""
    tree: dict[str, list[str]] = {}
    for name in HOST_FUNCTIONS:
        group, _, leaf = name.partition(".")
        tree.setdefault(group, []).append(leaf)
    return tree
