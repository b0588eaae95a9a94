"""Calls from foxplug into a plugin service: one plugin function = one RPC (script_api/grpc_wire.py), with the
caller's deadline on the call and gRPC's status turned into foxplug's errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from grpc_health.v1 import health_pb2

from engine.errors import FoxplugError, PluginCrashed, PluginError
from engine.runtimes.base import HostLink
from script_api.capabilities import REQUIRED
from script_api.grpc_wire import BY_FUNCTION, LIFECYCLE, Rpc
from script_api.protos.musicfox import plugin_pb2 as pb

log = logging.getLogger(__name__)

_HEALTH = "/grpc.health.v1.Health/Check"
_CAPABILITIES = "/musicfox.plugin.PluginService/GetCapabilities"


def exports_for(capabilities: Iterable[str]) -> frozenset[str]:
    """The functions a service offers, from capability names (`provides`, or what GetCapabilities lists).

    A name is one of foxplug's capabilities (`search`, `lyrics`, `ui.menu`...) or a function's own name
    (`get_song_detail`), so services from the seed's proto and from foxplug's SDK both work.
    """
    names: set[str] = set(LIFECYCLE)
    for capability in capabilities:
        names.update(REQUIRED.get(capability, ()))
        names.add(capability)
    return frozenset(names & BY_FUNCTION.keys())


class ServiceClient:
    """The plugin's functions over one channel; used on the plugin's actor thread."""

    def __init__(self, link: HostLink, channel: grpc.Channel, where: str) -> None:
        self.link = link
        self.channel = channel
        self.where = where
        """How the service was reached, for messages: its target, or `launched, pid N at 127.0.0.1:P`."""
        self._calls: dict[str, Callable[..., Any]] = {}
        self._health = channel.unary_unary(
            _HEALTH,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    def _stub(self, rpc: Rpc) -> Callable[..., Any]:
        stub = self._calls.get(rpc.function)
        if stub is None:
            stub = self._calls[rpc.function] = self.channel.unary_unary(
                rpc.path,
                request_serializer=rpc.request_type.SerializeToString,
                response_deserializer=rpc.reply_type.FromString,
            )
        return stub

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        rpc = BY_FUNCTION.get(name)
        if rpc is None:
            raise self.link.missing(name)
        ctx = self.link.ctx
        if name == "init":
            args = (args[0] if args else {}, ctx.plugin_id, ctx.version)
        try:
            request = rpc.request(*args)
        except (TypeError, ValueError, AttributeError) as error:
            raise PluginError(
                f"{name}() got arguments the {rpc.method} request cannot carry: {error}", plugin=ctx.plugin_id
            ) from None
        left = deadline - time.monotonic()
        if left <= 0:
            raise self.link.timeout(name)
        try:
            reply = self._stub(rpc)(request, timeout=left, metadata=(("x-foxplug-plugin", ctx.plugin_id),))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED and name in LIFECYCLE:
                return None  # a service need not implement PluginService
            raise self.failure(name, error) from None
        return rpc.reply(reply)

    def failure(self, name: str, error: grpc.RpcError) -> FoxplugError:
        """A gRPC status as foxplug's error for the call `name`."""
        code, details = error.code(), error.details() or ""
        ctx = self.link.ctx
        label = f"plugin `{ctx.plugin_id}` ({self.where})"
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return self.link.timeout(name)
        if code == grpc.StatusCode.UNAVAILABLE:
            return PluginCrashed(
                f"{label} is unreachable in {name}(): {details}",
                plugin=ctx.plugin_id,
                hint="is the service running and serving grpc.health.v1? calls resume when an address is SERVING",
            )
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return self.link.out_of_memory(name, f"message limit ({details})")
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return self.link.missing(name)
        return PluginError(f"{name}() failed in {label}: {code.name}: {details}", plugin=ctx.plugin_id)

    def health(self, service: str, timeout: float) -> int:
        """grpc.health.v1 status of `service` (1 = SERVING); raises grpc.RpcError."""
        reply = self._health(health_pb2.HealthCheckRequest(service=service), timeout=timeout, wait_for_ready=True)
        return int(reply.status)

    def capabilities(self, deadline: float) -> list[str]:
        """What PluginService.GetCapabilities lists; a service that is down fails this at once (PluginCrashed)."""
        stub = self.channel.unary_unary(
            _CAPABILITIES,
            request_serializer=Empty.SerializeToString,
            response_deserializer=pb.CapabilitiesResponse.FromString,
        )
        try:
            return list(stub(Empty(), timeout=max(0.01, deadline - time.monotonic())).capabilities)
        except grpc.RpcError as error:
            raise self.failure("GetCapabilities", error) from None
