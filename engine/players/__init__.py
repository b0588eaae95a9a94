"""Playback backends that implement the Player protocol (script_api.player): one row per `plugins.player.backend`."""

from __future__ import annotations

from collections.abc import Callable

from engine.config import PlayerSettings
from engine.players.mpv import MpvPlayer
from engine.players.null import NullPlayer
from script_api.player import Player

BACKENDS: dict[str, Callable[[PlayerSettings], Player]] = {
    "null": lambda settings: NullPlayer(),
    "mpv": lambda settings: MpvPlayer(settings.mpv_path, settings.mpv_args),
}


def player_for(settings: PlayerSettings) -> Player:
    """The configured player (not started: mpv starts on the first play)."""
    return BACKENDS[settings.backend](settings)
