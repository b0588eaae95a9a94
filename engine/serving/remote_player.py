"""The Player protocol on the wire: each method is a `player.*` request to the player that started the engine,
so `fox.player.pause()` in a plugin pauses the real player."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from engine.errors import PlayerError
from script_api.player import song_dict

PLAYER_TIMEOUT = 5.0
"""Seconds the player has to answer a `player.*` request before the plugin that asked gets PlayerError."""

Ask = Callable[[str, dict[str, Any], float], Awaitable[Any]]
"""ask(method, params, timeout) on the engine's loop: the player's answer, or PlayerError."""


class RemotePlayer:
    """Called on plugin threads (like every Player), it waits there for the answer; never on the event loop."""

    def __init__(self, ask: Ask, loop: asyncio.AbstractEventLoop, timeout: float = PLAYER_TIMEOUT) -> None:
        self._ask_on_loop, self._loop, self._timeout = ask, loop, timeout

    def _ask(self, method: str, **params: Any) -> Any:
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:  # no loop on this thread: a plugin thread, as it should be
            on_loop = False
        if on_loop:
            raise PlayerError(f"player.{method} was called on the event loop; it waits for the player")
        future = asyncio.run_coroutine_threadsafe(
            self._ask_on_loop(f"player.{method}", params, self._timeout), self._loop
        )
        return future.result(self._timeout + 1)

    def state(self) -> str:
        return str(self._ask("state"))

    def position(self) -> int:
        return int(self._ask("position") or 0)

    def volume(self) -> int:
        return int(self._ask("volume") or 0)

    def current(self) -> dict[str, Any] | None:
        return self._ask("current")

    def play(self, song: Any = None) -> None:
        self._ask("play", **({} if song is None else {"song": song_dict(song)}))

    def pause(self) -> None:
        self._ask("pause")

    def resume(self) -> None:
        self._ask("resume")

    def stop(self) -> None:
        self._ask("stop")

    def seek(self, position_ms: int) -> None:
        self._ask("seek", position_ms=int(position_ms))

    def set_volume(self, volume: int) -> None:
        self._ask("set_volume", volume=int(volume))

    def next(self) -> None:
        self._ask("next")

    def previous(self) -> None:
        self._ask("previous")
