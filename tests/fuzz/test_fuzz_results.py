"""Whatever a source answers, reading it gives items or a ValueError naming the field: never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from strategies import deeply_nested, json_like, shaped

from script_api.lyrics import Lyrics
from script_api.types import Playlist, songs_from_plugin

SONG_KEYS = ["id", "title", "name", "artists", "artist", "album", "duration_ms", "duration", "dt", "duration_s"]
SONG_KEYS += ["url", "source", "extra"]
songs = st.lists(st.one_of(shaped(SONG_KEYS), json_like), max_size=4)
answers = st.one_of(songs, st.fixed_dictionaries({"items": songs}), json_like)


def read_or_refuse(reader: Any, value: Any) -> Any:
    try:
        return reader(value)
    except ValueError as error:  # the one way to refuse, with the field's path first
        assert str(error)
        return None


@given(answers)
def test_songs_are_read_or_refused(answer: Any) -> None:
    songs = read_or_refuse(lambda value: songs_from_plugin(value, source="fuzz"), answer)
    for song in songs or []:
        assert songs_from_plugin([song.to_dict()], source="fuzz") == [song]


@given(st.one_of(shaped(["id", "name", "title", "cover", "song_count", "track_count", "creator"]), json_like))
def test_playlists_are_read_or_refused(answer: Any) -> None:
    read_or_refuse(Playlist.from_plugin, answer)


@given(st.integers(min_value=70, max_value=5000))
def test_deep_extra_is_refused_not_a_recursion_error(depth: int) -> None:
    assert (
        read_or_refuse(
            lambda value: songs_from_plugin(value, source="fuzz"),
            [{"id": 1, "title": "x", "extra": {"d": deeply_nested(depth)}}],
        )
        is None
    )


LINE_KEYS = ["time_ms", "text", "translation", "words"]
lines = st.lists(st.one_of(shaped(LINE_KEYS), json_like), max_size=4)


@given(st.one_of(st.text(), shaped(["lrc", "translation", "lines"]), st.fixed_dictionaries({"lines": lines})))
def test_lyrics_answers_are_read_or_refused(answer: Any) -> None:
    read_or_refuse(Lyrics.from_plugin, answer)
