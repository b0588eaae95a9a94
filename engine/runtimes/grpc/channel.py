"""A gRPC channel to a plugin service, set up the way every plugin service needs it.

- Deadlines go on each call, never in the service config: grpcio 1.85 fails every call at once when a
  `methodConfig.timeout` is under 2 s (grpc#34547, grpc#40633).
- `round_robin` over every address the target resolves to, with client-side health checking
  (`grpc.health.v1.Health/Watch`), so an address reporting NOT_SERVING is drained.
- Transient failures (UNAVAILABLE) are retried by gRPC's own retry policy, inside the call's deadline.
- TLS unless every address is loopback or a unix socket; keepalive; message-size caps at the plugin's result limit.
- Naming is the standard one (`dns:`, `ipv4:`, `unix:`): Python gRPC cannot take a custom resolver (grpc#11685),
  and DNS is how Kubernetes headless Services and Consul present replicas.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from engine.errors import ManifestError

log = logging.getLogger(__name__)

RETRY_ATTEMPTS = 4
KEEPALIVE_MS = 30_000
KEEPALIVE_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class ChannelSpec:
    """What a plugin.yaml says about reaching its service (`target`, `grpc:`)."""

    target: str
    tls: dict[str, Any] | bool | None = None
    insecure: bool = False
    lb_policy: str = "round_robin"
    health_service: str = ""
    max_message: int = 4 << 20


def _hosts(target: str) -> list[str] | None:
    """The hosts a target names (None: a unix socket, which is always local)."""
    scheme, _, rest = target.partition(":")
    if scheme in ("unix", "unix-abstract"):
        return None
    if scheme in ("ipv4", "ipv6"):
        return [_host_of(address) for address in rest.split(",")]
    if scheme == "dns":
        path = urlsplit(target).path.lstrip("/") if rest.startswith("//") else rest
        return [_host_of(path)]
    return [_host_of(target)]


def _host_of(address: str) -> str:
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def is_local(target: str) -> bool:
    """Every address of the target is a unix socket or loopback, so nothing leaves this machine."""
    hosts = _hosts(target)
    if hosts is None:
        return True
    for host in hosts:
        if host == "localhost":
            continue
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:
            return False
    return True


def service_config(spec: ChannelSpec) -> str:
    """Balancing, health checking and retries; no `timeout` (see the module docstring)."""
    return json.dumps(
        {
            "loadBalancingConfig": [{spec.lb_policy: {}}],
            "healthCheckConfig": {"serviceName": spec.health_service},
            "methodConfig": [
                {
                    "name": [{}],
                    "retryPolicy": {
                        "maxAttempts": RETRY_ATTEMPTS,
                        "initialBackoff": "0.01s",
                        "maxBackoff": "0.2s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


def options(spec: ChannelSpec) -> list[tuple[str, Any]]:
    return [
        ("grpc.service_config", service_config(spec)),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.max_receive_message_length", spec.max_message),
        ("grpc.max_send_message_length", spec.max_message),
        ("grpc.enable_http_proxy", 0),  # plugin traffic goes where the target says, not through a proxy
        ("grpc.service_config_disable_resolution", 1),  # this config, never one from a DNS TXT record
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 5_000),
    ]


def _credentials(tls: dict[str, Any] | bool, folder: Path, manifest: Path) -> grpc.ChannelCredentials:
    """TLS from PEM files named relative to the plugin's folder; `tls: true` trusts the system's roots."""
    if tls is True:
        return grpc.ssl_channel_credentials()
    assert isinstance(tls, dict)

    def read(key: str) -> bytes | None:
        if not tls.get(key):
            return None
        path = (folder / tls[key]).resolve()
        try:
            return path.read_bytes()
        except OSError as error:
            raise ManifestError(
                f"cannot read {path}: {error.strerror or error}", file=str(manifest), field=f"grpc.tls.{key}"
            ) from None

    if bool(tls.get("cert")) != bool(tls.get("key")):
        raise ManifestError("a client certificate needs both `cert` and `key`", file=str(manifest), field="grpc.tls")
    return grpc.ssl_channel_credentials(
        root_certificates=read("ca"), private_key=read("key"), certificate_chain=read("cert")
    )


def open_channel(spec: ChannelSpec, folder: Path, manifest: Path, interceptor: Any = None) -> grpc.Channel:
    """A channel to the spec's target; TLS is required unless the target is local or `insecure` is set."""
    opts = options(spec)
    if spec.tls:
        if isinstance(spec.tls, dict) and spec.tls.get("server_name"):
            opts.append(("grpc.ssl_target_name_override", spec.tls["server_name"]))
        channel = grpc.secure_channel(spec.target, _credentials(spec.tls, folder, manifest), opts)
    elif is_local(spec.target) or spec.insecure:
        if not is_local(spec.target):
            log.warning("plugin service %s is reached without TLS (grpc.insecure: true in %s)", spec.target, manifest)
        channel = grpc.insecure_channel(spec.target, opts)
    else:
        raise ManifestError(
            f"target {spec.target!r} is not on this machine, so it needs TLS",
            file=str(manifest),
            field="grpc.tls",
            hint="set grpc.tls: {ca: ca.pem} (and cert/key for mutual TLS), or grpc.insecure: true when a service "
            "mesh already encrypts the traffic",
        )
    if interceptor is not None:
        from opentelemetry.instrumentation.grpc import grpcext  # not grpc.intercept_channel: its interceptor API

        channel = grpcext.intercept_channel(channel, interceptor)
    return channel
