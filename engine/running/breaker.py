"""The circuit breaker: a plugin that keeps failing is suspended for a cooldown, retried once, then disabled.

closed ─(N consecutive failures)→ open ─(cooldown)→ half_open ─(trial ok)→ closed
                                   ↑                     │
                                   └──(trial fails)──────┘     the `max_trips`-th trip → tripped (until reload)

Only the plugin's own failures count: timeouts, resource limits, crashes and script errors. A refused
permission or a call to a function the plugin does not have is the caller's or the policy's business, costs the
host nothing, and is neither a failure nor a success. A reload builds a new Plugin and so a fresh breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.config import BreakerSettings
from engine.errors import (
    FoxplugError,
    PluginCrashed,
    PluginError,
    PluginSuspended,
    PluginTimeout,
    ResourceLimitExceeded,
)
from engine.running.state import PluginState

log = logging.getLogger(__name__)

COUNTED = (PluginTimeout, ResourceLimitExceeded, PluginCrashed, PluginError)
"""Errors that are the plugin's fault and cost the host time or memory."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A call let through: which breaker state it was admitted in, and whether it is the half-open trial."""

    generation: int
    trial: bool


PLUGIN_STATES = {"open": PluginState.SUSPENDED, "half_open": PluginState.SUSPENDED, "tripped": PluginState.TRIPPED}
"""What PluginInfo.state says of a running plugin whose breaker is not closed."""

Listener = Callable[[str, dict[str, Any]], None]
"""listener(event, payload): `plugin_suspended`, `plugin_resumed` or `plugin_disabled`."""


class Breaker:
    """One per loaded plugin version; used only from the engine's event loop, so it needs no lock."""

    def __init__(self, plugin: str, settings: BreakerSettings) -> None:
        self.plugin = plugin
        self.settings = settings
        self.listener: Listener | None = None
        self._state = "closed"
        self._failures = 0
        self._trips = 0
        self._reason: str | None = None
        self._resume_at = 0.0  # time.monotonic() when an open breaker lets a trial through
        self._until = 0.0  # the same moment on the wall clock, for people
        self._trial = False
        self._generation = 0  # bumped on every transition: late outcomes of older calls change nothing
        self._admitted = Ticket(0, trial=False)
        """The ticket of every call let through while closed, made once per generation."""

    @property
    def state(self) -> str:
        """closed, open, half_open or tripped."""
        if self._state == "open" and time.monotonic() >= self._resume_at:
            return "half_open"
        return self._state

    def admit(self, method: str) -> Ticket:
        """Let a call through, or raise PluginSuspended at once."""
        if self._state == "closed":
            if self._admitted.generation != self._generation:
                self._admitted = Ticket(self._generation, trial=False)
            return self._admitted
        state = self.state
        if state == "half_open" and not self._trial:
            self._state, self._trial = "half_open", True
            return Ticket(self._generation, trial=True)
        raise self._refusal(state, method)

    def record(self, ticket: Ticket, future: asyncio.Future[Any]) -> None:
        """The outcome of an admitted call (a done-callback on its future)."""
        if ticket.generation != self._generation:
            return
        if ticket.trial:
            self._trial = False
        if future.cancelled():  # the caller gave up; the call says nothing about the plugin
            return
        error = future.exception()
        if error is None:
            self._succeeded(ticket)
        elif isinstance(error, COUNTED) or not isinstance(error, FoxplugError | asyncio.CancelledError):
            self._failed(error)

    def snapshot(self) -> dict[str, Any]:
        """For PluginInfo.breaker and the events."""
        state = self.state
        return {
            "state": state,
            "failures": self._failures,
            "trips": self._trips,
            "until": _wall(self._until) if state == "open" else None,
            "reason": self._reason,
        }

    def _succeeded(self, ticket: Ticket) -> None:
        self._failures = 0
        if ticket.trial:
            self._state, self._reason = "closed", None
            self._generation += 1
            log.info("plugin %s resumed: its trial call succeeded", self.plugin, extra={"plugin": self.plugin})
            self._emit("plugin_resumed")

    def _failed(self, error: BaseException) -> None:
        self._failures += 1
        if self._state == "closed" and self._failures < self.settings.failures:
            return
        self._trips += 1
        self._generation += 1
        self._reason = _short(f"{type(error).__name__}: {error}")
        if self._trips >= self.settings.max_trips:
            self._state = "tripped"
            log.error(
                "plugin %s disabled until reloaded: %d trips, last %s",
                self.plugin,
                self._trips,
                self._reason,
                extra={"plugin": self.plugin},
            )
            self._emit("plugin_disabled")
            return
        self._state = "open"
        self._resume_at = time.monotonic() + self.settings.cooldown
        self._until = time.time() + self.settings.cooldown
        log.warning(
            "plugin %s suspended for %g s: %s",
            self.plugin,
            self.settings.cooldown,
            self._reason,
            extra={"plugin": self.plugin},
        )
        self._emit("plugin_suspended")

    def _emit(self, event: str) -> None:
        if self.listener is not None:
            self.listener(event, {"id": self.plugin, **self.snapshot()})

    def _refusal(self, state: str, method: str) -> PluginSuspended:
        who = f"plugin `{self.plugin}` refused {method}():"
        if state == "tripped":
            return PluginSuspended(
                f"{who} it is disabled until it is reloaded, after its circuit breaker tripped {self._trips} "
                f"times; the last failure: {self._reason}",
                plugin=self.plugin,
                hint="fix the plugin and save it (hot reload) or reload it; see security.breaker in the config",
            )
        if state == "half_open":
            return PluginSuspended(
                f"{who} it is suspended while one trial call runs after its cooldown; the last failure: {self._reason}",
                plugin=self.plugin,
                hint="calls are let through again once the trial call succeeds",
            )
        left = max(0.0, self._resume_at - time.monotonic())
        return PluginSuspended(
            f"{who} it is suspended until {_wall(self._until, clock=True)} ({left:.1f} s from now) after "
            f"{self._failures} consecutive failures; the last: {self._reason}",
            plugin=self.plugin,
            hint="it is retried by itself after the cooldown (security.breaker.cooldown); reloading it clears this now",
        )


def _wall(epoch: float, *, clock: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch).astimezone()
    return moment.strftime("%H:%M:%S") if clock else moment.isoformat(timespec="seconds")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
