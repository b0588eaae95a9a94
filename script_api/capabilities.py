"""The functions a plugin provides for the host to call (ARCHITECTURE §3.6), and what `provides` promises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from script_api.api import Param, parse_params

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


@dataclass(frozen=True, slots=True)
class PluginFunction:
    """A function a plugin exports for the host to call (ARCHITECTURE §3.6)."""

    name: str
    params: tuple[Param, ...]
    result: str
    group: str
    doc: str


def _plugin_functions(group: str, *rows: tuple[str, str, str, str]) -> list[PluginFunction]:
    return [PluginFunction(name, parse_params(params), result, group, doc) for name, params, result, doc in rows]


# Types are expressions over the table's JSON types and the data types of script_api.types:
# `Song[]` is a list of songs, `Lyrics|string|null` a union, `void` "returns nothing".
PLUGIN_FUNCTIONS: tuple[PluginFunction, ...] = (
    *_plugin_functions(
        "Sources",
        (
            "search",
            "query:string opts:object",
            "Song[]",
            "Find items; opts: {type: song|album|artist|playlist, limit}. A list, or {items: [...]}.",
        ),
        ("suggest", "query:string", "string[]", "Completions for a partial query."),
        ("get_playlist", "id:string", "Playlist", "One playlist's details."),
        ("get_playlist_songs", "id:string offset:integer limit:integer", "Song[]", "A page of a playlist's songs."),
        ("get_song_url", "song_id:string quality:string", "string", "A playable URL for one of this plugin's songs."),
        ("get_song_detail", "id:string", "Song", "Full details of one song."),
        (
            "get_lyrics",
            "song:Song",
            "Lyrics|string|null",
            "Lyrics of a song: an LRC string or {lrc, translation?, lines?}; null if none.",
        ),
        ("login", "credentials:object", "object", "Sign in to the service with credentials the player collected."),
        ("get_user_playlists", "user_id:string", "Playlist[]", "A user's playlists."),
        ("get_user_liked_songs", "user_id:string", "Song[]", "A user's liked songs."),
    ),
    *_plugin_functions(
        "UI",
        ("menus", "ctx:object", "object[]", "Menu entries {id, label} for a context (e.g. the selected song)."),
        ("menu_items", "menu_id:string ctx:object", "object[]", "Entries of one of this plugin's menus."),
        ("on_action", "action_id:string ctx:object", "any", "Run a menu action."),
        ("status", "state:object", "string|object[]", "Status-line text, or segments {text, style?}."),
        ("themes", "", "object[]", "Themes {name, colors: {...}}."),
        ("keymap", "", "object", "Key bindings {key: action_id}; a higher-priority plugin wins a key."),
    ),
    *_plugin_functions(
        "Lifecycle",
        ("init", "config:object", "void", "Called once after loading, with this plugin's config."),
        ("start", "", "void", "Called after init: begin work."),
        ("stop", "", "void", "Called before the plugin is unloaded, replaced or the engine closes."),
        ("health", "", "object", "A health report for diagnostics."),
        ("snapshot", "", "any", "State to hand to the next version on hot reload."),
        ("restore", "state:any", "void", "Receive the previous version's snapshot() after a hot reload."),
    ),
    *_plugin_functions(
        "Events",
        ("on_song_changed", "payload:any", "void", "The current song changed."),
        ("on_player_state", "payload:any", "void", "Playback state changed (playing, paused, stopped)."),
        ("on_position", "payload:any", "void", "Playback position update."),
        ("on_app_start", "payload:any", "void", "The player started."),
        ("on_app_stop", "payload:any", "void", "The player is quitting."),
    ),
)
