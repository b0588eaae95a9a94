"""The player a plugin controls: a protocol the embedding host implements, and what the engine gives a player."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Player(Protocol):
    """What `fox.player.*` delegates to. Methods are called from plugin threads, so must be thread-safe."""

    def state(self) -> str: ...
    def position(self) -> int: ...
    def volume(self) -> int: ...
    def current(self) -> dict[str, Any] | None: ...
    def play(self, song: dict[str, Any] | None = None) -> None: ...
    # Optional: `bind(hooks: PlayerHooks)` (the engine calls it at start) and `close()` (as it closes).
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...
    def seek(self, position_ms: int) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    def next(self) -> None: ...
    def previous(self) -> None: ...


def _no_url(song: dict[str, Any]) -> str | None:
    return None


def _nobody(*args: Any) -> None:
    return None


@dataclass(frozen=True)
class PlayerHooks:
    """What the engine gives a player that has `bind(hooks)`: each callable is safe to call from any thread."""

    resolve: Callable[[dict[str, Any]], str | None] = _no_url
    """A playable URL for a song without one (its plugin's `get_song_url`); blocks, so never on the event loop."""
    emit: Callable[[str, Any], None] = _nobody
    """emit(event, payload): `song_changed` and `player_state` to every plugin's `on_<event>`."""
    notify: Callable[[str, str], None] = _nobody
    """notify(text, level): the host's `notify` listeners (the console prints them)."""


def song_dict(song: Mapping[str, Any] | Any) -> dict[str, Any]:
    """A song as plain data: a `Song` from `Engine.search` (its `to_dict()`) or any mapping."""
    to_dict = getattr(song, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(song, Mapping):
        return dict(song)
    raise TypeError(f"expected a Song or a mapping, got {type(song).__name__}")
