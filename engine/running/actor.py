"""Every plugin instance is an actor: one thread, one mailbox; the asyncio side awaits futures.

A runtime is never touched from two threads (one QuickJS context used from 4 threads aborted the interpreter),
and the player's event loop never runs plugin code.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# QuickJS and Lua recurse on the C stack; give actor threads the room glibc gives the main thread.
_STACK_SIZE = 16 << 20
_stack_lock = threading.Lock()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if not future.done():
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class Actor:
    """Runs submitted functions one at a time on its own thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._mailbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
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
        get = self._mailbox.get
        try:
            while (job := get()) is not None:
                fn, args, loop, future = job
                try:
                    result = fn(*args)
                except BaseException as exc:  # delivered to the awaiting caller, whatever it is
                    loop.call_soon_threadsafe(_settle, future, False, exc)
                else:
                    loop.call_soon_threadsafe(_settle, future, True, result)
        finally:
            self._final_cpu = time.thread_time()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue `fn(*args)` on the actor's thread; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._mailbox.put((fn, args, loop, future))
        return future

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
