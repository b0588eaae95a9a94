"""A foxplug plugin as a gRPC service, in a few lines (docs/grpc.md):

    from script_api.grpc_sdk import serve_grpc

    def search(query, opts=None):
        return [{"id": "1", "title": query, "artists": [{"name": "someone"}]}]

    serve_grpc({"search": search}, id="my-source", version="1.0.0")

The functions are foxplug's plugin functions (`search`, `get_lyrics`, `get_song_url`, `menus`, `on_action`,
`themes`, `init`, ...) taking and returning the same plain data as in every other runtime; each is served as its
musicfox.plugin RPC (schemas/proto/musicfox/plugin.proto). Done for you, the go-plugin way:

- the handshake: listen on 127.0.0.1 (a free port unless `address` says otherwise), print
  `1|1|tcp|127.0.0.1:PORT|grpc` on stdout, then send stdout to stderr so `print()` is a log line;
- `grpc.health.v1` (`""` and `"plugin"` SERVING), server reflection, `plugin.GRPCController/Shutdown`;
- PluginService: Initialize (your `init(config)`), Start, Stop, HealthCheck, GetInfo, GetCapabilities;
- the end: on Shutdown, SIGTERM, or the end of stdin (the engine went away), stop within a grace period.

A function that raises answers the call with status UNKNOWN and `ErrorType: message`; ValueError and TypeError
answer INVALID_ARGUMENT. Calls may run concurrently (`max_workers` threads): guard shared state.

Needs grpcio, grpcio-health-checking and grpcio-reflection (the engine's own dependencies); never imports the
engine itself, so a service starts in a fraction of the engine's start-up time.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from script_api.grpc_wire import BY_FUNCTION, PACKAGE, SERVICES, Rpc
from script_api.protos.musicfox import plugin_pb2 as pb

HANDSHAKE_HEALTH = "plugin"
SHUTDOWN_GRACE = 0.5


class Service:
    """A running plugin service: `port`, `handshake` (the line it printed), `stop()`, `wait()`."""

    def __init__(self, server: grpc.Server, port: int, host: str, health_servicer: health.HealthServicer) -> None:
        self.server = server
        self.port = port
        self.handshake = f"1|1|tcp|{host}:{port}|grpc"
        self.health = health_servicer
        self._stopped = threading.Event()

    def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING on every health name; clients drain a NOT_SERVING address."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", HANDSHAKE_HEALTH, *(f"{PACKAGE}.{s}" for s in SERVICES)):
            self.health.set(name, status)

    def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self.health.enter_graceful_shutdown()
            self.server.stop(grace).wait(grace + 1)

    def wait(self) -> None:
        self._stopped.wait()
        self.server.wait_for_termination(SHUTDOWN_GRACE + 1)


def _handler(rpc: Rpc, fn: Callable[..., Any]) -> grpc.RpcMethodHandler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return rpc.answer(fn(*rpc.arguments(request)), request)
        except (ValueError, TypeError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{type(error).__name__}: {error}")
        except Exception as error:
            context.abort(grpc.StatusCode.UNKNOWN, f"{type(error).__name__}: {error}")

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=rpc.request_type.FromString, response_serializer=rpc.reply_type.SerializeToString
    )


def _unary(fn: Callable[[Any], Any], request_type: Any, reply_type: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        lambda request, _context: fn(request),
        request_deserializer=request_type.FromString,
        response_serializer=reply_type.SerializeToString,
    )


def start_grpc(
    functions: Mapping[str, Callable[..., Any]],
    *,
    id: str = "",
    version: str = "0.0.0",
    name: str = "",
    description: str = "",
    address: str | None = None,
    max_workers: int = 8,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> Service:
    """Start serving `functions` in the background and return the Service (for tests and embedding)."""
    unknown = sorted(set(functions) - BY_FUNCTION.keys())
    if unknown:
        raise ValueError(f"not plugin functions of the gRPC runtime: {', '.join(unknown)} (see grpc_wire.ROWS)")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), interceptors=list(interceptors))
    methods: dict[str, dict[str, grpc.RpcMethodHandler]] = {service: {} for service in SERVICES}
    for function, fn in functions.items():
        rpc = BY_FUNCTION[function]
        methods[rpc.service][rpc.method] = _handler(rpc, fn)
    service_box: list[Service] = []
    lifecycle = methods["PluginService"]
    lifecycle.setdefault("Start", _unary(lambda r: Empty(), Empty, Empty))
    lifecycle.setdefault("Stop", _unary(lambda r: Empty(), Empty, Empty))
    lifecycle.setdefault(
        "Initialize", _unary(lambda r: pb.InitializeResponse(success=True), pb.InitializeRequest, pb.InitializeResponse)
    )
    lifecycle.setdefault(
        "HealthCheck", _unary(lambda r: pb.HealthResponse(status=pb.HealthResponse.SERVING), Empty, pb.HealthResponse)
    )
    info = pb.PluginInfo(
        id=id, name=name or id, version=version, description=description, capabilities=sorted(functions)
    )
    lifecycle["GetInfo"] = _unary(lambda r: info, Empty, pb.PluginInfo)
    lifecycle["GetCapabilities"] = _unary(
        lambda r: pb.CapabilitiesResponse(capabilities=sorted(functions)), Empty, pb.CapabilitiesResponse
    )
    lifecycle["Shutdown"] = _unary(lambda r: _stop_soon(service_box), Empty, Empty)
    handlers = [grpc.method_handlers_generic_handler(f"{PACKAGE}.{s}", m) for s, m in methods.items() if m]
    handlers.append(
        grpc.method_handlers_generic_handler(
            "plugin.GRPCController", {"Shutdown": _unary(lambda r: _stop_soon(service_box), Empty, Empty)}
        )
    )
    server.add_generic_rpc_handlers(handlers)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    served = [f"{PACKAGE}.{s}" for s, m in methods.items() if m]
    reflection.enable_server_reflection([*served, "grpc.health.v1.Health", reflection.SERVICE_NAME], server)
    address = address or os.environ.get("FOXPLUG_GRPC_ADDRESS") or "127.0.0.1:0"
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    host = address.rsplit(":", 1)[0].strip("[]")
    service = Service(server, port, "127.0.0.1" if host in ("", "0.0.0.0", "localhost") else host, health_servicer)
    service_box.append(service)
    service.set_serving(True)
    return service


def _stop_soon(box: list[Service]) -> Empty:
    threading.Thread(target=box[0].stop, daemon=True).start()  # after this answer is sent
    return Empty()


def serve_grpc(functions: Mapping[str, Callable[..., Any]], **options: Any) -> None:
    """Serve until shut down: print the handshake line, route stdout to stderr, stop on Shutdown/SIGTERM/stdin EOF."""
    service = start_grpc(functions, **options)
    sys.stdout.write(service.handshake + "\n")
    sys.stdout.flush()
    os.dup2(2, 1)  # from now on stdout (print, C libraries) is the log, like stderr
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=service.stop, daemon=True).start())

    def watch_stdin() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        service.stop()

    if not os.isatty(0):
        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    service.wait()


__all__ = ["Service", "serve_grpc", "start_grpc"]
