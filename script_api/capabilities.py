"""What a plugin's `provides` promises, in terms of the functions it must export (ARCHITECTURE §3.6)."""

from __future__ import annotations

from collections.abc import Iterable

REQUIRED: dict[str, tuple[str, ...]] = {
    "search": ("search",),
    "playlist": ("get_playlist", "get_playlist_songs"),
    "song_url": ("get_song_url",),
    "lyrics": ("get_lyrics",),
    "user": ("login",),
    "player": (),
    "ui.menu": ("menus", "on_action"),
    "ui.status": ("status",),
    "ui.theme": ("themes",),
    "events": (),
}
LIFECYCLE = ("init", "start", "stop", "health", "snapshot", "restore")


def missing_functions(provides: Iterable[str], exports: frozenset[str]) -> dict[str, list[str]]:
    """{capability: [functions it needs that the plugin does not export]}."""
    missing = {cap: [f for f in REQUIRED[cap] if f not in exports] for cap in provides}
    if "events" in provides and not any(name.startswith("on_") for name in exports):
        missing["events"] = ["on_<event>"]
    return {cap: names for cap, names in missing.items() if names}


def infer_provides(exports: frozenset[str]) -> tuple[str, ...]:
    """For a plugin without a manifest: every capability whose functions it exports."""
    found = [cap for cap, needs in REQUIRED.items() if needs and all(f in exports for f in needs)]
    if any(name.startswith("on_") and name != "on_action" for name in exports):
        found.append("events")
    return tuple(found)
