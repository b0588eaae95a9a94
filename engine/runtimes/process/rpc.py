"""The plugin protocol, host side (docs/protocol.md): JSON-RPC 2.0 with one plugin process over a Channel.

One call at a time, on the plugin's actor thread: send the request, then read until its response arrives,
serving the plugin's `fox.*` requests through its HostLink (the same dispatch and permission gate as every
other runtime) in between. Nothing here knows whether the other end is a pipe or a WebSocket.
"""

from __future__ import annotations

import json
import time
from itertools import count
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import FoxplugError, PluginError, PluginTimeout, error_class
from engine.runtimes.marshal import Junk, to_plain

if TYPE_CHECKING:
    from engine.runtimes.base import HostLink

PROTOCOL_VERSIONS = (1,)
"""Versions this host speaks; the handshake settles on the highest one both sides know."""

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PLUGIN_ERROR = -32000
"""The plugin's function raised."""
HOST_ERROR = -32001
"""A `fox.*` call failed in the host; `data.type` names the error class (PermissionDenied, ...)."""
REQUEST_CANCELLED = -32800

CANCEL_GRACE = 0.03
"""Seconds a plugin has, after its deadline and the `$/cancelRequest`, to answer before it is killed."""


class ChannelClosed(Exception):
    """The plugin's end is gone: its process exited or its socket closed."""


class ProtocolViolation(Exception):
    """The plugin sent something the protocol forbids (not JSON, a forged id, a malformed message)."""


class FrameTooLarge(Exception):
    """A message longer than the cap; the channel stopped reading it before holding more than the cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"sent a message larger than the {limit}-byte limit")
        self.limit = limit


class Unresponsive(Exception):
    """No answer by the deadline (plus the cancel grace): the plugin must be stopped."""


class Channel(Protocol):
    """A message pipe to one plugin: newline-delimited JSON over stdio, or WebSocket text frames."""

    def send(self, data: bytes, deadline: float) -> bool:
        """One encoded message; False if it could not be written by the deadline. Raises ChannelClosed."""
        ...

    def receive(self, deadline: float) -> bytes | None:
        """One message, or None once the deadline passes. Raises ChannelClosed, FrameTooLarge."""
        ...

    def describe(self, when: str = "") -> str:
        """How the channel ended (`the process was killed by SIGKILL{when}; its last stderr line: ...`)."""
        ...

    def shutdown(self) -> None:
        """Ask the plugin to exit, give it a moment, then make sure it has (no orphans)."""
        ...

    def close(self) -> None:
        """End it now: kill the process group, or drop the connection."""
        ...


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def encode(message: dict[str, Any]) -> bytes:
    return _ENCODER.encode(message).encode()


def preview(raw: bytes, limit: int = 80) -> str:
    text = raw[: limit + 1].decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "…")


def decode(raw: bytes) -> dict[str, Any]:
    """One message from the plugin, or ProtocolViolation saying what was wrong with it."""
    try:
        message = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ProtocolViolation(f"wrote a line that is not a JSON-RPC message: {preview(raw)}") from None
    if type(message) is not dict or message.get("jsonrpc") != "2.0":
        raise ProtocolViolation(f"wrote a line that is not a JSON-RPC 2.0 message: {preview(raw)}")
    return message


class Session:
    """The host's end of one plugin connection: handshake, calls, heartbeats."""

    def __init__(self, channel: Channel, label: str, *, trusted: bool = False) -> None:
        self.channel = channel
        self.label = label
        """`plugin `id` (path)`: who this is, for error messages."""
        self.link: HostLink | None = None
        """Serves the plugin's `fox.*` requests; None until the plugin is known (a WebSocket handshake)."""
        self.trusted = trusted
        """The engine's own worker: the error classes it reports (PluginTimeout...) are believed."""
        self.exports: frozenset[str] = frozenset()
        self.hello: dict[str, Any] = {}
        """The plugin's answer to `initialize`."""
        self._ids = count(1)

    def handshake(self, params: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Offer our protocol versions and the API; check the plugin's answer (version, exports)."""
        offered = {"protocol_versions": list(PROTOCOL_VERSIONS), **params}
        hello = self._exchange("initialize", offered, deadline, None)
        if type(hello) is not dict:
            raise ProtocolViolation(f"answered `initialize` with {type(hello).__name__}, expected an object")
        version = hello.get("protocol_version")
        if version not in PROTOCOL_VERSIONS or type(version) is not int:
            raise ProtocolViolation(
                f"answered the handshake with protocol version {version!r}; this host speaks "
                f"{', '.join(map(str, PROTOCOL_VERSIONS))}"
            )
        exports = hello.get("exports")
        if type(exports) is not list or not all(type(name) is str for name in exports):
            raise ProtocolViolation("answered the handshake without `exports` (a list of function names)")
        self.exports = frozenset(exports)
        self.hello = hello
        return hello

    def call(self, function: str, args: tuple[Any, ...], deadline: float, max_result: int) -> Any:
        assert self.link is not None
        self.link.begin(deadline)
        params = {"function": function, "args": args, "timeout": deadline - time.monotonic()}
        result = self._exchange("call", params, deadline, function)
        try:
            return to_plain(result, max_result)
        except Junk as junk:
            raise self.link.junk(junk, function) from None

    def ping(self, deadline: float) -> None:
        self._exchange("ping", None, deadline, None)

    def _send(self, message: dict[str, Any], deadline: float) -> None:
        if not self.channel.send(encode(message), deadline):
            raise Unresponsive("stopped reading its input")

    def _exchange(self, method: str, params: Any, deadline: float, function: str | None) -> Any:
        """Send a request and wait for its response, serving the plugin's requests meanwhile.

        At the deadline a `call` is cancelled; an answer within the grace means the plugin is alive but late.
        """
        request_id = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        self._send(request, deadline)
        receive = self.channel.receive
        cancelled = False
        while True:
            raw = receive(deadline + CANCEL_GRACE if cancelled else deadline)
            if raw is None:
                if cancelled or function is None:
                    raise Unresponsive(f"did not answer `{method}` in time")
                cancel = {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": request_id}}
                self._send(cancel, deadline + CANCEL_GRACE)
                cancelled = True
                continue
            message = decode(raw)
            if "method" in message:
                self._serve(message, cancelled, serving=function is not None)
                continue
            answered = message.get("id")
            if type(answered) is not int or answered != request_id:
                raise ProtocolViolation(
                    f"answered request id {answered!r}, which the host never sent (it awaits {request_id})"
                )
            if "error" in message:
                if function is None and not self.trusted:
                    raise PluginError(f"{self.label} answered `{method}` with an error: {_message(message['error'])}")
                failure = self._failure(message["error"], function or method)
                if cancelled and not (self.trusted and isinstance(failure, PluginTimeout)):
                    raise self._late(function)
                raise failure
            if "result" not in message:
                raise ProtocolViolation(f"answered request {request_id} with neither `result` nor `error`")
            if cancelled:
                raise self._late(function)
            return message["result"]

    def _late(self, function: str | None) -> FoxplugError:
        assert self.link is not None and function is not None
        return self.link.timeout(function)

    def _serve(self, message: dict[str, Any], cancelled: bool, *, serving: bool) -> None:
        """A request from the plugin: `fox.<name>` with its arguments as a list, served only during a call."""
        method, request_id = message["method"], message.get("id")
        params = message.get("params", [])
        if type(method) is not str:
            raise ProtocolViolation(f"sent a request whose method is {method!r}, not a string")
        if method.startswith("$/") and request_id is None:  # protocol notifications the host has no use for
            return
        link = self.link
        if not method.startswith("fox."):
            reply = _error(METHOD_NOT_FOUND, f"the host has no method {method!r}", "PluginNotFound")
        elif link is None or not serving:
            reply = _error(METHOD_NOT_FOUND, f"{method} is served only during a call from the host", "PluginError")
        elif cancelled:
            reply = _error(REQUEST_CANCELLED, "the call this request belongs to was cancelled", "PluginTimeout")
        elif type(params) is not list:
            reply = _error(INVALID_PARAMS, f"{method}: params must be the list of arguments", "PluginError")
        else:
            try:
                reply = {"result": link(method[4:], tuple(params))}
            except FoxplugError as error:
                reply = _error(HOST_ERROR, str(error), type(error).__name__)
            except Exception as error:  # a bug in host code must not look like the plugin's fault
                reply = _error(INTERNAL_ERROR, f"{method} failed in the host: {error!r}", "PluginError")
        if request_id is not None:
            reply["jsonrpc"], reply["id"] = "2.0", request_id
            try:
                data = encode(reply)
            except (TypeError, ValueError) as error:
                data = encode({"jsonrpc": "2.0", "id": request_id, **_error(INTERNAL_ERROR, str(error), "PluginError")})
            if not self.channel.send(data, time.monotonic() + 1.0):
                raise Unresponsive("stopped reading its input")

    def _failure(self, error: Any, function: str) -> FoxplugError:
        """The host's error for a JSON-RPC error object from the plugin."""
        if type(error) is not dict or type(error.get("message")) is not str:
            raise ProtocolViolation(f"answered with a malformed error object: {str(error)[:80]!r}")
        link = self.link
        message, data = error["message"], error.get("data")
        data = data if type(data) is dict else {}
        plugin = link.ctx.plugin_id if link else None
        if link is not None:
            if error.get("code") == METHOD_NOT_FOUND:
                return link.missing(function)
            if link.raised is not None and str(link.raised) in message:  # the host's own error, not caught
                return link.raised
        text = {key: data[key] for key in ("file", "field", "hint", "traceback") if type(data.get(key)) is str}
        line = data.get("line") if type(data.get("line")) is int else None
        if self.trusted and (kind := error_class(data.get("type"))) is not None:
            return kind(message, plugin=plugin, line=line, **text)
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        return PluginError(
            f"{function}() failed: {first}",
            plugin=plugin,
            file=text.get("file") or (link.ctx.path if link else None),
            line=line,
            traceback=text.get("traceback"),
        )


def _message(error: Any) -> str:
    message = error.get("message") if type(error) is dict else None
    return message.strip()[:300] if type(message) is str else repr(error)[:300]


def _error(code: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "data": {"type": kind}}}
