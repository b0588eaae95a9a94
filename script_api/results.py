"""A plugin function's answer checked against the result type its row declares (`capabilities.PLUGIN_FUNCTIONS`).

What `foxplug call` and `foxplug dev --call` show an author: the exact path of every bad field, while the good
items of a list still come through, as `foxplug search` treats a source's answer. Types are the expressions of
the capability rows: `Song[]`, `Lyrics|string|null`, `string|object[]`, JSON types, `any`, `void`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from script_api.capabilities import PLUGIN_FUNCTIONS
from script_api.fields import at, pick, type_error
from script_api.lyrics import Lyrics
from script_api.types import Playlist, Song

_DATA: dict[str, Callable[[Any, str], Any]] = {
    "Song": lambda value, path: Song.from_plugin(value, path=path),
    "Playlist": lambda value, path: Playlist.from_plugin(value, path=path),
    "Lyrics": lambda value, path: Lyrics.from_plugin(value, path=path),
}
_JSON: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping) or v == [],  # an empty Lua table arrives as []
    "null": lambda v: v is None,
}
_EXPECTED = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean"}
_EXPECTED |= {"object": "an object", "null": "null"}


@dataclass(frozen=True, slots=True)
class Checked:
    """The answer with every bad item left out, and one line per problem (`search()[2].title: expected ...`)."""

    value: Any
    problems: tuple[str, ...] = ()


def check_result(function: str, value: Any, args: tuple[Any, ...] = ()) -> Checked:
    """`value` as `function(*args)` of a plugin returned it, checked against that function's declared result
    type; a function that is not one of the capability rows is taken as it is. `search` answers in the kind
    its `opts.type` asks for (songs, playlists; albums and artists have no data type yet)."""
    row = next((row for row in PLUGIN_FUNCTIONS if row.name == function), None)
    if row is None:
        return Checked(value)
    kind = row.result
    if function == "search" and len(args) > 1 and isinstance(args[1], Mapping):
        kind = _SEARCHED.get(str(args[1].get("type") or "song"), "any")
    problems: list[str] = []
    kept = _check(kind, value, f"{function}()", problems)
    return Checked(kept, tuple(problems))


_SEARCHED = {"song": "Song[]", "playlist": "Playlist[]"}


def _check(kind: str, value: Any, path: str, problems: list[str]) -> Any:
    alternatives = kind.split("|")
    if len(alternatives) > 1:
        return _check_union(alternatives, value, path, problems)
    if kind in ("any", "void"):
        return value
    if kind.endswith("[]"):
        return _check_list(kind[:-2], value, path, problems)
    if kind in _DATA:
        try:
            _DATA[kind](value, path)
        except ValueError as error:
            problems.append(str(error))
            return None
        return value
    if not _JSON[kind](value):
        problems.append(str(type_error(path, _EXPECTED[kind], value)))
        return None
    return value


def _check_union(alternatives: list[str], value: Any, path: str, problems: list[str]) -> Any:
    """The first alternative the value passes; else the problems of the one its JSON shape suggests."""
    tried: list[list[str]] = []
    for alternative in alternatives:
        found: list[str] = []
        kept = _check(alternative, value, path, found)
        if not found:
            return kept
        tried.append(found)
    shaped = [t for t, alt in zip(tried, alternatives, strict=True) if _shape_fits(alt, value)]
    problems.extend((shaped or tried)[0])
    return None


def _shape_fits(kind: str, value: Any) -> bool:
    if kind.endswith("[]"):
        return isinstance(value, list | tuple)
    if kind in _DATA:
        return isinstance(value, Mapping)
    return kind in _JSON and _JSON[kind](value)


def _check_list(item_kind: str, value: Any, path: str, problems: list[str]) -> Any:
    """Each item checked on its own: the bad ones reported and left out, the good ones kept."""
    if isinstance(value, Mapping) and value and item_kind == "Song":  # a page: {"items": [...]} or {"songs": [...]}
        key, items = pick(value, "items", "songs")
        return {**value, key: _check_list(item_kind, items, at(path, key), problems)}
    if isinstance(value, Mapping) and not value:
        return []
    if not isinstance(value, list | tuple):
        problems.append(str(type_error(path, "a list", value)))
        return []
    kept = []
    for i, item in enumerate(value):
        found: list[str] = []
        checked = _check(item_kind, item, f"{path}[{i}]", found)
        problems.extend(found)
        if not found:
            kept.append(checked)
    return kept
