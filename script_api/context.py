"""What a host-function implementation sees: the calling plugin, its deadline, and the host's services."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol, TypeVar

from engine.errors import PluginTimeout
from script_api.player import Player

T = TypeVar("T")


class Authorizer(Protocol):
    """The permission gate, seen from script_api (it lives in engine.gate.permissions)."""

    def check(self, ctx: PluginContext, permission: str, scope: Any, call: str) -> None: ...

    def allowed_addresses(
        self, ctx: PluginContext, host: str, addresses: Sequence[IPv4Address | IPv6Address], call: str
    ) -> list[IPv4Address | IPv6Address]:
        """After DNS: which of `host`'s addresses the plugin may connect to (PermissionDenied if none)."""
        ...


class StorageService(Protocol):
    """Per-plugin key-value storage (script_api.host.storage.Storage)."""

    def get(self, plugin_id: str, key: str, default: Any = None) -> Any: ...
    def set(self, plugin_id: str, key: str, value: Any) -> None: ...
    def delete(self, plugin_id: str, key: str) -> bool: ...
    def keys(self, plugin_id: str, prefix: str = "") -> list[str]: ...


class HttpService(Protocol):
    """The gated HTTP client (script_api.host.http.HttpClient)."""

    def fetch(self, ctx: PluginContext, method: str, target: Any, opts: dict[str, Any]) -> Coroutine[Any, Any, Any]: ...


class Callee(Protocol):
    """A loaded plugin as another plugin's thread sees it (engine.running.plugin.Plugin), for fox.plugins.call."""

    def ask(self, method: str, args: tuple[Any, ...], timeout: float) -> Any:
        """Run `method` on this plugin's actor and wait, from another actor's thread, at most `timeout`."""
        ...


class Services(Protocol):
    """What host functions reach through a plugin's context; script_api.host.services.HostServices is the one the
    engine builds. A protocol, so the context sits below the modules that implement the services."""

    loop: asyncio.AbstractEventLoop
    storage: StorageService
    player: Player
    http: HttpService
    tracer_provider: Any
    """An OpenTelemetry TracerProvider while the engine traces, else None."""

    def notify(self, plugin_id: str, text: str, level: str) -> None: ...
    def emit(self, plugin_id: str, event: str, payload: Any) -> None: ...
    def plugins(self, plugin_id: str) -> Callee:
        """The loaded plugin with that id (PluginNotFound if none)."""
        ...

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T: ...


@dataclass
class PluginContext:
    """One per plugin instance; the runtime binding passes it to every host call."""

    plugin_id: str
    version: str
    path: str
    config: dict[str, Any]
    grants: Any
    gate: Authorizer
    services: Services
    deadline: float = math.inf
    budget: float = 0.0
    """Seconds the current call was given (its deadline minus its start, as the caller set it)."""
    host_calls: Counter[str] = field(default_factory=Counter)
    denied: int = 0
    dependencies: frozenset[str] = frozenset()
    """The ids its manifest declares under `dependencies`: the only plugins `fox.plugins.call` reaches."""
    route: Callable[[PluginContext, str, tuple[Any, ...]], Any] | None = None
    """Where this plugin's `fox.*` calls go; None: the engine's one dispatch (the gate). A worker process
    (`isolation: process`) sets a forwarder to its host, where the gate is."""

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"foxplug.plugin.{self.plugin_id}")

    def remaining(self, what: str) -> float:
        """Seconds left before the current call's deadline; raise if none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise PluginTimeout(
                f"plugin `{self.plugin_id}` ran out of time in {what}", plugin=self.plugin_id, file=self.path
            )
        return left

    def authorize(self, permission: str, scope: Any, call: str) -> None:
        self.gate.check(self, permission, scope, call)
