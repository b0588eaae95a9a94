"""`PerformanceReport`: one plugin's metrics as a person reads them (rates and percentiles, not bucket counts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from engine.monitoring.metrics import MethodStats, PluginMetrics, quantile

if TYPE_CHECKING:
    from engine.running.plugin import Plugin


@dataclass(frozen=True, slots=True)
class MethodReport:
    calls: int
    errors: dict[str, int]
    """Failed calls by error class."""
    in_flight: int
    p50: float | None
    p95: float | None
    p99: float | None
    """Latency percentiles in seconds, estimated from the histogram; None before the first call."""


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Since the engine started (counters survive reloads). `engine.report(id)`, and the admin API's `performance`."""

    plugin: str
    state: str
    calls: int
    errors: int
    error_rate: float
    in_flight: int
    p50: float | None
    p95: float | None
    p99: float | None
    memory: int | None
    """Bytes, as last sampled on the plugin's thread."""
    cpu_seconds: float
    reloads: int
    failed_reloads: int
    last_error: str | None
    methods: dict[str, MethodReport]
    host_calls: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _method_report(stats: MethodStats) -> MethodReport:
    return MethodReport(
        calls=stats.calls,
        errors=dict(stats.errors),
        in_flight=stats.in_flight,
        p50=quantile(stats.buckets, 0.5),
        p95=quantile(stats.buckets, 0.95),
        p99=quantile(stats.buckets, 0.99),
    )


def performance_report(plugin: Plugin) -> PerformanceReport:
    metrics = plugin.metrics or PluginMetrics()
    totals = metrics.totals()
    cpu, host_calls = metrics.usage()
    return PerformanceReport(
        plugin=plugin.id,
        state=plugin.info.state,
        calls=totals.calls,
        errors=totals.errors,
        error_rate=totals.errors / totals.calls if totals.calls else 0.0,
        in_flight=sum(stats.in_flight for stats in metrics.methods.values()),
        p50=quantile(totals.buckets, 0.5),
        p95=quantile(totals.buckets, 0.95),
        p99=quantile(totals.buckets, 0.99),
        memory=plugin.memory,
        cpu_seconds=cpu,
        reloads=metrics.reloads["ok"],
        failed_reloads=metrics.reloads["failed"],
        last_error=plugin.last_error,
        methods={name: _method_report(stats) for name, stats in sorted(metrics.methods.items())},
        host_calls=dict(sorted(host_calls.items())),
    )
