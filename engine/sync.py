"""A synchronous facade for hosts without an event loop: the engine runs on a private loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from engine.engine import Engine

T = TypeVar("T")


class SyncEngine:
    """`with SyncEngine(Engine.from_config()) as fox: fox.search("q")` — same methods, blocking."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="foxplug-loop", daemon=True)
        self._thread.start()
        self.ui = _SyncNamespace(self, engine.ui)

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> SyncEngine:
        self._run(self.engine.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._run(self.engine.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __getattr__(self, name: str) -> Any:
        return _wrap(self, getattr(self.engine, name))

    def call(self, plugin_id: str, method: str, *args: Any, timeout: float | None = None) -> Any:
        async def call() -> Any:  # Engine.call needs the engine's loop running to make its Call
            return await self.engine.call(plugin_id, method, *args, timeout=timeout)

        return self._run(call())

    def on(self, event: str, callback: Any) -> Any:
        """Listeners run on the engine's loop thread."""
        return self.engine.on(event, callback)


class _SyncNamespace:
    def __init__(self, owner: SyncEngine, target: Any) -> None:
        self._owner, self._target = owner, target

    def __getattr__(self, name: str) -> Any:
        return _wrap(self._owner, getattr(self._target, name))


def _wrap(owner: SyncEngine, attribute: Any) -> Any:
    if not asyncio.iscoroutinefunction(attribute):
        return attribute

    def blocking(*args: Any, **kwargs: Any) -> Any:
        return owner._run(attribute(*args, **kwargs))

    return blocking
