"""A running plugin: its manifest, its actor, its runtime instance, and calls into it within its limits."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, NoReturn, Protocol

from engine.config import BreakerSettings
from engine.errors import FoxplugError, PluginCrashed, PluginError, PluginTimeout, ResourceLimitExceeded
from engine.running.actor import Actor, Pending, WouldDeadlock
from engine.running.breaker import PLUGIN_STATES, Breaker, Ticket
from engine.running.state import IDLE, PluginState
from engine.running.stuck import StuckCalls, stuck_calls
from engine.running.version import Choice, PluginVersion, Skip
from engine.runtimes.base import Instance, Limits, run_start_hooks
from script_api.context import PluginContext

log = logging.getLogger(__name__)

STUCK_GRACE = 1.0
"""Past deadline + this, the caller gets PluginTimeout even if the runtime is stuck in native code."""

_IDLE_HINTS = {
    PluginState.DISABLED: "enable it (POST /api/v1/plugins/{id}/enable) or set plugin_configs.{id}.enabled: true "
    "in the config",
    PluginState.STOPPED: "start it (POST /api/v1/plugins/{id}/start)",
}
"""What brings a plugin in an IDLE state back."""


class CallTimer(Protocol):
    def end(self, started: float, failure: str | None) -> None:
        """The call that `begin` announced is over (`failure`: its error class name, or None)."""


class CallRecorder(Protocol):
    """Where a plugin records its calls (monitoring's per-plugin metrics implement it)."""

    def begin(self, method: str) -> CallTimer: ...

    def track(self, actor: Actor, host_calls: Counter[str]) -> None:
        """A version's actor thread and host-call counter, read for CPU time and host-API calls."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What the host (and `foxplug list --json`) sees of a plugin."""

    id: str
    version: str
    runtime: str
    state: PluginState
    provides: tuple[str, ...]
    permissions: dict[str, Any]
    path: str
    name: str
    description: str
    priority: int
    exports: tuple[str, ...]
    memory: int | None
    calls: int
    errors: int
    last_error: str | None
    breaker: dict[str, Any]
    """Circuit breaker: state (closed, open, half_open, tripped), failures, trips, until, reason."""
    implementation: str | None = None
    """The implementation that runs (`native`, `wasm`, `lua`...); None until it started."""
    skipped: tuple[Skip, ...] = ()
    """Every other candidate implementation and why it was not used."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["provides"], data["exports"] = list(self.provides), list(self.exports)
        data["skipped"] = [skip.to_dict() for skip in self.skipped]
        return data


class Call(Pending[Any]):
    """One call into a plugin, as the asyncio side holds it: a future that does the call's bookkeeping where its
    outcome is delivered (breaker, stats, metrics, the stuck-call watch), with no coroutine or Task of its own.

    `await` waits on it as on any future and `asyncio.gather` takes it as it is (a coroutine there costs a Task
    per call). It also has a coroutine's `send`/`throw`/`close`, so `asyncio.create_task` and
    `run_coroutine_threadsafe` accept it: a Task drives it by `send(None)`, which yields it until it is done.
    """

    give_up_at = float("inf")
    """Past deadline + grace the caller gets PluginTimeout even if the runtime is stuck in native code."""
    span: Any = None
    """The call's tracing span while `monitoring.tracing` is on; it ends with the call."""

    def begin(self, plugin: Plugin, method: str, ticket: Ticket, timeout: float, grace: float) -> float:
        """The call is let through: remember what its outcome must be recorded against; returns its start."""
        self._plugin, self._method, self._ticket, self._timeout = plugin, method, ticket, timeout
        self._timer: CallTimer | None = plugin.metrics.begin(method) if plugin.metrics is not None else None
        self._started = started = time.monotonic()
        self.give_up_at = started + timeout + grace
        plugin.stats["calls"] += 1
        plugin.sweeper.watch(self)
        return started

    def finish(self, ok: bool, value: Any) -> None:
        """On the loop, from the actor: the runtime's answer (ignored when the call was abandoned or cancelled)."""
        if not self.done():
            super().finish(ok, value)
            self._record()

    def cancel(self, msg: Any = None) -> bool:
        cancelled = super().cancel(msg)
        if cancelled and hasattr(self, "_plugin"):
            self._record()
        return cancelled

    def abandon(self) -> None:
        """From the stuck-call sweeper: the runtime is stuck in native code past the deadline and its grace."""
        if not self.done():
            plugin = self._plugin
            self.set_exception(
                PluginTimeout(
                    f"plugin `{plugin.id}` ({plugin.manifest.path}) did not return from {self._method}() within "
                    f"its {self._timeout:g} s deadline; its runtime is stuck in native code",
                    plugin=plugin.id,
                    hint="use `isolation: process` for plugins that can stall inside one native call",
                )
            )
            self._record()

    def _record(self) -> None:
        plugin = self._plugin
        plugin.sweeper.forget(self)
        plugin.breaker.record(self._ticket, self)
        failure = None
        if self.cancelled():
            failure = "CancelledError"
        elif (error := self.exception()) is not None:
            failure = type(error).__name__
            if isinstance(error, FoxplugError):
                plugin.stats["errors"] += 1
                plugin.last_error = str(error)
        if self._timer is not None:
            self._timer.end(self._started, failure)
        if self.span is not None:
            if failure is not None and not self.cancelled():
                self.span.record_exception(self.exception())
            self.span.end()

    # A coroutine's face, for asyncio.create_task and run_coroutine_threadsafe.
    def send(self, value: Any) -> Any:
        if not self.done():
            self._asyncio_future_blocking = True
            return self
        raise StopIteration(self.result())

    def throw(self, error: Any, *rest: Any) -> NoReturn:
        exc = error if isinstance(error, BaseException) else error(*rest[:1])
        if isinstance(exc, asyncio.CancelledError):  # the Task driving it was cancelled before it ran
            self.cancel()
        raise exc

    def close(self) -> None:
        """Nothing to release: the call runs on its actor either way."""


class Plugin:
    """One version of a plugin on its actor; the pipeline (engine.loading.pipeline) builds it and `starts` it."""

    def __init__(
        self,
        version: PluginVersion,
        ctx: PluginContext,
        limits: Limits,
        priority: int,
        actor: Actor,
        metrics: CallRecorder | None = None,
        breaker: BreakerSettings | None = None,
    ) -> None:
        self.version = version
        self.manifest, self.source, self.digest = version.manifest, version.source, version.digest
        self.ctx = ctx
        self.limits = limits
        self.priority = priority
        self.actor = actor
        self.instance: Instance | None = None
        self.provides: tuple[str, ...] = ()
        self.choice: Choice | None = None
        """Which implementation runs and why the others do not (set once it started)."""
        self.state = PluginState.LOADING
        self.stats: Counter[str] = Counter()
        self.last_error: str | None = None
        self.memory: int | None = None
        """Bytes the runtime last reported; sampled on its own thread (`measure`), never read across threads."""
        self.metrics = metrics
        """Shared with the other versions of this plugin id; None when monitoring is off."""
        self.breaker = Breaker(self.manifest.id, breaker or BreakerSettings())
        provider = ctx.services.tracer_provider
        self.tracer = provider.get_tracer("foxplug") if provider is not None else None
        """Set while `monitoring.tracing` is on: every call is a span, and the actor runs it inside that span."""
        self._loop = asyncio.get_running_loop()
        self._sweeper: StuckCalls | None = None
        if metrics is not None:
            metrics.track(actor, ctx.host_calls)

    @property
    def id(self) -> str:
        return self.manifest.id

    def started(self, instance: Instance, provides: tuple[str, ...], choice: Choice) -> None:
        """On the actor thread: the pipeline created `instance` and ran its start hooks."""
        self.instance, self.provides, self.choice = instance, provides, choice
        self.actor.reentrant = getattr(instance, "reentrant", False)
        self.state = PluginState.RUNNING
        self.memory = instance.memory_used()

    async def measure(self) -> int | None:
        """Sample the runtime's memory on its actor thread."""
        if self.instance is not None:
            self.memory = await self.actor.run(lambda: self.instance.memory_used() if self.instance else None)
        return self.memory

    def _invoke(self, method: str, args: tuple[Any, ...], deadline: float, budget: float) -> Any:
        instance = self.instance
        if instance is None:
            raise PluginCrashed(f"plugin `{self.id}` is not running ({self.state}): {self.last_error}", plugin=self.id)
        self.ctx.budget = budget  # what a timeout message quotes, however long the call waited in the mailbox
        try:
            return instance.call(method, args, deadline)
        except (PluginTimeout, ResourceLimitExceeded):
            # A process plugin's supervisor starts a new one; a call answered while another of this plugin's
            # calls waits in fox.plugins.call leaves the runtime to that call, which is still on its stack.
            if not getattr(instance, "restarts_itself", False) and not self.actor.waiting:
                self._replace(instance)
            raise

    def ask(self, method: str, args: tuple[Any, ...], timeout: float) -> Any:
        """From another plugin's thread (`fox.plugins.call`): run `method` on this plugin's actor within its own
        limits and at most `timeout` (what the caller has left); TimeoutError if no answer came by then."""
        if self.state != PluginState.RUNNING:
            hint = _IDLE_HINTS.get(self.state, "").format(id=self.id) or None
            raise PluginError(f"plugin `{self.id}` is {self.state}", plugin=self.id, hint=hint)
        self.stats["calls"] += 1
        try:
            return self.actor.ask(self._answer, (method, args, time.monotonic() + timeout), timeout)
        except WouldDeadlock:
            raise PluginError(
                f"plugin `{self.id}` is waiting in fox.plugins.call for its caller, and its runtime cannot take "
                f"{method}() meanwhile",
                plugin=self.id,
                hint="break the cycle of calls, or run both plugins in a runtime that can (lua, js, python)",
            ) from None
        except FoxplugError as error:
            self.stats["errors"] += 1
            self.last_error = str(error)
            raise

    def _answer(self, method: str, args: tuple[Any, ...], caller_deadline: float) -> Any:
        """On this plugin's thread, maybe while one of its own calls waits in fox.plugins.call: that call's
        deadline is put back afterwards."""
        ctx = self.ctx
        outer = ctx.deadline, ctx.budget
        started = time.monotonic()
        deadline = min(caller_deadline, started + self.limits.timeout)
        try:
            return self._invoke(method, args, deadline, deadline - started)
        finally:
            ctx.deadline, ctx.budget = outer

    def _replace(self, instance: Instance) -> None:
        """A runaway call may leave the runtime in any state: continue with a fresh instance."""
        instance.close()
        self.instance = None
        assert self.choice is not None
        try:
            fresh = self.choice.create(self.choice.source, self.ctx, self.limits)
            try:
                run_start_hooks(fresh.exports(), fresh.call, self.ctx.config, self.limits.timeout)
            except BaseException:
                fresh.close()
                raise
            self.started(fresh, self.provides, self.choice)
        except FoxplugError as error:
            self.state, self.last_error = PluginState.FAILED, str(error)
            log.error("plugin %s could not restart: %s", self.id, error, extra={"plugin": self.id})

    @property
    def sweeper(self) -> StuckCalls:
        if self._sweeper is None:
            self._sweeper = stuck_calls(asyncio.get_running_loop())
        return self._sweeper

    def call(self, method: str, args: tuple[Any, ...], timeout: float | None = None) -> Call:
        """Queue a call on the plugin's actor; await the returned Call (or gather it, or make it a Task)."""
        call = Call(loop=self._loop)
        if self.state in IDLE:  # it has no running actor to ask: fail now rather than at the deadline
            call.set_exception(
                PluginError(
                    f"plugin `{self.id}` is {self.state}",
                    plugin=self.id,
                    hint=_IDLE_HINTS[self.state].format(id=self.id),
                )
            )
            return call
        try:
            ticket = self.breaker.admit(method)  # PluginSuspended, at once, while the breaker is open
        except FoxplugError as refusal:
            call.set_exception(refusal)
            return call
        timeout = self.limits.timeout if timeout is None else timeout
        invoke = self._invoke
        if self.tracer is not None:
            attributes = {
                "foxplug.plugin": self.id,
                "foxplug.function": method,
                "foxplug.runtime": self.manifest.runtime,
            }
            name = f"foxplug.call {self.id}.{method}"
            with self.tracer.start_as_current_span(name, attributes=attributes, end_on_exit=False) as call.span:
                # the actor's thread runs the call in this context, so a backend crossing to another process
                # (the gRPC client interceptor) continues this trace; the span ends when the call does
                invoke = partial(contextvars.copy_context().run, self._invoke)
        started = call.begin(self, method, ticket, timeout, STUCK_GRACE)
        self.actor.submit(call, invoke, method, args, started + timeout, timeout)
        return call

    async def close(self) -> None:
        """Run `stop()` if it exists, free the runtime and end the actor's thread."""
        if self.instance is not None and "stop" in self.instance.exports():
            try:
                await self.call("stop", ())
            except FoxplugError as error:
                log.warning("plugin %s failed in stop(): %s", self.id, error, extra={"plugin": self.id})
        self.state = PluginState.STOPPED
        if self.actor.alive:
            self.actor.run(self._close_instance)
            await asyncio.get_running_loop().run_in_executor(None, self.actor.stop)
        await self.ctx.services.http.release(self.ctx)

    def _close_instance(self) -> None:
        if self.instance is not None:
            self.instance.close()
            self.instance = None

    @property
    def info(self) -> PluginInfo:
        instance = self.instance
        disabled = getattr(instance, "disabled", None)  # why a process plugin's supervisor gave up on it
        return PluginInfo(
            id=self.id,
            version=self.manifest.version,
            runtime=self.choice.implementation if self.choice else self.manifest.runtime,
            state=(PluginState.DISABLED if disabled else PLUGIN_STATES.get(self.breaker.state, self.state))
            if self.state == PluginState.RUNNING
            else self.state,
            provides=self.provides,
            permissions=self.ctx.grants.to_dict(),
            path=str(self.manifest.path),
            name=self.manifest.name or self.id,
            description=self.manifest.description,
            priority=self.priority,
            exports=tuple(sorted(instance.exports())) if instance else (),
            memory=self.memory,
            calls=self.stats["calls"],
            errors=self.stats["errors"],
            last_error=disabled or self.last_error,
            breaker=self.breaker.snapshot(),
            implementation=self.choice.implementation if self.choice else None,
            skipped=self.choice.skipped if self.choice else (),
        )
