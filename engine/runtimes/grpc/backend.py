"""`runtime: grpc`: a folder plugin whose plugin.yaml names a gRPC service speaking schemas/proto/musicfox.

    target: "dns:///lyrics.plugins.svc:50051"     # a running service: any gRPC target URI
    command: [python, service.py]                  # or one the engine launches (go-plugin handshake)
    grpc: {tls: {ca: ca.pem, cert: c.pem, key: c.key}, lb_policy: round_robin, health_service: ""}

Without `provides`, the service's PluginService.GetCapabilities says what it offers.
"""

from __future__ import annotations

import re
import time
from functools import partial
from typing import Any

import yaml

from engine.errors import ManifestError
from engine.runtimes.base import Backend, HostLink, Instance, Limits, Source
from engine.runtimes.grpc.channel import ChannelSpec, open_channel
from engine.runtimes.grpc.client import ServiceClient, exports_for
from engine.runtimes.grpc.launch import launch
from engine.runtimes.grpc.remote import RemoteService
from engine.runtimes.process.backend import command_of
from engine.runtimes.process.supervisor import HANDSHAKE_TIMEOUT, Supervisor
from script_api.context import PluginContext


def _spec(data: dict[str, Any], limits: Limits, target: str) -> ChannelSpec:
    grpc = data.get("grpc", {})
    return ChannelSpec(
        target=target,
        tls=grpc.get("tls"),
        insecure=bool(grpc.get("insecure", False)),
        lb_policy=grpc.get("lb_policy", "round_robin"),
        health_service=grpc.get("health_service", ""),
        max_message=limits.max_result,
    )


def _interceptor(ctx: PluginContext) -> Any:
    """OpenTelemetry's client interceptor when the engine traces (monitoring.tracing), else None."""
    provider = ctx.services.tracer_provider
    if provider is None:
        return None
    from opentelemetry.instrumentation.grpc import client_interceptor

    return client_interceptor(tracer_provider=provider)


def create(source: Source, ctx: PluginContext, limits: Limits) -> Instance:
    data: dict[str, Any] = yaml.safe_load(source.text)  # plugin.yaml, validated against the schema already
    if "target" in data and "command" in data:
        raise ManifestError(
            "a grpc plugin needs either `target` (a running service) or `command` (one the engine starts), not both",
            file=str(source.path),
            field="target",
        )
    folder = source.path.parent
    link = HostLink(ctx)
    provides = tuple(data["provides"]) if "provides" in data else None
    if "command" in data:
        start = partial(
            launch,
            command_of(source),
            partial(_spec, data, limits),
            folder,
            link,
            limits,
            provides,
            _interceptor(ctx),
        )
        # with `provides` the service starts in the background: loading does not wait ~0.3 s for a Python
        # service, and the first call waits for it within its own deadline; without, starting it tells them
        return Supervisor(link, limits, start, exports=exports_for(provides) if provides is not None else None)
    spec = _spec(data, limits, data["target"])
    client = ServiceClient(link, open_channel(spec, folder, source.path, _interceptor(ctx)), spec.target)
    try:
        names = (
            provides
            if provides is not None
            else client.capabilities(time.monotonic() + min(limits.timeout, HANDSHAKE_TIMEOUT))
        )
    except BaseException:
        client.channel.close()
        raise
    return RemoteService(client, exports_for(names))


BACKEND = Backend(
    name="grpc",
    extensions=(),
    front_matter=re.compile(r"(?!)"),  # always a folder with a plugin.yaml
    create=create,
    manifest_is_source=True,
    needs_one_of=("target", "command"),
    needs_hint='e.g. target: "dns:///lyrics.plugins.svc:50051" (a running service) or command: [python, service.py]',
)
