"""The states a plugin is in, one set for the plugin, its breaker, the engine and the metrics."""

from __future__ import annotations

from enum import StrEnum


class PluginState(StrEnum):
    """A `str`, so it compares, prints and serialises as its name (`"running"`)."""

    LOADING = "loading"
    RUNNING = "running"
    SUSPENDED = "suspended"
    """Running, but its breaker refuses calls for now (open or half-open)."""
    TRIPPED = "tripped"
    """Running, but its breaker gave up on it until it is reloaded."""
    STOPPED = "stopped"
    DISABLED = "disabled"
    FAILED = "failed"


IDLE = frozenset({PluginState.STOPPED, PluginState.DISABLED})
"""States with no running actor: calls fail at once instead of at the deadline."""
