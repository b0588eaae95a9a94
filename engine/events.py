"""The event bus: engine events and `fox.events.emit` delivered to plugins' `on_<event>` handlers and to the
host's listeners (`Engine.on`). Bounded per sender, because an undelivered event holds its payload and
handlers may be slow: an emit loop could otherwise fill the host's memory, however small the plugin's own
memory limit."""

from __future__ import annotations

import inspect
import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from engine.errors import FoxplugError, PluginSuspended, ResourceLimitExceeded
from engine.fanout import ask
from engine.running.plugin import Plugin

log = logging.getLogger(__name__)

MAX_EVENT_PAYLOAD = 64 << 10
MAX_EVENTS_IN_FLIGHT = 256
"""Per plugin: events it emitted that handlers have not finished; with the payload cap, at most 16 MB held."""

Listener = Callable[[dict[str, Any]], Any]


class EventBus:
    """Delivery to plugins is in the background (emit never waits for handlers); listeners are called in place,
    async ones scheduled."""

    def __init__(self, plugins: Callable[[], list[Plugin]], spawn: Callable[[Awaitable[Any]], None]) -> None:
        self._plugins = plugins
        self._spawn = spawn
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on(self, event: str, callback: Listener) -> Callable[[], None]:
        """Subscribe; returns a function that unsubscribes."""
        self._listeners[event].append(callback)
        return lambda: self._listeners[event].remove(callback)

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        """To the host's listeners only (engine events such as `plugin_loaded`, and `notify`)."""
        for callback in list(self._listeners.get(event, ())):
            try:
                result = callback(payload)
                if inspect.isawaitable(result):
                    self._spawn(result)
            except Exception:
                log.exception("listener for %s failed", event)

    def queue(self, later: Callable[..., None], sender: str, event: str, payload: Any) -> None:
        """On the sender's thread (`fox.events.emit`): queue an event onto the loop, within bounds."""
        size = len(json.dumps(payload))
        if size > MAX_EVENT_PAYLOAD:
            raise ResourceLimitExceeded(
                f"plugin `{sender}` emitted `{event}` with a {size}-byte payload; events carry at most "
                f"{MAX_EVENT_PAYLOAD} bytes",
                plugin=sender,
                hint="keep bulk data in fox.storage and send its key",
            )
        with self._lock:
            if self._in_flight[sender] >= MAX_EVENTS_IN_FLIGHT:
                raise ResourceLimitExceeded(
                    f"plugin `{sender}` has {MAX_EVENTS_IN_FLIGHT} events that handlers have not finished",
                    plugin=sender,
                    hint="emit less often, or wait until they catch up",
                )
            self._in_flight[sender] += 1
        later(self.deliver, event, payload, sender)

    def deliver(self, event: str, payload: Any, sender: str | None = None) -> None:
        """On the loop: to every other plugin's `on_<event>` (in the background) and to the listeners."""
        handler = f"on_{event}"
        handlers = [
            plugin
            for plugin in self._plugins()
            if plugin.id != sender and plugin.instance is not None and handler in plugin.instance.exports()
        ]
        self._spawn(self._handle(handlers, handler, payload, sender))
        self.publish(event, {"plugin": sender, "payload": payload} if sender else {"payload": payload})

    async def _handle(self, handlers: list[Plugin], handler: str, payload: Any, sender: str | None) -> None:
        try:
            for reply in await ask(handlers, handler, (payload,)):
                if isinstance(reply.error, PluginSuspended):  # its breaker already said so, once
                    log.debug(
                        "%s.%s skipped: %s", reply.plugin.id, handler, reply.error, extra={"plugin": reply.plugin.id}
                    )
                elif isinstance(reply.error, FoxplugError):
                    log.warning(
                        "%s.%s failed: %s", reply.plugin.id, handler, reply.error, extra={"plugin": reply.plugin.id}
                    )
                elif reply.error is not None:
                    raise reply.error
        finally:
            if sender is not None:
                with self._lock:
                    self._in_flight[sender] -= 1
