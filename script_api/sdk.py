"""A foxplug process plugin in Python, in a few lines (the protocol is in docs/protocol.md):

    from script_api.sdk import fox, serve

    def search(query, opts=None):
        fox.log.info(f"searching for {query}")
        return [{"id": "1", "title": query}]

    serve({"search": search})

Functions run one at a time. `fox.*` calls inside them are synchronous requests to the host, which checks each
against the plugin's permissions; one that is not granted raises `PermissionDenied` here, catchable like any
exception. `print()` goes to stderr, which the host writes to the plugin's log: stdout carries the protocol.

Standard library only, so any Python 3.9+ can run a plugin; the host puts this package on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

PROTOCOL_VERSIONS = (1,)
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
PLUGIN_ERROR = -32000
REQUEST_CANCELLED = -32800
_MAX_INPUT = 64 << 20
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)


class HostError(Exception):
    """A `fox.*` call failed in the host; `kind` is the host's error class (PermissionDenied, PluginError, ...)."""

    def __init__(self, message: str, kind: str = "PluginError") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class PermissionDenied(HostError):
    """The plugin does not hold the permission this `fox.*` function needs."""


class Cancelled(HostError):
    """The host gave up on the call in progress (its deadline passed); return as soon as you can."""


class CallError(Exception):
    """Raise from a function to answer the host with exactly this JSON-RPC error."""

    def __init__(self, message: str, code: int = PLUGIN_ERROR, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data or {}


Handler = Callable[[str, list[Any], float], Any]
"""handler(function, args, timeout_seconds) -> result: how a call from the host is answered."""


class Connection:
    """The plugin's end of the protocol over stdin/stdout (fd 1 is moved aside so stray output cannot break it)."""

    def __init__(self) -> None:
        self._out = os.dup(1)
        os.dup2(2, 1)  # print() and C code writing to fd 1 now reach stderr, that is the plugin's log
        sys.stdout = sys.stderr
        self._in = sys.stdin.buffer
        self._ids = count(1)
        self._current: Any = None
        self._cancelled = False
        self.max_message = 4 << 20
        self.api: frozenset = frozenset()
        self.values: dict[str, Any] = {}
        self.params: dict[str, Any] = {}
        """What the host sent in `initialize`."""

    # -- messages --------------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        written = os.write(self._out, data)
        while written < len(data):
            written += os.write(self._out, memoryview(data)[written:])

    def _write(self, message: dict[str, Any]) -> None:
        self._send(_ENCODER.encode(message).encode() + b"\n")

    def _read(self) -> dict[str, Any] | None:
        line = self._in.readline(_MAX_INPUT)
        if not line:
            return None
        message = json.loads(line)
        return message if isinstance(message, dict) else {}

    def _answer(self, request_id: Any, result: Any = None, error: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            message["error"] = error
        else:
            message["result"] = result
        try:
            data = _ENCODER.encode(message).encode()
        except (TypeError, ValueError, RecursionError) as exc:  # the function returned something that is not JSON
            message.pop("result", None)
            message["error"] = {"code": PLUGIN_ERROR, "message": f"the result is not JSON data: {exc}"}
            data = _ENCODER.encode(message).encode()
        if len(data) > self.max_message:  # the host would stop reading it, and restart us
            message.pop("result", None)
            message["error"] = {
                "code": PLUGIN_ERROR,
                "message": f"the result is {len(data)} bytes, over the {self.max_message}-byte message limit",
                "data": {"type": "ResourceLimitExceeded"},
            }
            data = _ENCODER.encode(message).encode()
        self._send(data + b"\n")

    # -- serving the host ------------------------------------------------------------------------------------

    def run(self, handler: Handler, on_initialize: Callable[[dict[str, Any]], list[str]]) -> None:
        """Answer the host until it sends `shutdown` or closes stdin. `on_initialize` returns the exports."""
        while True:
            message = self._read()
            if message is None:
                return
            method = message.get("method")
            request_id = message.get("id")
            if method == "call" and request_id is not None:
                self._call(request_id, message.get("params") or {}, handler)
            elif method == "initialize" and request_id is not None:
                self._initialize(request_id, message.get("params") or {}, on_initialize)
            elif method == "ping" and request_id is not None:
                self._answer(request_id, "pong")
            elif method == "shutdown":
                return
            elif method is not None and request_id is not None:
                self._answer(request_id, error={"code": METHOD_NOT_FOUND, "message": f"no method {method!r}"})

    def _initialize(self, request_id: Any, params: dict[str, Any], on_initialize: Callable[..., list[str]]) -> None:
        offered = params.get("protocol_versions") or []
        common = [v for v in PROTOCOL_VERSIONS if v in offered]
        if not common:
            error = f"no common protocol version: the host offers {offered}, this SDK speaks {list(PROTOCOL_VERSIONS)}"
            self._answer(request_id, error={"code": INVALID_PARAMS, "message": error})
            return
        self.params = params
        self.api = frozenset(params.get("api") or ())
        self.values = dict(params.get("values") or {})
        self.max_message = int((params.get("limits") or {}).get("max_message", self.max_message))
        try:
            exports = on_initialize(params)
        except CallError as exc:
            self._answer(request_id, error={"code": exc.code, "message": exc.message, "data": exc.data})
            return
        hello = {
            "protocol_version": max(common),
            "exports": list(exports),
            "sdk": {"name": "foxplug-python", "version": 1},
        }
        self._answer(request_id, hello)

    def _call(self, request_id: Any, params: dict[str, Any], handler: Handler) -> None:
        function, args = params.get("function"), params.get("args") or []
        self._current, self._cancelled = request_id, False
        try:
            result = handler(str(function), list(args), float(params.get("timeout") or 30.0))
        except CallError as exc:
            self._answer(request_id, error={"code": exc.code, "message": exc.message, "data": exc.data})
        except HostError as exc:  # a fox.* failure the plugin did not catch: the host knows it by its message
            self._answer(request_id, error={"code": PLUGIN_ERROR, "message": exc.message, "data": {"type": exc.kind}})
        except Exception as exc:
            self._answer(request_id, error=_describe(exc))
        else:
            if self._cancelled:
                self._answer(request_id, error={"code": REQUEST_CANCELLED, "message": "cancelled by the host"})
            else:
                self._answer(request_id, result)
        finally:
            self._current = None

    # -- calling the host ------------------------------------------------------------------------------------

    def request(self, method: str, params: list[Any]) -> Any:
        """One synchronous request to the host (`fox.storage.get` ...), answered while the host waits on us."""
        if self._current is None:
            raise HostError(f"{method} can only be called while the host is calling this plugin")
        if self._cancelled:
            raise Cancelled("the host cancelled this call: its deadline passed", "PluginTimeout")
        request_id = next(self._ids)
        self._write({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            message = self._read()
            if message is None:
                raise SystemExit(0)  # the host is gone
            incoming = message.get("method")
            if incoming == "$/cancelRequest":
                if (message.get("params") or {}).get("id") == self._current:
                    self._cancelled = True
            elif incoming == "shutdown":
                raise SystemExit(0)
            elif incoming is not None and message.get("id") is not None:
                busy = {"code": REQUEST_CANCELLED, "message": f"busy: {incoming} arrived during a call"}
                self._answer(message["id"], error=busy)
            elif message.get("id") == request_id:
                error = message.get("error")
                if error is None:
                    return message.get("result")
                kind = (error.get("data") or {}).get("type", "PluginError")
                raise _ERRORS.get(kind, HostError)(str(error.get("message")), kind)


_ERRORS = {"PermissionDenied": PermissionDenied, "PluginTimeout": Cancelled}


def _describe(exc: BaseException) -> dict[str, Any]:
    """The JSON-RPC error for an exception: its class and message, and where in the plugin's code it was."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    data: dict[str, Any] = {
        "type": type(exc).__name__,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }
    if frames:
        data["file"], data["line"] = frames[-1].filename, frames[-1].lineno
    return {"code": PLUGIN_ERROR, "message": f"{type(exc).__name__}: {exc}", "data": data}


class _Namespace:
    """`fox` and its groups: functions and values exactly as the host's API table lists them."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        connection = _connection
        full = self._prefix + name
        if connection is None:
            raise AttributeError(f"fox.{full}: fox is ready once serve() runs (use it inside your functions)")
        if full in connection.values:
            return connection.values[full]
        if full in connection.api:
            return lambda *args: connection.request("fox." + full, list(args))
        if any(api.startswith(full + ".") for api in connection.api):
            return _Namespace(full + ".")
        raise AttributeError(f"fox.{full} is not part of the host API (see docs/api.md)")


fox: Any = _Namespace("")
"""The host API: `fox.storage.get(key)`, `fox.log.info(text)`, `fox.config`, ..."""
_connection: Connection | None = None


def connect() -> Connection:
    """The process's one connection to its host (for hosts of other runtimes, like the engine's worker)."""
    global _connection
    if _connection is None:
        _connection = Connection()
    return _connection


def serve(functions: Mapping[str, Callable[..., Any]]) -> None:
    """Answer the host's calls with these functions until it says goodbye, then exit."""

    def handle(name: str, args: list[Any], timeout: float) -> Any:
        function = functions.get(name)
        if function is None:
            raise CallError(f"no function {name}()", METHOD_NOT_FOUND)
        return function(*args)

    connect().run(handle, lambda params: list(functions))
    sys.exit(0)
