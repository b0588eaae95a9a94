"""Every plugin instance is an actor: one thread, one mailbox; the asyncio side awaits futures.

A runtime is never touched from two threads (one QuickJS context used from 4 threads aborted the interpreter),
and the player's event loop never runs plugin code. Results go back in batches: a finished job is appended to
the actor's outbox, and the loop is woken (`call_soon_threadsafe`, a write to its self-pipe) only when the
outbox was empty, so calls that finish while the loop is busy cost it one wake-up together, and no result
waits for a later job.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# QuickJS and Lua recurse on the C stack; give actor threads the room glibc gives the main thread.
_STACK_SIZE = 16 << 20
_stack_lock = threading.Lock()


class Pending(asyncio.Future[T]):
    """The future of one job; the actor settles it on the loop through `finish`, which subclasses extend."""

    def finish(self, ok: bool, value: Any) -> None:
        if not self.done():
            if ok:
                self.set_result(value)
            else:
                self.set_exception(value)


class WouldDeadlock(Exception):
    """An actor that cannot take a call while it waits was asked by one it (transitively) waits for."""


Settle = Callable[[bool, Any], None]
Job = tuple[Callable[..., Any] | None, tuple[Any, ...], "Settle | Pending[Any] | None", "Actor | None"]
"""(fn, args, outcome, asker): the outcome goes to a Pending future (a job from the loop) or a callback;
`asker` is the actor whose thread waits for the answer (`Actor.ask`), else None. A job without `fn` is an
answer to an `ask`: args = (token, ok, value)."""

_here = threading.local()
_waits_lock = threading.Lock()
_waiting_for: dict[Actor, Actor] = {}
"""Who waits for whom in `Actor.ask`: a cycle here is what would deadlock."""


def _waits_on(waiter: Actor, target: Actor) -> bool:
    """Whether `waiter` (transitively) waits for `target`."""
    with _waits_lock:
        seen, current = set(), _waiting_for.get(waiter)
        while current is not None and current not in seen:
            if current is target:
                return True
            seen.add(current)
            current = _waiting_for.get(current)
        return False


class Actor:
    """Runs submitted functions one at a time on its own thread.

    `ask` lets one actor's thread wait for another's answer (`fox.plugins.call`). Two plugins asking each
    other at once would each wait on a thread the other holds, so a waiting actor keeps answering the calls
    other actors ask of it: in place, when its runtime can take a call while one of its own waits
    (`reentrant`), or with `WouldDeadlock` when it cannot and the asker is one it waits for. Everything else
    sent to a waiting actor (the host's calls, `stop`) waits its turn, in order, until the wait ends.
    """

    reentrant = False
    """Set by the plugin once its instance runs: whether a call may run while another of its calls waits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._mailbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._deferred: deque[Job | None] = deque()
        """Jobs that arrived while this actor waited in `ask`; only its own thread touches it."""
        self.waiting = 0
        """How many `ask`s this actor's thread is inside (nested, when it answered a call while waiting)."""
        self._outbox: deque[tuple[Pending[Any], bool, Any]] = deque()
        self._woken = False
        """A drain of the outbox is scheduled on the loop and has not started yet."""
        self._final_cpu: float | None = None
        with _stack_lock:
            previous = threading.stack_size(_STACK_SIZE)
            try:
                self._thread = threading.Thread(target=self._serve, name=f"foxplug:{name}", daemon=True)
                self._thread.start()
            finally:
                threading.stack_size(previous)
        assert self._thread.ident is not None  # started, and parked on its mailbox: its pthread is valid
        self._clock = time.pthread_getcpuclockid(self._thread.ident)

    def _serve(self) -> None:
        _here.actor = self
        get, deferred = self._mailbox.get, self._deferred
        try:
            while (job := deferred.popleft() if deferred else get()) is not None:
                if job[0] is not None:  # else: an answer that came after its `ask` gave up
                    self._work(job)
        finally:
            self._final_cpu = time.thread_time()

    def run(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        """Queue `fn(*args)` on the actor's thread; await the returned future for its result."""
        future: Pending[T] = Pending(loop=asyncio.get_running_loop())
        self._mailbox.put((fn, args, future, None))
        return future

    def submit(self, future: Pending[Any], fn: Callable[..., Any], *args: Any) -> None:
        """Queue `fn(*args)`, its outcome going to `future` (made by the caller, on the running loop)."""
        self._mailbox.put((fn, args, future, None))

    def _work(self, job: Job) -> None:
        fn, args, outcome, _ = job
        assert fn is not None and outcome is not None
        try:
            ok, value = True, fn(*args)
        except BaseException as exc:  # delivered to the waiting caller, whatever it is
            ok, value = False, exc
        if not isinstance(outcome, Pending):
            outcome(ok, value)
            return
        self._outbox.append((outcome, ok, value))
        if not self._woken:
            self._woken = True
            outcome.get_loop().call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        """On the loop: settle every finished job. The flag drops first, so a job finishing meanwhile either
        is seen by this drain or schedules the next one."""
        self._woken = False
        outbox = self._outbox
        while outbox:
            future, ok, value = outbox.popleft()
            future.finish(ok, value)

    def ask(self, fn: Callable[..., T], args: tuple[Any, ...], timeout: float) -> T:
        """From another actor's thread: run `fn(*args)` here and wait for it, at most `timeout` (TimeoutError)."""
        caller: Actor | None = getattr(_here, "actor", None)
        if caller is None or caller is self:
            raise RuntimeError("Actor.ask is for one actor's thread asking another")
        token = object()
        answer = caller._mailbox.put
        with _waits_lock:
            outer = _waiting_for.get(caller)  # set when this ask runs inside a call answered while waiting
            _waiting_for[caller] = self
        caller.waiting += 1
        try:
            self._mailbox.put((fn, args, lambda ok, value: answer((None, (token, ok, value), None, None)), caller))
            return caller._wait(token, time.monotonic() + timeout)
        finally:
            caller.waiting -= 1
            with _waits_lock:
                if outer is not None:
                    _waiting_for[caller] = outer
                else:
                    _waiting_for.pop(caller, None)

    def _wait(self, token: object, deadline: float) -> Any:
        while True:
            try:
                job = self._mailbox.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise TimeoutError from None
            if job is not None and job[0] is None:
                answered, ok, value = job[1]
                if answered is token:
                    if ok:
                        return value
                    raise value
                continue  # the answer to an earlier ask that gave up
            if job is not None and (asker := job[3]) is not None:
                if self.reentrant:
                    self._work(job)
                    continue
                if _waits_on(self, asker):
                    job[2](False, WouldDeadlock(f"{self.name} is waiting for {asker.name}"))  # type: ignore[misc]
                    continue
            self._deferred.append(job)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Finish queued work, then end the thread."""
        self._mailbox.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """The thread has left its loop; `cpu_time()` is final."""
        return self._final_cpu is not None

    def cpu_time(self) -> float:
        """CPU seconds this actor's thread has used, read from any thread at no cost to its calls.

        The clock id (taken once the thread runs) names the kernel thread, so reading it after the thread
        ended fails cleanly instead of touching a freed pthread; the thread's own last reading is used then.
        """
        if self._final_cpu is None:
            try:
                return time.clock_gettime(self._clock)
            except OSError:
                pass
        return self._final_cpu or 0.0
