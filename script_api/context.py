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
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from engine.errors import PluginTimeout

if TYPE_CHECKING:
    from script_api.host.http import HttpClient
    from script_api.host.storage import Storage
    from script_api.player import Player

T = TypeVar("T")


class Authorizer(Protocol):
    """The permission gate, seen from script_api (it lives in engine.permissions)."""

    def check(self, ctx: PluginContext, permission: str, scope: Any, call: str) -> None: ...

    def allowed_addresses(
        self, ctx: PluginContext, host: str, addresses: Sequence[IPv4Address | IPv6Address], call: str
    ) -> list[IPv4Address | IPv6Address]:
        """After DNS: which of `host`'s addresses the plugin may connect to (PermissionDenied if none)."""
        ...


@dataclass
class HostServices:
    """Shared by every plugin of one engine; each method is safe to call from plugin threads."""

    loop: asyncio.AbstractEventLoop
    storage: Storage
    player: Player
    http: HttpClient
    notify: Callable[[str, str, str], None]
    """notify(plugin_id, text, level) — reaches the embedding host's `notify` listeners."""
    emit: Callable[[str, str, Any], None]
    """emit(plugin_id, event, payload) — delivered to other plugins' `on_<event>` and host listeners."""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run async I/O on the engine's loop and wait for it from a plugin thread."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise


@dataclass
class PluginContext:
    """One per plugin instance; the runtime binding passes it to every host call."""

    plugin_id: str
    version: str
    path: str
    config: dict[str, Any]
    grants: Any
    gate: Authorizer
    services: HostServices
    deadline: float = math.inf
    budget: float = 0.0
    """Seconds the current call was given (its deadline minus its start, as the caller set it)."""
    host_calls: Counter[str] = field(default_factory=Counter)
    denied: int = 0

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
