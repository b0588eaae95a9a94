"""Data types that cross the plugin boundary.

Lua, JavaScript and restricted-Python plugins hand back loosely shaped tables. Everything
they return is normalised here, once, into frozen dataclasses so the rest of the engine
never second-guesses a field. Junk is rejected with a ``ValueError`` whose message starts
with the field path (``items[3].title: expected a string, got list``); the caller prefixes
the plugin id and function name.

``to_dict()`` gives plain JSON data that ``from_plugin`` accepts back unchanged, so values
can be cached or sent over IPC.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self


def _at(path: str, key: str) -> str:
    """Extend a field path: ``_at("items[3]", "title") == "items[3].title"``."""
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, str) and not value:
        return "empty string"
    return type(value).__name__


def _error(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}" if where else message)


def _type_error(where: str, expected: str, value: object) -> ValueError:
    return _error(where, f"expected {expected}, got {_type_name(value)}")


def _pick(data: Mapping[str, Any], *keys: str) -> tuple[str, Any]:
    """Value of the first alias the plugin set, with its key so error paths name what the plugin wrote."""
    for key in keys:
        if data.get(key) is not None:
            return key, data[key]
    return keys[0], None


def _object(value: Any, where: str, expected: str = "an object") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _type_error(where, expected, value)
    return value


def _list(value: Any, where: str) -> list[Any]:
    """A list; ``{}`` counts as empty because Lua cannot tell an empty array from an empty table."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping) and not value:
        return []
    raise _type_error(where, "a list", value)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _type_error(where, "a string", value)
    return value


def _opt_str(value: Any, where: str) -> str | None:
    """Plugins often send ``""`` for "unknown", so it means the same as a missing value."""
    if value is None or value == "":
        return None
    return _str(value, where)


def _id(value: Any, where: str, *, required: bool = True) -> str:
    """Ids are strings; numeric ids (common in JSON APIs) are converted, bools are not ids."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and (value or not required):
        return value
    if value is None and not required:
        return ""
    raise _type_error(where, "a non-empty string or integer", value)


def _number(value: Any, where: str) -> float:
    """A non-negative finite number; JavaScript hands every number over as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(where, "a number", value)
    if not math.isfinite(value) or value < 0:
        raise _error(where, f"expected a non-negative number, got {value!r}")
    return value


def _opt_int(value: Any, where: str) -> int | None:
    return None if value is None else round(_number(value, where))


def _json(value: Any, where: str) -> Any:
    """Copy ``value`` as plain JSON data: ``extra`` is opaque to us but must survive ``to_dict``."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _error(where, f"expected a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _error(where, f"expected string keys, got {_type_name(key)} key {key!r}")
            copied[key] = _json(item, _at(where, key))
        return copied
    if isinstance(value, list | tuple):
        return [_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise _type_error(where, "JSON data", value)


def _artists(value: Any, where: str) -> tuple[Artist, ...]:
    """Artists come as a list of dicts or names, or as one dict or name; blank names are dropped."""
    if value is None:
        return ()
    if isinstance(value, str) or (isinstance(value, Mapping) and value):
        entries = [(where, value)]
    else:
        entries = [(f"{where}[{i}]", item) for i, item in enumerate(_list(value, where))]
    return tuple(Artist.from_plugin(item, path=path) for path, item in entries if item != "")


# Milliseconds unless noted; the first key the plugin set wins. ``dt`` is NetEase's name.
_DURATION_KEYS = (("duration_ms", 1), ("duration", 1), ("dt", 1), ("duration_s", 1000))


def _duration_ms(data: Mapping[str, Any], path: str) -> int | None:
    for key, scale in _DURATION_KEYS:
        if data.get(key) is not None:
            return round(_number(data[key], _at(path, key)) * scale)
    return None


@dataclass(frozen=True, slots=True)
class Artist:
    """A performer credit; ``id`` is ``""`` when the plugin only knows the name."""

    id: str
    name: str

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        """Accept ``{"id", "name"}`` or a bare name."""
        if isinstance(data, str):
            return cls(id="", name=data)
        obj = _object(data, path, "a string or an object")
        return cls(
            id=_id(obj.get("id"), _at(path, "id"), required=False),
            name=_str(obj.get("name"), _at(path, "name")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Album:
    """An album credit; ``id`` is ``""`` when the plugin only knows the name."""

    id: str
    name: str
    cover_url: str | None = None

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        """Accept ``{"id", "name", "cover_url"}`` (``cover`` alias) or a bare name."""
        if isinstance(data, str):
            return cls(id="", name=data)
        obj = _object(data, path, "a string or an object")
        cover_key, cover = _pick(obj, "cover_url", "cover")
        return cls(
            id=_id(obj.get("id"), _at(path, "id"), required=False),
            name=_str(obj.get("name"), _at(path, "name")),
            cover_url=_opt_str(cover, _at(path, cover_key)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "cover_url": self.cover_url}


@dataclass(frozen=True, slots=True)
class Song:
    """A playable track. ``source`` is the id of the plugin that can resolve and play it.

    ``extra`` is plugin-private JSON data handed back to that plugin later; it takes no part
    in hashing so songs can be deduplicated in sets.
    """

    id: str
    title: str
    artists: tuple[Artist, ...] = ()
    album: Album | None = None
    duration_ms: int | None = None
    source: str = ""
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_plugin(cls, data: Any, *, source: str = "", path: str = "") -> Self:
        """Normalise one song as plugins commonly shape it.

        ``title`` may be ``name``; ``artists`` (or ``artist``) a list of dicts or names, or one of
        either; ``album`` a dict or a name; the duration ``duration_ms``/``duration``/``dt`` in ms or
        ``duration_s`` in seconds. Numeric ids become strings; missing or ``""`` optionals become None.
        A non-empty ``source`` (the engine stamps the calling plugin's id) overrides whatever the
        data claims, so a plugin cannot pass its songs off as another's; without it the data's own
        ``source`` is kept, which makes ``from_plugin(song.to_dict())`` a round trip.
        """
        obj = _object(data, path)
        title_key, title = _pick(obj, "title", "name")
        artists_key, artists = _pick(obj, "artists", "artist")
        album = obj.get("album")
        return cls(
            id=_id(obj.get("id"), _at(path, "id")),
            title=_str(title, _at(path, title_key)),
            artists=_artists(artists, _at(path, artists_key)),
            # Falsy covers "" and the empty table a Lua plugin sends for "no album".
            album=Album.from_plugin(album, path=_at(path, "album")) if album else None,
            duration_ms=_duration_ms(obj, path),
            source=source or _str(obj.get("source") or "", _at(path, "source")),
            url=_opt_str(obj.get("url"), _at(path, "url")),
            extra=_json(_object(obj.get("extra") or {}, _at(path, "extra")), _at(path, "extra")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "artists": [artist.to_dict() for artist in self.artists],
            "album": self.album.to_dict() if self.album else None,
            "duration_ms": self.duration_ms,
            "source": self.source,
            "url": self.url,
            "extra": copy.deepcopy(self.extra),
        }


def songs_from_plugin(value: Any, *, source: str, path: str = "") -> list[Song]:
    """Normalise a list of songs, bare or wrapped in a page: ``{"items": [...]}`` or ``{"songs": [...]}``."""
    if isinstance(value, Mapping) and value:
        key, value = _pick(value, "items", "songs")
        path = _at(path, key)
    return [Song.from_plugin(item, source=source, path=f"{path}[{i}]") for i, item in enumerate(_list(value, path))]


@dataclass(frozen=True, slots=True)
class Playlist:
    """A playlist summary; its songs are fetched separately."""

    id: str
    name: str
    description: str | None = None
    cover_url: str | None = None
    song_count: int | None = None
    creator: str | None = None

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        """Accept aliases ``title``, ``cover`` and ``track_count``; ``creator`` may be ``{"name": ...}``."""
        obj = _object(data, path)
        name_key, name = _pick(obj, "name", "title")
        cover_key, cover = _pick(obj, "cover_url", "cover")
        count_key, count = _pick(obj, "song_count", "track_count")
        creator_key, creator = "creator", obj.get("creator")
        if isinstance(creator, Mapping):
            creator_key, creator = "creator.name", creator.get("name")
        return cls(
            id=_id(obj.get("id"), _at(path, "id")),
            name=_str(name, _at(path, name_key)),
            description=_opt_str(obj.get("description"), _at(path, "description")),
            cover_url=_opt_str(cover, _at(path, cover_key)),
            song_count=_opt_int(count, _at(path, count_key)),
            creator=_opt_str(creator, _at(path, creator_key)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "cover_url": self.cover_url,
            "song_count": self.song_count,
            "creator": self.creator,
        }


@dataclass(frozen=True, slots=True)
class LyricWord:
    """One karaoke-timed word from enhanced LRC; ``text`` keeps its spacing so words join into the line."""

    time_ms: int
    duration_ms: int
    text: str

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        obj = _object(data, path)
        return cls(
            time_ms=round(_number(obj.get("time_ms"), _at(path, "time_ms"))),
            duration_ms=_opt_int(obj.get("duration_ms"), _at(path, "duration_ms")) or 0,
            text=_str(obj.get("text"), _at(path, "text")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"time_ms": self.time_ms, "duration_ms": self.duration_ms, "text": self.text}


@dataclass(frozen=True, slots=True)
class LyricLine:
    """One timed lyric line; ``words`` is empty unless the source had word timings."""

    time_ms: int
    text: str
    translation: str | None = None
    words: tuple[LyricWord, ...] = ()

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        obj = _object(data, path)
        words_path = _at(path, "words")
        words = _list(obj.get("words") or [], words_path)
        return cls(
            time_ms=round(_number(obj.get("time_ms"), _at(path, "time_ms"))),
            text=_str(obj.get("text"), _at(path, "text")),
            translation=_opt_str(obj.get("translation"), _at(path, "translation")),
            words=tuple(LyricWord.from_plugin(word, path=f"{words_path}[{i}]") for i, word in enumerate(words)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_ms": self.time_ms,
            "text": self.text,
            "translation": self.translation,
            "words": [word.to_dict() for word in self.words],
        }


@dataclass(frozen=True, slots=True)
class Lyrics:
    """Lyrics of a song: the raw LRC (kept for export) and its parsed, time-sorted lines."""

    lrc: str
    translation: str | None = None
    lines: tuple[LyricLine, ...] = ()

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        """Accept a bare LRC string or ``{"lrc", "translation", "lines"}``.

        Lines the plugin supplies are validated and used as they are; otherwise they are parsed
        from ``lrc``, with ``translation`` (an LRC too) merged in.
        """
        if isinstance(data, str):
            data = {"lrc": data}
        obj = _object(data, path, "a string or an object")
        translation = _opt_str(obj.get("translation"), _at(path, "translation"))
        lines_path = _at(path, "lines")
        lines = _list(obj.get("lines") or [], lines_path)
        if not lines:
            # Imported here: script_api.lyrics builds LyricLines, so it imports this module.
            from script_api.lyrics import parse_lrc

            lrc = _str(obj.get("lrc"), _at(path, "lrc"))
            return cls(lrc=lrc, translation=translation, lines=parse_lrc(lrc, translation))
        return cls(
            lrc=_str(obj.get("lrc") or "", _at(path, "lrc")),
            translation=translation,
            lines=tuple(LyricLine.from_plugin(line, path=f"{lines_path}[{i}]") for i, line in enumerate(lines)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lrc": self.lrc,
            "translation": self.translation,
            "lines": [line.to_dict() for line in self.lines],
        }
