"""foxplug's plugin functions (ARCHITECTURE §3.6) as the musicfox.plugin RPCs, and values both ways.

One row per function: which service and RPC answers it, how its arguments become the request, how the reply
becomes the plain data every other runtime returns. The server side (`foxplug serve --grpc`, the SDK) reads the
same rows the other way round, so the two ends cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.empty_pb2 import Empty
from google.protobuf.message import Message

from script_api.protos.musicfox import plugin_pb2 as pb

SERVICES = ("PluginService", "MusicSourceService", "PlayerService", "UIExtensionService")
PACKAGE = "musicfox.plugin"


def text_map(values: Mapping[str, Any] | None) -> dict[str, str]:
    """A foxplug mapping as a proto map<string, string>: strings as they are, other values as JSON text."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (values or {}).items() if v is not None}


def value_map(values: Mapping[str, str]) -> dict[str, Any]:
    """The other way: a value that parses as JSON (other than a bare string) becomes that value."""
    out: dict[str, Any] = {}
    for key, text in values.items():
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        out[key] = value if not isinstance(value, str) else text
    return out


# -- data types -------------------------------------------------------------------------------------------------


def song_to_proto(song: Mapping[str, Any] | None) -> pb.SongInfo:
    """A foxplug Song as SongInfo: artist names joined for display, the full list kept in metadata."""
    if not song:
        return pb.SongInfo()
    artists = [a for a in song.get("artists") or () if isinstance(a, Mapping)]
    album = song.get("album") if isinstance(song.get("album"), Mapping) else {}
    extra = dict(song.get("extra") or {})
    if len(artists) > 1 or any(a.get("id") for a in artists):
        extra["artists"] = [{"id": str(a.get("id", "")), "name": str(a.get("name", ""))} for a in artists]
    if album.get("id"):
        extra["album_id"] = str(album["id"])
    if song.get("url"):
        extra["url"] = song["url"]
    return pb.SongInfo(
        id=str(song.get("id", "")),
        title=str(song.get("title", "")),
        artist=" / ".join(str(a.get("name", "")) for a in artists),
        album=str(album.get("name", "")),
        duration=int(song.get("duration_ms") or 0),
        cover_url=str(album.get("cover_url") or ""),
        source=str(song.get("source", "")),
        metadata=text_map(extra),
    )


def song_from_proto(info: pb.SongInfo) -> dict[str, Any]:
    extra = value_map(info.metadata)
    artists = extra.pop("artists", None)
    if not isinstance(artists, list):
        artists = [{"id": "", "name": info.artist}] if info.artist else []
    song: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "artists": artists,
        "album": {"id": str(extra.pop("album_id", "")), "name": info.album, "cover_url": info.cover_url},
        "duration_ms": info.duration,
        "source": info.source,
        "extra": extra,
    }
    if isinstance(extra.get("url"), str):
        song["url"] = extra.pop("url")
    return song


def playlist_to_proto(playlist: Mapping[str, Any]) -> pb.PlaylistInfo:
    return pb.PlaylistInfo(
        id=str(playlist.get("id", "")),
        name=str(playlist.get("name", "")),
        description=str(playlist.get("description") or ""),
        cover_url=str(playlist.get("cover_url") or ""),
        song_count=int(playlist.get("song_count") or 0),
        creator=str(playlist.get("creator") or ""),
    )


def playlist_from_proto(info: pb.PlaylistInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "description": info.description,
        "cover_url": info.cover_url,
        "song_count": info.song_count,
        "creator": info.creator,
    }


def menu_to_proto(entry: Mapping[str, Any]) -> pb.MenuItem:
    known = {"id", "label", "description", "shortcut", "enabled", "children"}
    return pb.MenuItem(
        id=str(entry.get("id", "")),
        title=str(entry.get("label", entry.get("id", ""))),
        description=str(entry.get("description") or ""),
        shortcut=str(entry.get("shortcut") or ""),
        enabled=bool(entry.get("enabled", True)),
        children=[menu_to_proto(c) for c in entry.get("children") or () if isinstance(c, Mapping)],
        metadata=text_map({k: v for k, v in entry.items() if k not in known}),
    )


def menu_from_proto(item: pb.MenuItem) -> dict[str, Any]:
    entry: dict[str, Any] = {**value_map(item.metadata), "id": item.id, "label": item.title or item.id}
    if item.description:
        entry["description"] = item.description
    if item.shortcut:
        entry["shortcut"] = item.shortcut
    if not item.enabled:
        entry["enabled"] = False
    if item.children:
        entry["children"] = [menu_from_proto(c) for c in item.children]
    return entry


def theme_to_proto(theme: Mapping[str, Any]) -> pb.Theme:
    name = str(theme.get("name", ""))
    return pb.Theme(id=str(theme.get("id") or name), name=name, colors=text_map(theme.get("colors")))


def theme_from_proto(theme: pb.Theme) -> dict[str, Any]:
    return {"id": theme.id, "name": theme.name, "colors": dict(theme.colors), **value_map(theme.metadata)}


def _items(answer: Any) -> list[Any]:
    items = answer.get("items", []) if isinstance(answer, Mapping) else answer
    return list(items) if isinstance(items, list) else []


# -- the functions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rpc:
    """One plugin function as one RPC: `request(*args)` builds the request; `reply(message)` reads the answer.

    `arguments(request)` and `answer(value, request)` are the server's half: the request as that function's
    arguments, and its return value as the reply.
    """

    function: str
    service: str
    method: str
    request: Callable[..., Message]
    reply: Callable[[Any], Any]
    arguments: Callable[[Any], tuple[Any, ...]]
    answer: Callable[[Any, Any], Message]
    request_type: type[Message]
    reply_type: type[Message]

    @property
    def path(self) -> str:
        return f"/{PACKAGE}.{self.service}/{self.method}"


def _search_request(query: str, opts: Mapping[str, Any] | None = None) -> pb.SearchRequest:
    opts = dict(opts or {})
    return pb.SearchRequest(
        query=str(query),
        type=str(opts.pop("type", "song")),
        limit=int(opts.pop("limit", 20)),
        offset=int(opts.pop("offset", 0)),
        filters=text_map(opts),
    )


def _search_reply(reply: pb.SearchResponse) -> list[dict[str, Any]]:
    return [
        *map(song_from_proto, reply.songs),
        *map(playlist_from_proto, reply.playlists),
        *({"id": a.id, "name": a.name, "artist": a.artist, "cover_url": a.cover_url} for a in reply.albums),
        *({"id": a.id, "name": a.name, "avatar_url": a.avatar_url} for a in reply.artists),
    ]


def _search_answer(answer: Any, request: pb.SearchRequest) -> pb.SearchResponse:
    kind = request.type or "song"
    items = [i for i in _items(answer) if isinstance(i, Mapping)]
    if kind == "playlist":
        return pb.SearchResponse(playlists=map(playlist_to_proto, items), total=len(items))
    if kind == "album":
        albums = (pb.AlbumInfo(id=str(i.get("id", "")), name=str(i.get("name", ""))) for i in items)
        return pb.SearchResponse(albums=albums, total=len(items))
    if kind == "artist":
        artists = (pb.ArtistInfo(id=str(i.get("id", "")), name=str(i.get("name", ""))) for i in items)
        return pb.SearchResponse(artists=artists, total=len(items))
    return pb.SearchResponse(songs=map(song_to_proto, items), total=len(items))


def _lyrics_reply(reply: pb.LyricsResponse) -> dict[str, Any] | None:
    if not (reply.lrc or reply.plain):
        return None
    found = {"lrc": reply.lrc or None, "translation": reply.translation or None, "plain": reply.plain or None}
    return {k: v for k, v in found.items() if v is not None}


def _lyrics_answer(answer: Any) -> pb.LyricsResponse:
    if isinstance(answer, str):
        return pb.LyricsResponse(lrc=answer)
    answer = answer or {}
    return pb.LyricsResponse(
        lrc=answer.get("lrc") or "", translation=answer.get("translation") or "", plain=answer.get("plain") or ""
    )


def _song_url_reply(reply: pb.SongURLResponse) -> dict[str, Any] | None:
    return {"url": reply.url, "headers": dict(reply.headers)} if reply.url else None


def _song_url_answer(answer: Any) -> pb.SongURLResponse:
    if isinstance(answer, str):
        return pb.SongURLResponse(url=answer)
    answer = answer or {}
    return pb.SongURLResponse(url=answer.get("url") or "", headers=text_map(answer.get("headers")))


def _health_reply(reply: pb.HealthResponse) -> dict[str, Any]:
    return {"status": pb.HealthResponse.Status.Name(reply.status), "message": reply.message}


def _init_request(config: Mapping[str, Any] | None = None, plugin_id: str = "", version: str = "") -> Message:
    return pb.InitializeRequest(config=text_map(config), plugin_id=plugin_id, version=version)


def _none(_reply: Any) -> None:
    return None


def _empty(*_args: Any) -> Empty:
    return Empty()


def _row(
    function: str,
    service: str,
    method: str,
    types: tuple[type[Message], type[Message]],
    request: Callable[..., Message],
    reply: Callable[[Any], Any],
    arguments: Callable[[Any], tuple[Any, ...]],
    answer: Callable[[Any], Message],
    *,
    answer_reads_request: bool = False,
) -> Rpc:
    def respond(value: Any, req: Message) -> Message:
        return answer(value, req) if answer_reads_request else answer(value)  # type: ignore[call-arg]

    return Rpc(function, service, method, request, reply, arguments, respond, *types)


ROWS: tuple[Rpc, ...] = (
    _row(
        "search",
        "MusicSourceService",
        "Search",
        (pb.SearchRequest, pb.SearchResponse),
        _search_request,
        _search_reply,
        lambda r: (r.query, {"type": r.type or "song", "limit": r.limit or 20, **value_map(r.filters)}),
        _search_answer,
        answer_reads_request=True,
    ),
    _row(
        "suggest",
        "MusicSourceService",
        "GetSuggestions",
        (pb.SuggestionsRequest, pb.SuggestionsResponse),
        lambda query, limit=10: pb.SuggestionsRequest(query=str(query), limit=int(limit)),
        lambda r: list(r.suggestions),
        lambda r: (r.query,),
        lambda a: pb.SuggestionsResponse(suggestions=[str(s) for s in _items(a)]),
    ),
    _row(
        "get_playlist",
        "MusicSourceService",
        "GetPlaylist",
        (pb.PlaylistRequest, pb.PlaylistResponse),
        lambda playlist_id: pb.PlaylistRequest(playlist_id=str(playlist_id)),
        lambda r: playlist_from_proto(r.playlist) if r.HasField("playlist") else None,
        lambda r: (r.playlist_id,),
        lambda a: pb.PlaylistResponse(playlist=playlist_to_proto(a)) if a else pb.PlaylistResponse(),
    ),
    _row(
        "get_playlist_songs",
        "MusicSourceService",
        "GetPlaylistSongs",
        (pb.PlaylistSongsRequest, pb.PlaylistSongsResponse),
        lambda pid, offset=0, limit=50: pb.PlaylistSongsRequest(playlist_id=str(pid), offset=offset, limit=limit),
        lambda r: [song_from_proto(s) for s in r.songs],
        lambda r: (r.playlist_id, r.offset, r.limit or 50),
        lambda a: pb.PlaylistSongsResponse(songs=map(song_to_proto, _items(a))),
    ),
    _row(
        "get_song_url",
        "MusicSourceService",
        "GetSongURL",
        (pb.SongURLRequest, pb.SongURLResponse),
        lambda song_id, quality="": pb.SongURLRequest(song_id=str(song_id), quality=str(quality or "")),
        _song_url_reply,
        lambda r: (r.song_id, r.quality or None),
        _song_url_answer,
    ),
    _row(
        "get_lyrics",
        "MusicSourceService",
        "GetSongLyrics",
        (pb.LyricsRequest, pb.LyricsResponse),
        lambda song: pb.LyricsRequest(song_id=str((song or {}).get("id", "")), song=song_to_proto(song)),
        _lyrics_reply,
        lambda r: (song_from_proto(r.song) if r.HasField("song") else {"id": r.song_id},),
        _lyrics_answer,
    ),
    _row(
        "get_song_detail",
        "MusicSourceService",
        "GetSongInfo",
        (pb.SongInfoRequest, pb.SongInfoResponse),
        lambda song_id: pb.SongInfoRequest(song_id=str(song_id)),
        lambda r: song_from_proto(r.song) if r.HasField("song") else None,
        lambda r: (r.song_id,),
        lambda a: pb.SongInfoResponse(song=song_to_proto(a)) if a else pb.SongInfoResponse(),
    ),
    _row(
        "login",
        "MusicSourceService",
        "Login",
        (pb.LoginRequest, pb.LoginResponse),
        lambda credentials: pb.LoginRequest(credentials=text_map(credentials)),
        lambda r: {"success": r.success, "message": r.message, "user_id": r.user_id, "nickname": r.nickname},
        lambda r: (value_map(r.credentials),),
        lambda a: pb.LoginResponse(
            success=bool((a or {}).get("success", True)),
            message=str((a or {}).get("message", "")),
            user_id=str((a or {}).get("user_id", "")),
            nickname=str((a or {}).get("nickname", "")),
        ),
    ),
    _row(
        "get_user_playlists",
        "MusicSourceService",
        "GetUserPlaylists",
        (pb.UserPlaylistsRequest, pb.UserPlaylistsResponse),
        lambda user_id: pb.UserPlaylistsRequest(user_id=str(user_id)),
        lambda r: [playlist_from_proto(p) for p in r.playlists],
        lambda r: (r.user_id,),
        lambda a: pb.UserPlaylistsResponse(playlists=map(playlist_to_proto, _items(a))),
    ),
    _row(
        "menus",
        "UIExtensionService",
        "GetMenuItems",
        (pb.MenuRequest, pb.MenuResponse),
        lambda ctx=None: pb.MenuRequest(context=text_map(ctx)),
        lambda r: [menu_from_proto(i) for i in r.items],
        lambda r: (value_map(r.context),),
        lambda a: pb.MenuResponse(items=[menu_to_proto(e) for e in _items(a) if isinstance(e, Mapping)]),
    ),
    _row(
        "on_action",
        "UIExtensionService",
        "HandleMenuAction",
        (pb.MenuActionRequest, pb.MenuActionResponse),
        lambda action_id, ctx=None: pb.MenuActionRequest(action_id=str(action_id), context=text_map(ctx)),
        lambda r: {"success": r.success, "message": r.message, **value_map(r.data)},
        lambda r: (r.action_id, value_map(r.context)),
        lambda a: pb.MenuActionResponse(
            success=True,
            message=a if isinstance(a, str) else "",
            data=text_map(a if isinstance(a, Mapping) else {}),
        ),
    ),
    _row(
        "themes",
        "UIExtensionService",
        "GetThemes",
        (Empty, pb.ThemesResponse),
        _empty,
        lambda r: [theme_from_proto(t) for t in r.themes],
        lambda r: (),
        lambda a: pb.ThemesResponse(themes=[theme_to_proto(t) for t in _items(a) if isinstance(t, Mapping)]),
    ),
    _row(
        "init",
        "PluginService",
        "Initialize",
        (pb.InitializeRequest, pb.InitializeResponse),
        _init_request,
        _none,
        lambda r: (value_map(r.config),),
        lambda a: pb.InitializeResponse(success=True),
    ),
    _row("start", "PluginService", "Start", (Empty, Empty), _empty, _none, lambda r: (), lambda a: Empty()),
    _row("stop", "PluginService", "Stop", (Empty, Empty), _empty, _none, lambda r: (), lambda a: Empty()),
    _row(
        "health",
        "PluginService",
        "HealthCheck",
        (Empty, pb.HealthResponse),
        _empty,
        _health_reply,
        lambda r: (),
        lambda a: pb.HealthResponse(status=pb.HealthResponse.SERVING, message=str((a or {}).get("message", ""))),
    ),
)
BY_FUNCTION: dict[str, Rpc] = {row.function: row for row in ROWS}
LIFECYCLE = ("init", "start", "stop", "health")
"""PluginService functions every service is asked for; one that does not implement them (UNIMPLEMENTED) is fine."""
