"""NullPlayer: the Player protocol with no audio, for hosts without a playback backend and for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from script_api.player import PlayerHooks, song_dict


@dataclass
class NullPlayer:
    """A player with no audio: a queue, a volume and a clock, so plugins and tests see consistent state."""

    queue: list[dict[str, Any]] = field(default_factory=list)
    clock: Any = time.monotonic
    _index: int = -1
    _state: str = "stopped"
    _volume: int = 80
    _offset_ms: int = 0
    _started_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _hooks: PlayerHooks = field(default_factory=PlayerHooks, repr=False)

    def bind(self, hooks: PlayerHooks) -> None:
        self._hooks = hooks

    def state(self) -> str:
        return self._state

    def position(self) -> int:
        with self._lock:
            if self._started_at is None:
                return self._offset_ms
            return self._offset_ms + int((self.clock() - self._started_at) * 1000)

    def volume(self) -> int:
        return self._volume

    def current(self) -> dict[str, Any] | None:
        with self._lock:
            return self.queue[self._index] if 0 <= self._index < len(self.queue) else None

    def play(self, song: Mapping[str, Any] | Any | None = None) -> None:
        with self._lock:
            if song is not None:
                self.queue.append(song_dict(song))
                self._index = len(self.queue) - 1
            elif self._index < 0 and self.queue:
                self._index = 0
            self._start(0)

    def pause(self) -> None:
        with self._lock:
            if self._state == "playing":
                self._offset_ms += int((self.clock() - self._started_at) * 1000)
                self._started_at = None
                self._set_state("paused")

    def resume(self) -> None:
        with self._lock:
            if self._state == "paused":
                self._started_at = self.clock()
                self._set_state("playing")

    def stop(self) -> None:
        with self._lock:
            self._offset_ms, self._started_at = 0, None
            self._set_state("stopped")

    def seek(self, position_ms: int) -> None:
        with self._lock:
            self._offset_ms = max(0, int(position_ms))
            if self._started_at is not None:
                self._started_at = self.clock()

    def set_volume(self, volume: int) -> None:
        self._volume = max(0, min(100, int(volume)))

    def next(self) -> None:
        self._step(1)

    def previous(self) -> None:
        self._step(-1)

    def _step(self, delta: int) -> None:
        with self._lock:
            if self.queue:
                self._index = (self._index + delta) % len(self.queue)
                self._start(0)

    def _start(self, offset_ms: int) -> None:
        self._offset_ms, self._started_at = offset_ms, self.clock()
        if 0 <= self._index < len(self.queue):
            self._hooks.emit("song_changed", self.queue[self._index])
        self._set_state("playing")

    def _set_state(self, state: str) -> None:
        """The one place the state changes (holding the lock); plugins hear `player_state` when it does."""
        if state != self._state:
            self._state = state
            self._hooks.emit("player_state", state)
