"""A player shows lyrics parsed from the LRC text a plugin fetched; these are the files it meets."""

from __future__ import annotations

import pytest

from script_api.lyrics import LyricLine, LyricWord, parse_lrc


def timeline(lines: tuple[LyricLine, ...]) -> list[tuple[int, str]]:
    return [(line.time_ms, line.text) for line in lines]


def test_a_typical_lrc_file_gives_timed_lines_and_ignores_its_header() -> None:
    lrc = """[ti:Yesterday]
[ar:The Beatles]
[al:Help!]
[by:lyricsfan]
[length: 02:05]
[re:SomeEditor]
[ve:1.0]

[00:00.50]Yesterday
[00:05.12]All my troubles seemed so far away
[00:10.8]Now it looks as though they're here to stay
"""
    assert timeline(parse_lrc(lrc)) == [
        (500, "Yesterday"),
        (5120, "All my troubles seemed so far away"),
        (10800, "Now it looks as though they're here to stay"),
    ]


def test_a_repeated_chorus_with_several_timestamps_appears_at_each_time_in_order() -> None:
    lrc = "[00:12.00][01:30.50]Na na na\n[00:20.00]Verse two\n[01:40.00]Outro"
    assert timeline(parse_lrc(lrc)) == [
        (12000, "Na na na"),
        (20000, "Verse two"),
        (90500, "Na na na"),
        (100000, "Outro"),
    ]


@pytest.mark.parametrize(
    ("stamp", "expected_ms"),
    [
        ("[01:02]", 62000),
        ("[01:02.3]", 62300),
        ("[01:02.34]", 62340),
        ("[01:02.345]", 62345),
        ("[01:02:34]", 62340),
        ("[1:02.34]", 62340),
        ("[101:02.00]", 6062000),
        ("[ 01:02.34 ]", 62340),
    ],
)
def test_every_common_timestamp_spelling_is_understood(stamp: str, expected_ms: int) -> None:
    assert timeline(parse_lrc(f"{stamp}Line")) == [(expected_ms, "Line")]


def test_a_positive_offset_shows_lyrics_sooner_and_never_before_the_song_starts() -> None:
    lrc = "[offset:+500]\n[00:00.20]Intro\n[00:10.00]Verse"
    assert timeline(parse_lrc(lrc)) == [(0, "Intro"), (9500, "Verse")]


def test_a_negative_offset_shows_lyrics_later_even_when_the_tag_comes_last() -> None:
    lrc = "[00:10.00]Verse\n[offset:-250]"
    assert timeline(parse_lrc(lrc)) == [(10250, "Verse")]


def test_lines_out_of_order_are_sorted_and_equal_times_keep_file_order() -> None:
    lrc = "[00:30.00]Third\n[00:10.00]First\n[00:20.00]Second A\n[00:20.00]Second B"
    assert timeline(parse_lrc(lrc)) == [
        (10000, "First"),
        (20000, "Second A"),
        (20000, "Second B"),
        (30000, "Third"),
    ]


def test_blank_and_garbage_lines_are_skipped_without_error() -> None:
    lrc = """
just some text with no time
[Chorus]
[00:75.00]seconds out of range
[aa:bb.cc]letters
<00:01.00>word tag without a line tag
[00:01.00]Real line
   \t
[00:02.00]Another real line
"""
    assert timeline(parse_lrc(lrc)) == [(1000, "Real line"), (2000, "Another real line")]


def test_an_empty_timestamped_line_is_kept_because_it_ends_the_line_before_it() -> None:
    assert timeline(parse_lrc("[00:01.00]Hello\n[00:04.00]\n[00:09.00]Again")) == [
        (1000, "Hello"),
        (4000, ""),
        (9000, "Again"),
    ]


def test_nothing_to_show_gives_no_lines() -> None:
    assert parse_lrc("") == ()
    assert parse_lrc("[ti:Instrumental]\n[ar:Nobody]") == ()


def test_windows_line_endings_and_a_byte_order_mark_are_harmless() -> None:
    lrc = "\ufeff[00:01.00]One\r\n[00:02.00]Two\r\n"
    assert timeline(parse_lrc(lrc)) == [(1000, "One"), (2000, "Two")]


def test_enhanced_lrc_gives_karaoke_word_timings_and_a_clean_line_text() -> None:
    lrc = "[00:12.00]<00:12.00>Hello <00:12.50>darkness <00:13.25>my <00:13.60>old <00:14.00>friend\n[00:16.00]Next"
    first, second = parse_lrc(lrc)

    assert first.text == "Hello darkness my old friend"
    assert first.words == (
        LyricWord(12000, 500, "Hello "),
        LyricWord(12500, 750, "darkness "),
        LyricWord(13250, 350, "my "),
        LyricWord(13600, 400, "old "),
        LyricWord(14000, 2000, "friend"),  # the last word lasts until the next line
    )
    assert "".join(word.text for word in first.words) == first.text
    assert second.words == ()


def test_a_closing_word_tag_ends_the_last_word_and_the_final_line_has_no_next_line() -> None:
    closed, final = parse_lrc("[00:01.00]<00:01.00>Hey <00:01.40>you<00:02.00>\n[00:05.00]<00:05.00>Bye")

    assert closed.words == (LyricWord(1000, 400, "Hey "), LyricWord(1400, 600, "you"))
    assert final.words == (LyricWord(5000, 0, "Bye"),)


def test_text_before_the_first_word_tag_starts_with_the_line() -> None:
    (line,) = parse_lrc("[00:03.00]Oh <00:03.50>yeah")
    assert line.text == "Oh yeah"
    assert line.words == (LyricWord(3000, 500, "Oh "), LyricWord(3500, 0, "yeah"))


def test_word_timings_follow_the_offset_and_each_repeat_of_a_line() -> None:
    lrc = "[offset:100]\n[00:10.00][00:40.00]<00:10.00>La <00:10.50>la\n[00:20.00]Verse\n[00:50.00]End"
    chorus, _, repeat, _ = parse_lrc(lrc)

    assert chorus.words == (LyricWord(9900, 500, "La "), LyricWord(10400, 9500, "la"))
    assert repeat.time_ms == 39900
    assert repeat.words == (LyricWord(39900, 500, "La "), LyricWord(40400, 9500, "la"))


def test_a_translation_lrc_is_attached_to_the_lines_it_translates() -> None:
    original = "[ti:Sakura]\n[00:10.00]桜が咲いた\n[00:15.00]春が来た\n[00:20.00]♪"
    translation = "[by:translator]\n[00:10.00]The cherry blossoms bloomed\n[00:15.00]Spring has come"
    lines = parse_lrc(original, translation)

    assert [(line.text, line.translation) for line in lines] == [
        ("桜が咲いた", "The cherry blossoms bloomed"),
        ("春が来た", "Spring has come"),
        ("♪", None),
    ]


def test_translation_timestamps_rounded_differently_still_match_but_distant_ones_are_dropped() -> None:
    original = "[00:10.00]One\n[00:20.00]Two\n[00:30.00]Three"
    translation = "[00:10.05]Uno\n[00:19.95]Dos\n[00:30.50]Tres"
    assert [line.translation for line in parse_lrc(original, translation)] == ["Uno", "Dos", None]


def test_an_exact_translation_wins_over_a_near_one_for_the_same_line() -> None:
    original = "[00:10.00]One\n[00:10.50]One and a half"
    translation = "[00:09.95]near\n[00:10.00]exact"
    assert [line.translation for line in parse_lrc(original, translation)] == ["exact", None]


def test_a_repeated_chorus_gets_its_translation_at_every_repeat() -> None:
    original = "[00:12.00][01:30.50]Na na na\n[00:20.00]Verse"
    translation = "[00:12.00][01:30.50]啦啦啦\n[00:20.00]"
    assert [(line.text, line.translation) for line in parse_lrc(original, translation)] == [
        ("Na na na", "啦啦啦"),
        ("Verse", None),
        ("Na na na", "啦啦啦"),
    ]
