"""The services one engine shares between its plugins: storage, the player, HTTP, notifications and events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.errors import PluginNotFound
from script_api.context import Callee
from script_api.host.http import HttpClient
from script_api.host.storage import Storage
from script_api.player import Player

T = TypeVar("T")


def _not_loaded(plugin_id: str) -> Callee:
    raise PluginNotFound(f"no plugin `{plugin_id}` is loaded", plugin=plugin_id)


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
    tracer_provider: Any = None
    """The engine's OpenTelemetry TracerProvider while `monitoring.tracing` is on: backends whose calls cross
    to another process (gRPC services) carry the trace on."""
    plugins: Callable[[str], Callee] = field(default=lambda plugin_id: _not_loaded(plugin_id))
    """plugins(id) — the loaded plugin `fox.plugins.call` asks (PluginNotFound if none)."""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run async I/O on the engine's loop and wait for it from a plugin thread."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise
