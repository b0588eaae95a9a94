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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from script_api.fields import as_id, as_json, as_list, as_number, as_object, as_str, at, opt_int, opt_str, pick


def _artists(value: Any, where: str) -> tuple[Artist, ...]:
    """Artists come as a list of dicts or names, or as one dict or name; blank names are dropped."""
    if value is None:
        return ()
    if isinstance(value, str) or (isinstance(value, Mapping) and value):
        entries = [(where, value)]
    else:
        entries = [(f"{where}[{i}]", item) for i, item in enumerate(as_list(value, where))]
    return tuple(Artist.from_plugin(item, path=path) for path, item in entries if item != "")


# Milliseconds unless noted; the first key the plugin set wins. ``dt`` is NetEase's name.
_DURATION_KEYS = (("duration_ms", 1), ("duration", 1), ("dt", 1), ("duration_s", 1000))


def _duration_ms(data: Mapping[str, Any], path: str) -> int | None:
    for key, scale in _DURATION_KEYS:
        if data.get(key) is not None:
            return round(as_number(data[key], at(path, key)) * scale)
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
        obj = as_object(data, path, "a string or an object")
        return cls(
            id=as_id(obj.get("id"), at(path, "id"), required=False),
            name=as_str(obj.get("name"), at(path, "name")),
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
        obj = as_object(data, path, "a string or an object")
        cover_key, cover = pick(obj, "cover_url", "cover")
        return cls(
            id=as_id(obj.get("id"), at(path, "id"), required=False),
            name=as_str(obj.get("name"), at(path, "name")),
            cover_url=opt_str(cover, at(path, cover_key)),
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
        obj = as_object(data, path)
        title_key, title = pick(obj, "title", "name")
        artists_key, artists = pick(obj, "artists", "artist")
        album = obj.get("album")
        return cls(
            id=as_id(obj.get("id"), at(path, "id")),
            title=as_str(title, at(path, title_key)),
            artists=_artists(artists, at(path, artists_key)),
            # Falsy covers "" and the empty table a Lua plugin sends for "no album".
            album=Album.from_plugin(album, path=at(path, "album")) if album else None,
            duration_ms=_duration_ms(obj, path),
            source=source or as_str(obj.get("source") or "", at(path, "source")),
            url=opt_str(obj.get("url"), at(path, "url")),
            extra=as_json(as_object(obj.get("extra") or {}, at(path, "extra")), at(path, "extra")),
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
        key, value = pick(value, "items", "songs")
        path = at(path, key)
    return [Song.from_plugin(item, source=source, path=f"{path}[{i}]") for i, item in enumerate(as_list(value, path))]


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
        obj = as_object(data, path)
        name_key, name = pick(obj, "name", "title")
        cover_key, cover = pick(obj, "cover_url", "cover")
        count_key, count = pick(obj, "song_count", "track_count")
        creator_key, creator = "creator", obj.get("creator")
        if isinstance(creator, Mapping):
            creator_key, creator = "creator.name", creator.get("name")
        return cls(
            id=as_id(obj.get("id"), at(path, "id")),
            name=as_str(name, at(path, name_key)),
            description=opt_str(obj.get("description"), at(path, "description")),
            cover_url=opt_str(cover, at(path, cover_key)),
            song_count=opt_int(count, at(path, count_key)),
            creator=opt_str(creator, at(path, creator_key)),
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


def media_source_from_plugin(value: Any, *, source: str, path: str = "") -> dict[str, Any] | None:
    """What `get_song_url` answers — a URL, or ``{"url", "headers"}`` — as ``{url, headers, source}``; None
    (or an empty answer) means the plugin has no URL for the song."""
    if not value:
        return None
    obj = {"url": value} if isinstance(value, str) else as_object(value, path, "a URL or an object")
    url = opt_str(obj.get("url"), at(path, "url"))
    if url is None:
        return None
    headers = as_object(obj.get("headers") or {}, at(path, "headers"))
    return {
        "url": url,
        "headers": {str(k): as_str(v, at(path, f"headers.{k}")) for k, v in headers.items()},
        "source": source,
    }


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What `fox.http.get` and `fox.http.request` answer: `ok` is a 2xx status, `url` the final one after
    redirects, `headers` with lowercase names (`header_list` keeps every value of a repeated one), `body` the
    text (`body_base64` instead with `binary`), and `json` the body decoded when it is JSON."""

    status: int
    ok: bool
    reason: str
    url: str
    headers: dict[str, str]
    header_list: list[Any]
    body: str | None = None
    body_base64: str | None = None
    json: Any = None
