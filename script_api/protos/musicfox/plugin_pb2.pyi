import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InitializeRequest(_message.Message):
    __slots__ = ("config", "plugin_id", "version")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    config: _containers.ScalarMap[str, str]
    plugin_id: str
    version: str
    def __init__(self, config: _Optional[_Mapping[str, str]] = ..., plugin_id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class InitializeResponse(_message.Message):
    __slots__ = ("success", "message", "info")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    info: PluginInfo
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., info: _Optional[_Union[PluginInfo, _Mapping]] = ...) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("status", "message", "timestamp")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[HealthResponse.Status]
        SERVING: _ClassVar[HealthResponse.Status]
        NOT_SERVING: _ClassVar[HealthResponse.Status]
        SERVICE_UNKNOWN: _ClassVar[HealthResponse.Status]
    UNKNOWN: HealthResponse.Status
    SERVING: HealthResponse.Status
    NOT_SERVING: HealthResponse.Status
    SERVICE_UNKNOWN: HealthResponse.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    status: HealthResponse.Status
    message: str
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[HealthResponse.Status, str]] = ..., message: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PluginInfo(_message.Message):
    __slots__ = ("id", "name", "version", "description", "author", "capabilities", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    version: str
    description: str
    author: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., author: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CapabilitiesResponse(_message.Message):
    __slots__ = ("capabilities", "capability_config")
    class CapabilityConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _any_pb2.Any
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_CONFIG_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    capability_config: _containers.MessageMap[str, _any_pb2.Any]
    def __init__(self, capabilities: _Optional[_Iterable[str]] = ..., capability_config: _Optional[_Mapping[str, _any_pb2.Any]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "type", "limit", "offset", "filters")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    query: str
    type: str
    limit: int
    offset: int
    filters: _containers.ScalarMap[str, str]
    def __init__(self, query: _Optional[str] = ..., type: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., filters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("songs", "playlists", "albums", "artists", "total", "has_more")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    PLAYLISTS_FIELD_NUMBER: _ClassVar[int]
    ALBUMS_FIELD_NUMBER: _ClassVar[int]
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[SongInfo]
    playlists: _containers.RepeatedCompositeFieldContainer[PlaylistInfo]
    albums: _containers.RepeatedCompositeFieldContainer[AlbumInfo]
    artists: _containers.RepeatedCompositeFieldContainer[ArtistInfo]
    total: int
    has_more: bool
    def __init__(self, songs: _Optional[_Iterable[_Union[SongInfo, _Mapping]]] = ..., playlists: _Optional[_Iterable[_Union[PlaylistInfo, _Mapping]]] = ..., albums: _Optional[_Iterable[_Union[AlbumInfo, _Mapping]]] = ..., artists: _Optional[_Iterable[_Union[ArtistInfo, _Mapping]]] = ..., total: _Optional[int] = ..., has_more: _Optional[bool] = ...) -> None: ...

class SongInfo(_message.Message):
    __slots__ = ("id", "title", "artist", "album", "duration", "cover_url", "source", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_FIELD_NUMBER: _ClassVar[int]
    ALBUM_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    artist: str
    album: str
    duration: int
    cover_url: str
    source: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., artist: _Optional[str] = ..., album: _Optional[str] = ..., duration: _Optional[int] = ..., cover_url: _Optional[str] = ..., source: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PlaylistInfo(_message.Message):
    __slots__ = ("id", "name", "description", "cover_url", "song_count", "creator", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    SONG_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    cover_url: str
    song_count: int
    creator: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., cover_url: _Optional[str] = ..., song_count: _Optional[int] = ..., creator: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlayRequest(_message.Message):
    __slots__ = ("song_id", "url", "start_position")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    START_POSITION_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    url: str
    start_position: int
    def __init__(self, song_id: _Optional[str] = ..., url: _Optional[str] = ..., start_position: _Optional[int] = ...) -> None: ...

class PlayResponse(_message.Message):
    __slots__ = ("success", "message", "duration")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    duration: int
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., duration: _Optional[int] = ...) -> None: ...

class PlayerStateResponse(_message.Message):
    __slots__ = ("state", "position", "duration", "volume", "current_song")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[PlayerStateResponse.State]
        PLAYING: _ClassVar[PlayerStateResponse.State]
        PAUSED: _ClassVar[PlayerStateResponse.State]
        STOPPED: _ClassVar[PlayerStateResponse.State]
        BUFFERING: _ClassVar[PlayerStateResponse.State]
        ERROR: _ClassVar[PlayerStateResponse.State]
    UNKNOWN: PlayerStateResponse.State
    PLAYING: PlayerStateResponse.State
    PAUSED: PlayerStateResponse.State
    STOPPED: PlayerStateResponse.State
    BUFFERING: PlayerStateResponse.State
    ERROR: PlayerStateResponse.State
    STATE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SONG_FIELD_NUMBER: _ClassVar[int]
    state: PlayerStateResponse.State
    position: int
    duration: int
    volume: float
    current_song: SongInfo
    def __init__(self, state: _Optional[_Union[PlayerStateResponse.State, str]] = ..., position: _Optional[int] = ..., duration: _Optional[int] = ..., volume: _Optional[float] = ..., current_song: _Optional[_Union[SongInfo, _Mapping]] = ...) -> None: ...

class AlbumInfo(_message.Message):
    __slots__ = ("id", "name", "artist", "cover_url", "song_count", "published_at", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARTIST_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    SONG_COUNT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    artist: str
    cover_url: str
    song_count: int
    published_at: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., artist: _Optional[str] = ..., cover_url: _Optional[str] = ..., song_count: _Optional[int] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ArtistInfo(_message.Message):
    __slots__ = ("id", "name", "avatar_url", "album_count", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    ALBUM_COUNT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    avatar_url: str
    album_count: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., avatar_url: _Optional[str] = ..., album_count: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SuggestionsRequest(_message.Message):
    __slots__ = ("query", "limit")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    query: str
    limit: int
    def __init__(self, query: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SuggestionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, suggestions: _Optional[_Iterable[str]] = ...) -> None: ...

class PlaylistRequest(_message.Message):
    __slots__ = ("playlist_id", "songs", "start_index")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    SONGS_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    songs: _containers.RepeatedCompositeFieldContainer[SongInfo]
    start_index: int
    def __init__(self, playlist_id: _Optional[str] = ..., songs: _Optional[_Iterable[_Union[SongInfo, _Mapping]]] = ..., start_index: _Optional[int] = ...) -> None: ...

class PlaylistResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: PlaylistInfo
    def __init__(self, playlist: _Optional[_Union[PlaylistInfo, _Mapping]] = ...) -> None: ...

class PlaylistSongsRequest(_message.Message):
    __slots__ = ("playlist_id", "offset", "limit")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    offset: int
    limit: int
    def __init__(self, playlist_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class PlaylistSongsResponse(_message.Message):
    __slots__ = ("songs", "total", "has_more")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[SongInfo]
    total: int
    has_more: bool
    def __init__(self, songs: _Optional[_Iterable[_Union[SongInfo, _Mapping]]] = ..., total: _Optional[int] = ..., has_more: _Optional[bool] = ...) -> None: ...

class SongURLRequest(_message.Message):
    __slots__ = ("song_id", "quality", "song")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SONG_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    quality: str
    song: SongInfo
    def __init__(self, song_id: _Optional[str] = ..., quality: _Optional[str] = ..., song: _Optional[_Union[SongInfo, _Mapping]] = ...) -> None: ...

class SongURLResponse(_message.Message):
    __slots__ = ("url", "headers", "quality", "size", "expires_at")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    url: str
    headers: _containers.ScalarMap[str, str]
    quality: str
    size: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., quality: _Optional[str] = ..., size: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LyricsRequest(_message.Message):
    __slots__ = ("song_id", "song")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    SONG_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    song: SongInfo
    def __init__(self, song_id: _Optional[str] = ..., song: _Optional[_Union[SongInfo, _Mapping]] = ...) -> None: ...

class LyricsResponse(_message.Message):
    __slots__ = ("lrc", "translation", "plain")
    LRC_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    PLAIN_FIELD_NUMBER: _ClassVar[int]
    lrc: str
    translation: str
    plain: str
    def __init__(self, lrc: _Optional[str] = ..., translation: _Optional[str] = ..., plain: _Optional[str] = ...) -> None: ...

class SongInfoRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class SongInfoResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: SongInfo
    def __init__(self, song: _Optional[_Union[SongInfo, _Mapping]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("credentials",)
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    credentials: _containers.ScalarMap[str, str]
    def __init__(self, credentials: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("success", "message", "user_id", "nickname", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    user_id: str
    nickname: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., user_id: _Optional[str] = ..., nickname: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UserPlaylistsRequest(_message.Message):
    __slots__ = ("user_id", "offset", "limit")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    offset: int
    limit: int
    def __init__(self, user_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class UserPlaylistsResponse(_message.Message):
    __slots__ = ("playlists", "total", "has_more")
    PLAYLISTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    playlists: _containers.RepeatedCompositeFieldContainer[PlaylistInfo]
    total: int
    has_more: bool
    def __init__(self, playlists: _Optional[_Iterable[_Union[PlaylistInfo, _Mapping]]] = ..., total: _Optional[int] = ..., has_more: _Optional[bool] = ...) -> None: ...

class SeekRequest(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class VolumeRequest(_message.Message):
    __slots__ = ("volume",)
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    volume: float
    def __init__(self, volume: _Optional[float] = ...) -> None: ...

class VolumeResponse(_message.Message):
    __slots__ = ("volume",)
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    volume: float
    def __init__(self, volume: _Optional[float] = ...) -> None: ...

class MenuRequest(_message.Message):
    __slots__ = ("menu_id", "context")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MENU_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    menu_id: str
    context: _containers.ScalarMap[str, str]
    def __init__(self, menu_id: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MenuItem(_message.Message):
    __slots__ = ("id", "title", "description", "shortcut", "enabled", "children", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    shortcut: str
    enabled: bool
    children: _containers.RepeatedCompositeFieldContainer[MenuItem]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., shortcut: _Optional[str] = ..., enabled: _Optional[bool] = ..., children: _Optional[_Iterable[_Union[MenuItem, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MenuResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MenuItem]
    def __init__(self, items: _Optional[_Iterable[_Union[MenuItem, _Mapping]]] = ...) -> None: ...

class MenuActionRequest(_message.Message):
    __slots__ = ("action_id", "context")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    context: _containers.ScalarMap[str, str]
    def __init__(self, action_id: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MenuActionResponse(_message.Message):
    __slots__ = ("success", "message", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UIComponentsRequest(_message.Message):
    __slots__ = ("view", "context")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VIEW_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    view: str
    context: _containers.ScalarMap[str, str]
    def __init__(self, view: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UIComponent(_message.Message):
    __slots__ = ("id", "type", "content", "position", "properties")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    content: str
    position: str
    properties: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., content: _Optional[str] = ..., position: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UIComponentsResponse(_message.Message):
    __slots__ = ("components",)
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[UIComponent]
    def __init__(self, components: _Optional[_Iterable[_Union[UIComponent, _Mapping]]] = ...) -> None: ...

class UIEventRequest(_message.Message):
    __slots__ = ("component_id", "event", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    component_id: str
    event: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, component_id: _Optional[str] = ..., event: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UIEventResponse(_message.Message):
    __slots__ = ("handled", "message", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HANDLED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    handled: bool
    message: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, handled: _Optional[bool] = ..., message: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Theme(_message.Message):
    __slots__ = ("id", "name", "colors", "metadata")
    class ColorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLORS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    colors: _containers.ScalarMap[str, str]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., colors: _Optional[_Mapping[str, str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ThemesResponse(_message.Message):
    __slots__ = ("themes",)
    THEMES_FIELD_NUMBER: _ClassVar[int]
    themes: _containers.RepeatedCompositeFieldContainer[Theme]
    def __init__(self, themes: _Optional[_Iterable[_Union[Theme, _Mapping]]] = ...) -> None: ...

class ThemeRequest(_message.Message):
    __slots__ = ("theme_id",)
    THEME_ID_FIELD_NUMBER: _ClassVar[int]
    theme_id: str
    def __init__(self, theme_id: _Optional[str] = ...) -> None: ...
