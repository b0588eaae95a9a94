"""Whatever shape a plugin returns, the engine gets clean values back, or an error naming the field."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from script_api.lyrics import LyricLine, Lyrics, LyricWord
from script_api.types import Album, Artist, Playlist, Song, songs_from_plugin


def test_a_search_result_from_a_json_api_becomes_clean_songs() -> None:
    result = {
        "items": [
            {
                "id": 347230,
                "title": "Bohemian Rhapsody",
                "artists": [{"id": 1, "name": "Queen"}],
                "album": {"id": "a-9", "name": "A Night at the Opera", "cover": "https://img/1.jpg"},
                "duration": 354947,
                "url": "https://cdn/347230.mp3",
                "extra": {"quality": ["128k", "320k"]},
            },
            {"id": "x2", "name": "Untitled", "artist": "Somebody", "album": "", "url": ""},
        ]
    }
    first, second = songs_from_plugin(result, source="netease")

    assert first == Song(
        id="347230",
        title="Bohemian Rhapsody",
        artists=(Artist("1", "Queen"),),
        album=Album("a-9", "A Night at the Opera", "https://img/1.jpg"),
        duration_ms=354947,
        source="netease",
        url="https://cdn/347230.mp3",
        extra={"quality": ["128k", "320k"]},
    )
    assert second == Song(id="x2", title="Untitled", artists=(Artist("", "Somebody"),), source="netease")


@pytest.mark.parametrize(
    ("artists", "expected"),
    [
        (
            [{"id": 7, "name": "Daft Punk"}, {"name": "Pharrell"}],
            (Artist("7", "Daft Punk"), Artist("", "Pharrell")),
        ),
        (["Daft Punk", "", "Pharrell"], (Artist("", "Daft Punk"), Artist("", "Pharrell"))),
        ("Daft Punk", (Artist("", "Daft Punk"),)),
        ({"id": "dp", "name": "Daft Punk"}, (Artist("dp", "Daft Punk"),)),
        ("", ()),
        ({}, ()),  # an empty Lua table
        (None, ()),
    ],
)
def test_artists_are_accepted_in_every_shape_plugins_use(artists: Any, expected: tuple[Artist, ...]) -> None:
    song = Song.from_plugin({"id": 1, "title": "Get Lucky", "artists": artists})
    assert song.artists == expected


def test_the_singular_artist_key_is_an_alias() -> None:
    assert Song.from_plugin({"id": 1, "title": "T", "artist": "Solo"}).artists == (Artist("", "Solo"),)


@pytest.mark.parametrize(
    ("fields", "expected_ms"),
    [
        ({"duration": 215000}, 215000),
        ({"duration_ms": 215000}, 215000),
        ({"dt": 215000}, 215000),
        ({"duration_s": 215.5}, 215500),
        ({"duration": 215000.0}, 215000),  # JavaScript numbers arrive as floats
        ({"duration_ms": 1000, "duration_s": 99}, 1000),
        ({}, None),
    ],
)
def test_durations_are_normalised_to_milliseconds(fields: dict[str, Any], expected_ms: int | None) -> None:
    assert Song.from_plugin({"id": 1, "title": "T", **fields}).duration_ms == expected_ms


def test_the_engine_stamps_the_source_so_a_plugin_cannot_claim_another_plugins_songs() -> None:
    data = {"id": 1, "title": "T", "source": "spotify"}
    assert Song.from_plugin(data, source="my-plugin").source == "my-plugin"
    assert Song.from_plugin(data).source == "spotify"
    assert Song.from_plugin({"id": 1, "title": "T"}).source == ""
    with pytest.raises(ValueError, match=r"^source: expected a string, got int$"):
        Song.from_plugin({"id": 1, "title": "T", "source": 42})


def test_an_album_given_by_name_or_empty_table_is_normalised() -> None:
    assert Song.from_plugin({"id": 1, "title": "T", "album": "Discovery"}).album == Album("", "Discovery")
    assert Song.from_plugin({"id": 1, "title": "T", "album": {}}).album is None


def test_songs_can_be_deduplicated_even_with_extra_data() -> None:
    data = {"id": 1, "title": "T", "extra": {"token": "abc"}}
    assert len({Song.from_plugin(data), Song.from_plugin(data)}) == 1


@pytest.mark.parametrize(
    "value",
    [
        [{"id": 1, "title": "A"}],
        {"items": [{"id": 1, "title": "A"}], "total": 1},
        {"songs": [{"id": 1, "title": "A"}]},
    ],
)
def test_song_lists_come_bare_or_wrapped_in_a_page(value: Any) -> None:
    assert songs_from_plugin(value, source="p") == [Song("1", "A", source="p")]


def test_an_empty_lua_table_is_an_empty_song_list() -> None:
    assert songs_from_plugin({}, source="p") == []
    assert songs_from_plugin({"items": {}}, source="p") == []


@pytest.mark.parametrize(
    ("song", "message"),
    [
        ({"id": 1, "title": ["Bad"]}, "items[3].title: expected a string, got list"),
        ({"id": 1}, "items[3].title: expected a string, got None"),
        ({"title": "T"}, "items[3].id: expected a non-empty string or integer, got None"),
        ({"id": "", "title": "T"}, "items[3].id: expected a non-empty string or integer, got empty string"),
        ({"id": True, "title": "T"}, "items[3].id: expected a non-empty string or integer, got bool"),
        ({"id": 1, "name": 5}, "items[3].name: expected a string, got int"),
        ({"id": 1, "title": "T", "artists": 5}, "items[3].artists: expected a list, got int"),
        (
            {"id": 1, "title": "T", "artists": ["ok", ["x"]]},
            "items[3].artists[1]: expected a string or an object",
        ),
        (
            {"id": 1, "title": "T", "artist": [{"id": 1}]},
            "items[3].artist[0].name: expected a string, got None",
        ),
        ({"id": 1, "title": "T", "album": [1]}, "items[3].album: expected a string or an object, got list"),
        (
            {"id": 1, "title": "T", "album": {"name": "A", "cover": 3}},
            "items[3].album.cover: expected a string",
        ),
        ({"id": 1, "title": "T", "duration": "3:45"}, "items[3].duration: expected a number, got str"),
        ({"id": 1, "title": "T", "dt": -1}, "items[3].dt: expected a non-negative number, got -1"),
        ({"id": 1, "title": "T", "duration_s": float("nan")}, "items[3].duration_s: expected a non-negative"),
        ({"id": 1, "title": "T", "url": 42}, "items[3].url: expected a string, got int"),
        ({"id": 1, "title": "T", "extra": "x"}, "items[3].extra: expected an object, got str"),
        (
            {"id": 1, "title": "T", "extra": {"a": [1, {2}]}},
            "items[3].extra.a[1]: expected JSON data, got set",
        ),
        ({"id": 1, "title": "T", "extra": {1: "a"}}, "items[3].extra: expected string keys, got int key 1"),
        ("not a song", "items[3]: expected an object, got str"),
    ],
)
def test_junk_in_a_song_list_is_rejected_naming_the_field(song: Any, message: str) -> None:
    good = {"id": 1, "title": "Fine"}
    with pytest.raises(ValueError) as caught:
        songs_from_plugin({"items": [good, good, good, song]}, source="p")
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "expected a list, got None"),
        ("songs", "expected a list, got str"),
        ({"total": 0}, "items: expected a list, got None"),
        ([{"id": 1, "title": None}], "[0].title: expected a string, got None"),
    ],
)
def test_a_song_list_that_is_not_a_list_is_rejected(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        songs_from_plugin(value, source="p")


def test_the_caller_can_prefix_the_path() -> None:
    with pytest.raises(ValueError, match=r"^result\.title: expected a string, got int$"):
        Song.from_plugin({"id": 1, "title": 3}, path="result")


def test_a_playlist_with_common_aliases_is_normalised() -> None:
    playlist = Playlist.from_plugin(
        {
            "id": 9001,
            "title": "Road trip",
            "description": "",
            "cover": "https://img/p.jpg",
            "track_count": 42.0,
            "creator": {"id": 5, "name": "dj"},
        }
    )
    assert playlist == Playlist("9001", "Road trip", None, "https://img/p.jpg", 42, "dj")
    assert Playlist.from_plugin({"id": "p", "name": "Mix"}) == Playlist("p", "Mix")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": 1}, "pl.name: expected a string, got None"),
        ({"id": 1, "name": "N", "song_count": "many"}, "pl.song_count: expected a number, got str"),
        ({"id": 1, "name": "N", "creator": {"name": 3}}, "pl.creator.name: expected a string, got int"),
        ({"id": 1, "name": "N", "creator": ["x"]}, "pl.creator: expected a string, got list"),
        ([], "pl: expected an object, got list"),
    ],
)
def test_junk_playlists_are_rejected_naming_the_field(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Playlist.from_plugin(data, path="pl")
    assert str(caught.value) == message


def test_lyrics_returned_as_a_bare_lrc_string_are_parsed() -> None:
    lyrics = Lyrics.from_plugin("[ar:Someone]\n[00:01.00]Hello\n[00:03.50]World")
    assert lyrics.translation is None
    assert lyrics.lines == (LyricLine(1000, "Hello"), LyricLine(3500, "World"))


def test_lyrics_with_a_translation_get_it_merged_into_the_lines() -> None:
    lyrics = Lyrics.from_plugin({"lrc": "[00:01.00]你好\n[00:02.00]世界", "translation": "[00:01.00]Hello"})
    assert [(line.text, line.translation) for line in lyrics.lines] == [("你好", "Hello"), ("世界", None)]


def test_no_lyrics_found_is_an_empty_lyrics_value() -> None:
    assert Lyrics.from_plugin("") == Lyrics("")
    assert Lyrics.from_plugin({"lrc": "", "translation": ""}) == Lyrics("")


def test_lines_a_plugin_already_parsed_are_validated_and_used_as_given() -> None:
    lyrics = Lyrics.from_plugin(
        {
            "lrc": "",
            "lines": [
                {
                    "time_ms": 1000,
                    "text": "Hi there",
                    "words": [{"time_ms": 1000, "duration_ms": 300, "text": "Hi "}],
                },
                {"time_ms": 2000.0, "text": "Bye", "translation": "Ciao"},
            ],
        }
    )
    assert lyrics.lines == (
        LyricLine(1000, "Hi there", None, (LyricWord(1000, 300, "Hi "),)),
        LyricLine(2000, "Bye", "Ciao"),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "lyrics: expected a string or an object, got None"),
        ({"translation": "x"}, "lyrics.lrc: expected a string, got None"),
        ({"lrc": ["line"]}, "lyrics.lrc: expected a string, got list"),
        ({"lrc": "", "translation": 1}, "lyrics.translation: expected a string, got int"),
        ({"lines": "[00:01.00]x"}, "lyrics.lines: expected a list, got str"),
        ({"lines": [{"text": "x"}]}, "lyrics.lines[0].time_ms: expected a number, got None"),
        (
            {"lines": [{"time_ms": -5, "text": "x"}]},
            "lyrics.lines[0].time_ms: expected a non-negative number, got -5",
        ),
        ({"lines": [{"time_ms": 0}]}, "lyrics.lines[0].text: expected a string, got None"),
        (
            {"lines": [{"time_ms": 0, "text": "x", "words": [{"time_ms": 0, "text": 1}]}]},
            "lyrics.lines[0].words[0].text: expected a string, got int",
        ),
    ],
)
def test_junk_lyrics_are_rejected_naming_the_field(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Lyrics.from_plugin(data, path="lyrics")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "value",
    [
        Artist("1", "Queen"),
        Artist("", "Nameless id"),
        Album("a", "Album", None),
        Album("", "Only a name", "https://img/a.jpg"),
        Song(
            "s1",
            "Song",
            (Artist("1", "A"), Artist("", "B")),
            Album("", "Alb", "https://c"),
            1234,
            "plug",
            "https://u",
            {"nested": {"list": [1, 2.5, None, True]}},
        ),
        Song("s2", "Minimal"),
        Playlist("p", "List", "About", "https://c", 3, "me"),
        Playlist("p", "Bare"),
        LyricWord(10, 20, "word "),
        LyricLine(100, "text", "translation", (LyricWord(100, 50, "text"),)),
        Lyrics.from_plugin(
            {"lrc": "[00:01.00]<00:01.00>One <00:01.50>two\n[00:04.00]Three", "translation": "[00:04.00]Drei"}
        ),
        Lyrics("", None, ()),
    ],
    ids=lambda value: type(value).__name__,
)
def test_every_type_round_trips_through_json(value: Any) -> None:
    plain = json.loads(json.dumps(value.to_dict()))
    assert plain == value.to_dict()
    assert type(value).from_plugin(plain) == value


def test_to_dict_gives_lists_and_copies_not_the_values_internals() -> None:
    song = Song("1", "T", (Artist("", "A"),), extra={"tags": ["x"]})
    plain = song.to_dict()
    plain["extra"]["tags"].append("y")

    assert plain["artists"] == [{"id": "", "name": "A"}]
    assert song.extra == {"tags": ["x"]}
