"""Alerts: every `alert_interval`, each plugin's window since the last evaluation against `alert_thresholds`.

Severity is how far past its threshold a value is, as in the seed's PerformanceMonitor: ratio ≥ 2 critical,
≥ 1.5 error, ≥ 1.2 warning, else info. An alert is raised when a value passes its threshold or changes severity,
and resolved once it is back under; it is not repeated every period, so a webhook hears only of changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from engine.config import Monitoring
from engine.monitoring.metrics import Totals, quantile, sample_memory

if TYPE_CHECKING:
    from engine.running.plugin import Plugin

log = logging.getLogger(__name__)

_SEVERITIES = ((2.0, "critical"), (1.5, "error"), (1.2, "warning"))

_DESCRIBE: dict[str, Callable[[float], str]] = {
    "error_rate": lambda v: f"{v:.0%} of calls failing",
    "p95_latency": lambda v: f"p95 latency {v * 1000:.0f} ms",
    "memory": lambda v: f"{v / (1 << 20):.1f} MiB of memory",
    "call_rate": lambda v: f"{v:.1f} calls/s",
}


def severity(value: float, threshold: float) -> str:
    ratio = value / threshold if threshold else float("inf")
    return next((name for floor, name in _SEVERITIES if ratio >= floor), "info")


@dataclass(frozen=True, slots=True)
class Alert:
    """What the `alert` event carries and the webhook receives (as JSON)."""

    plugin: str
    kind: str
    """error_rate, p95_latency, memory or call_rate."""
    status: str
    """firing or resolved."""
    severity: str
    value: float
    threshold: float
    message: str
    time: float
    """Unix seconds."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlertEvaluator:
    def __init__(
        self,
        monitoring: Monitoring,
        plugins: Callable[[], Iterable[Plugin]],
        publish: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self._thresholds = monitoring.alert_thresholds.watched()
        self._interval = monitoring.alert_interval
        self._webhook = monitoring.alert_webhook
        self._plugins = plugins
        self._publish = publish
        self._previous: dict[str, Totals] = {}
        self._firing: dict[tuple[str, str], str] = {}
        self._last = time.monotonic()
        self._session: aiohttp.ClientSession | None = None
        self._posts: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Evaluate every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.evaluate()
            except Exception:
                log.exception("alert evaluation failed")

    async def evaluate(self) -> list[Alert]:
        """Judge the window since the last evaluation; raise what changed."""
        plugins = [p for p in self._plugins() if p.metrics is not None]
        if "memory" in self._thresholds:
            await sample_memory(plugins)
        now = time.monotonic()
        elapsed, self._last = max(now - self._last, 1e-9), now
        alerts: list[Alert] = []
        for plugin in plugins:
            values = self._window(plugin, elapsed)
            for kind, threshold in self._thresholds.items():
                value = values[kind]
                if value is not None and (alert := self._judge(plugin.id, kind, value, threshold)) is not None:
                    alerts.append(alert)
        present = {p.id for p in plugins}
        self._previous = {pid: totals for pid, totals in self._previous.items() if pid in present}
        self._firing = {key: level for key, level in self._firing.items() if key[0] in present}
        for alert in alerts:
            self._raise(alert)
        return alerts

    def _window(self, plugin: Plugin, elapsed: float) -> dict[str, float | None]:
        """The window's figures; error rate and latency are unknown (None) in a window without calls, so a
        plugin called now and then neither fires nor resolves on the silence in between."""
        assert plugin.metrics is not None
        totals = plugin.metrics.totals()
        previous = self._previous.get(plugin.id)
        if previous is None or totals.calls < previous.calls:  # new, or unloaded and loaded again
            previous = Totals()
        self._previous[plugin.id] = totals
        window = totals.since(previous)
        return {
            "error_rate": window.errors / window.calls if window.calls else None,
            "p95_latency": quantile(window.buckets, 0.95),
            "memory": float(plugin.memory or 0),
            "call_rate": window.calls / elapsed,
        }

    def _judge(self, plugin_id: str, kind: str, value: float, threshold: float) -> Alert | None:
        key, was = (plugin_id, kind), self._firing.get((plugin_id, kind))
        describe = _DESCRIBE[kind]
        if value > threshold:
            level = severity(value, threshold)
            if level == was:
                return None
            self._firing[key] = level
            message = f"plugin `{plugin_id}`: {describe(value)}, over its threshold of {describe(threshold)}"
            return Alert(plugin_id, kind, "firing", level, value, threshold, message, time.time())
        if was is None:
            return None
        del self._firing[key]
        message = f"plugin `{plugin_id}`: {describe(value)}, back under its threshold of {describe(threshold)}"
        return Alert(plugin_id, kind, "resolved", was, value, threshold, message, time.time())

    def _raise(self, alert: Alert) -> None:
        level = logging.INFO if alert.status == "resolved" else logging.WARNING
        log.log(level, "alert %s: %s", alert.severity, alert.message, extra={"plugin": alert.plugin})
        self._publish("alert", alert.to_dict())
        if self._webhook:
            task = asyncio.ensure_future(self._post(self._webhook, alert))
            self._posts.add(task)
            task.add_done_callback(self._posts.discard)

    async def _post(self, url: str, alert: Alert) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._session.post(url, json=alert.to_dict()) as response:
                if response.status >= 300:
                    log.warning("alert webhook %s answered %s", url, response.status, extra={"plugin": alert.plugin})
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning(
                "alert webhook %s failed: %s", url, error or type(error).__name__, extra={"plugin": alert.plugin}
            )

    async def close(self) -> None:
        """Give pending webhook posts their chance (they time out on their own), then close the HTTP session."""
        if self._posts:
            await asyncio.wait(self._posts, timeout=5)
        if self._session is not None:
            await self._session.close()
