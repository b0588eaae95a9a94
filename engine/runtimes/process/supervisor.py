"""Keeps a plugin process serving: calls with deadlines, kill after deadline + grace, restarts with exponential
backoff, a crash-loop cap, heartbeats while idle, and a clean shutdown.

A Supervisor is the plugin's Instance. Calls run on the plugin's actor thread and talk to the process directly
(no hop to another thread); the supervisor's own thread only restarts lost processes and pings idle ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine._version import __version__
from engine.errors import FoxplugError, PluginCrashed, PluginError, PluginTimeout
from engine.runtimes.base import run_start_hooks
from engine.runtimes.process.child import Child, Command
from engine.runtimes.process.rpc import ChannelClosed, FrameTooLarge, ProtocolViolation, Session, Unresponsive
from script_api.api import HOST_FUNCTIONS, host_values

if TYPE_CHECKING:  # engine.runtimes imports this module (the process backend)
    from engine.runtimes.base import HostLink, Limits

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0
HEALTH_INTERVAL = 10.0
"""Seconds of quiet after which an idle plugin is pinged."""
PING_TIMEOUT = 2.0
CRASH_WINDOW = 300.0
MAX_CRASHES = 3
"""Crashes within CRASH_WINDOW that are restarted; the next one disables the plugin (VS Code's rule)."""
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 5.0

Launch = Callable[[float, Callable[[Child], None]], Session]
"""launch(deadline, started): start the process, report it to `started`, finish the handshake by the deadline."""


def host_info() -> dict[str, str]:
    return {"name": "foxplug", "version": __version__}


def hello(link: HostLink, limits: Limits) -> dict[str, Any]:
    """The host's half of the handshake (docs/protocol.md, `initialize`)."""
    ctx = link.ctx
    return {
        "host": host_info(),
        "plugin": {"id": ctx.plugin_id, "version": ctx.version, "path": ctx.path},
        "values": host_values(ctx),
        "api": list(HOST_FUNCTIONS),
        "limits": {"timeout": limits.timeout, "max_message": limits.max_result},
        "heartbeat": HEALTH_INTERVAL,
    }


def spawn(
    command: Command,
    link: HostLink,
    limits: Limits,
    params: dict[str, Any],
    deadline: float,
    started: Callable[[Child], None],
    *,
    trusted: bool = False,
) -> Session:
    """Start the plugin's process and complete the handshake; a PluginError saying why if it does not."""
    ctx = link.ctx
    label = f"plugin `{ctx.plugin_id}` ({ctx.path})"
    try:
        child = Child(command, ctx.logger, limits.max_result)
    except OSError as error:
        raise PluginError(
            f"plugin `{ctx.plugin_id}` could not start {command.argv[0]}: {error.strerror or error}",
            plugin=ctx.plugin_id,
            file=ctx.path,
            field="command",
        ) from None
    session = Session(child, label, trusted=trusted)
    session.link = link
    try:
        started(child)
        session.handshake(params, deadline)
    except (ChannelClosed, ProtocolViolation, Unresponsive, FrameTooLarge, FoxplugError) as problem:
        if isinstance(problem, ChannelClosed):
            why = child.describe(" before answering")  # how it ended, before anything kills it
        child.close()
        if trusted and isinstance(problem, FoxplugError):  # the worker's load error, as it would be in-thread
            raise
        if isinstance(problem, Unresponsive):
            why = f"no answer within {HANDSHAKE_TIMEOUT:g} s"
        elif isinstance(problem, FoxplugError):
            why = str(problem).removeprefix(f"{label} ")
        elif not isinstance(problem, ChannelClosed):
            why = f"it {problem}"
        raise PluginError(
            f"{label} failed the handshake: {why}",
            plugin=ctx.plugin_id,
            hint="a process plugin answers `initialize` on stdout first (docs/protocol.md); logs go to stderr",
        ) from None
    except BaseException:
        child.close()
        raise
    return session


class Supervisor:
    """One plugin's sessions over time: the current one serves calls, a lost one is replaced in the background."""

    restarts_itself = True
    """Plugin._invoke must not rebuild this instance after a limit: a hung process is replaced here, and the
    isolation worker renews its runtime itself."""

    def __init__(
        self,
        link: HostLink,
        limits: Limits,
        launch: Launch | None,
        *,
        session: Session | None = None,
        exports: frozenset[str] | None = None,
    ) -> None:
        """`exports` known without a session (a manifest's `provides`): the first process starts in the background,
        like a restart (init/start included), so loading does not wait for it; calls wait for it within their
        deadline. Otherwise it starts here, and a failed start fails the load."""
        self._link = link
        self._ctx = link.ctx
        self._limits = limits
        self._launch = launch
        """None for a plugin that connected itself: it cannot be restarted from here."""
        self._label = f"plugin `{self._ctx.plugin_id}` ({self._ctx.path})"
        self._cond = threading.Condition(threading.Lock())
        self._closing = False
        self._busy = False
        self._booting: Child | None = None
        self._dead: list[Session] = []
        """Killed but not yet reaped (see `_lose`)."""
        self._crashes: deque[float] = deque()
        self._delay = 0.0
        self._last_loss = "it is starting" if exports is not None else ""
        self._starts_in_background = exports is not None
        self.disabled: str | None = None
        """Why it stopped for good (crash loop, disconnected); shown as state `disabled` with this reason."""
        if session is None and exports is None:
            assert launch is not None
            session = launch(time.monotonic() + HANDSHAKE_TIMEOUT, lambda child: None)
        self._session: Session | None = session
        self._exports = session.exports if session is not None else exports or frozenset()
        self._last_active = time.monotonic()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._watch, name=f"foxplug:{self._ctx.plugin_id}:supervisor")
        self._thread.daemon = True
        self._thread.start()

    # -- the Instance protocol (on the actor thread) --------------------------------------------------------

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        if self._starts_in_background and name in ("init", "start"):
            return None  # the watcher runs them on every start, the first one included
        session = self._claim(name, deadline)
        try:
            return session.call(name, args, deadline, self._limits.max_result)
        except Unresponsive:
            self._lose(session, None, reap_later=True)  # a hang is not a crash: killed and replaced at once
            raise self._link.timeout(name) from None
        except FrameTooLarge as error:
            self._lose(session, None, reap_later=True)
            raise self._link.out_of_memory(name, f"{error.limit}-byte message limit") from None
        except ChannelClosed:
            raise self._crashed(session, name, session.channel.describe()) from None
        except ProtocolViolation as error:
            raise self._crashed(session, name, f"it broke the protocol: it {error}") from None
        finally:
            self._release(notify=False)

    def exports(self) -> frozenset[str]:
        return self._exports

    def memory_used(self) -> int | None:
        session = self._session
        memory = getattr(session.channel, "memory", None) if session else None
        return memory() if memory else None

    def close(self) -> None:
        with self._cond:
            self._closing = True
            session, self._session = self._session, None
            booting = self._booting
            self._cond.notify_all()
        self._wake()
        if booting is not None:
            booting.close()  # ends a restart's handshake at once
        self._thread.join(PING_TIMEOUT + 1.0)
        self._reap()
        if session is not None:
            session.channel.shutdown()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- sharing the session between calls and heartbeats --------------------------------------------------

    def _claim(self, name: str, deadline: float) -> Session:
        with self._cond:
            while self._session is None or self._busy:
                if self.disabled is not None:
                    raise self._disabled_error()
                if self._closing:
                    raise PluginCrashed(f"{self._label} is shutting down", plugin=self._ctx.plugin_id)
                left = deadline - time.monotonic()
                if left <= 0:
                    doing = f"restarting ({self._last_loss})" if self._session is None else "answering a heartbeat"
                    raise PluginTimeout(
                        f"{self._label} was still {doing} when the deadline of {name}() passed",
                        plugin=self._ctx.plugin_id,
                        hint=f"see the log foxplug.plugin.{self._ctx.plugin_id} for its stderr",
                    )
                self._cond.wait(left)
            self._busy = True
            return self._session

    def _release(self, *, notify: bool) -> None:
        with self._cond:
            self._busy = False
            self._last_active = time.monotonic()
            if notify:
                self._cond.notify_all()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    # -- losing a session ------------------------------------------------------------------------------------

    def _lose(self, session: Session, crash: str | None, *, reap_later: bool = False) -> None:
        """Stop a session that can serve no more; count it if it crashed; have the watcher start a new one.

        `reap_later`: only send the kill, so the caller's error is not held up while a big process is torn down
        (~25 ms for Node.js); the watcher reaps it before it starts the next one.
        """
        kill = getattr(session.channel, "kill", None) if reap_later else None
        if kill is not None:
            kill()
            self._dead.append(session)
        else:
            session.channel.close()
        with self._cond:
            if self._session is session:
                self._session = None
            self._delay = 0.0
            self._last_loss = crash or "it was stopped after a limit"
            if crash is not None:
                self._count_crash(crash)
            if self._launch is None and self.disabled is None:
                self.disabled = f"{self._last_loss}; a plugin that connected itself must connect again"
            self._cond.notify_all()
        self._wake()

    def _count_crash(self, reason: str) -> None:
        now = time.monotonic()
        self._crashes.append(now)
        while self._crashes[0] < now - CRASH_WINDOW:
            self._crashes.popleft()
        crashes = len(self._crashes)
        if crashes > MAX_CRASHES and self._launch is not None:
            self.disabled = f"it crashed {crashes} times within {CRASH_WINDOW / 60:g} minutes; the last time {reason}"
            log.error("%s is disabled: %s", self._label, self.disabled, extra={"plugin": self._ctx.plugin_id})
        else:
            self._delay = min(BACKOFF_FIRST * 2 ** (crashes - 1), BACKOFF_MAX)
            log.warning("%s crashed: %s", self._label, reason, extra={"plugin": self._ctx.plugin_id})

    def _crashed(self, session: Session, name: str, reason: str) -> PluginCrashed:
        self._lose(session, reason)
        if self.disabled is not None:
            return self._disabled_error(f"crashed in {name}(): ")
        return PluginCrashed(
            f"{self._label} crashed in {name}(): {reason}; it is being restarted",
            plugin=self._ctx.plugin_id,
            hint=f"its stderr is in the log foxplug.plugin.{self._ctx.plugin_id}",
        )

    def _disabled_error(self, what: str = "") -> PluginCrashed:
        return PluginCrashed(
            f"{self._label} {what}is disabled: {self.disabled}",
            plugin=self._ctx.plugin_id,
            hint="fix it and reload it (save it, `foxplug dev`, or POST /api/v1/plugins/{id}/reload)".replace(
                "{id}", self._ctx.plugin_id
            ),
        )

    # -- the watcher thread ----------------------------------------------------------------------------------

    def _watch(self) -> None:
        """Restart lost sessions; notice an idle process exiting (its exit fd); ping one idle too long."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        watched: tuple[Session, int] | None = None  # the idle session, and our own copy of its exit fd
        try:
            while True:
                with self._cond:
                    if self._closing:
                        return
                    session, busy = self._session, self._busy
                    restart = session is None and self.disabled is None and self._launch is not None
                    next_ping = self._last_active + HEALTH_INTERVAL
                    if watched is not None and (busy or watched[0] is not session):
                        poller.unregister(watched[1])
                        os.close(watched[1])
                        watched = None
                    exit_fd = getattr(session.channel, "exit_fd", None) if session is not None else None
                    if watched is None and not busy and exit_fd is not None:  # idle: nobody is closing it now
                        watched = (session, os.dup(exit_fd))  # type: ignore[arg-type]
                        poller.register(watched[1], select.POLLIN)
                try:
                    if restart:
                        self._restart()
                        continue
                    wait = HEALTH_INTERVAL if busy or session is None else max(0.0, next_ping - time.monotonic())
                    events = dict(poller.poll(int(wait * 1000) + 1))
                    if self._wake_r in events:
                        os.read(self._wake_r, 4096)
                    if watched is not None and watched[1] in events:
                        self._exited_while_idle(watched[0])
                    elif not events and session is not None and not busy:
                        self._heartbeat(session)
                except Exception:  # the watcher must outlive any surprise, or nothing restarts this plugin
                    log.exception("%s: supervisor", self._label, extra={"plugin": self._ctx.plugin_id})
                    time.sleep(0.1)
        finally:
            if watched is not None:
                os.close(watched[1])

    def _exited_while_idle(self, session: Session) -> None:
        with self._cond:
            if self._session is not session or self._busy:
                return
            self._busy = True
        try:
            self._lose(session, session.channel.describe(" while idle"))
        finally:
            self._release(notify=True)

    def _heartbeat(self, session: Session) -> None:
        with self._cond:
            if self._session is not session or self._busy or self._closing:
                return
            self._busy = True
        try:
            session.ping(time.monotonic() + PING_TIMEOUT)
        except Unresponsive:
            self._lose(session, f"it did not answer a heartbeat within {PING_TIMEOUT:g} s")
        except ChannelClosed:
            self._lose(session, session.channel.describe())
        except (ProtocolViolation, FrameTooLarge, FoxplugError) as error:
            self._lose(session, f"it broke the protocol: it {error}")
        finally:
            self._release(notify=True)

    def _reap(self) -> None:
        while self._dead:
            self._dead.pop().channel.close()

    def _restart(self) -> None:
        """Start a new process after the backoff; a failed start counts as one more crash."""
        self._reap()
        with self._cond:
            self._cond.wait_for(lambda: self._closing, self._delay)
            if self._closing:
                return
        assert self._launch is not None
        session = None
        try:
            session = self._launch(time.monotonic() + HANDSHAKE_TIMEOUT, self._booted)
            limit = self._limits.max_result
            run_start_hooks(
                frozenset(session.exports),
                lambda hook, args, deadline: session.call(hook, args, deadline, limit),
                self._ctx.config,
                self._limits.timeout,
            )
        except Exception as error:
            if session is not None:
                session.channel.close()
            with self._cond:
                self._booting = None
                if not self._closing:
                    self._last_loss = f"its restart failed: {error}"
                    self._count_crash(self._last_loss)
                    self._cond.notify_all()
            return
        with self._cond:
            self._booting = None
            if self._closing:
                session.channel.close()
                return
            first = self._starts_in_background and self._last_loss == "it is starting"
            self._session, self._exports = session, session.exports
            self._last_active = time.monotonic()
            self._cond.notify_all()
        log.info("%s %s", self._label, "started" if first else "restarted", extra={"plugin": self._ctx.plugin_id})

    def _booted(self, child: Child) -> None:
        with self._cond:
            if self._closing:
                raise ChannelClosed
            self._booting = child
