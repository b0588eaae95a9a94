"""LRC from a lyrics server: parsed into at most MAX_OUTPUT lines and words, or refused, never anything else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from script_api.lyrics import MAX_OUTPUT, parse_lrc

digits = st.text("0123456789", min_size=1, max_size=8)
stamp = st.builds(lambda m, s, f: f"{m}:{s}.{f}", digits, digits, digits)
pieces = st.one_of(
    stamp.map(lambda t: f"[{t}]"),
    stamp.map(lambda t: f"<{t}>"),
    st.builds(lambda n: f"[offset:{n}]", st.integers(min_value=-(10**12), max_value=10**12)),
    st.sampled_from(["[ar:x]", "[", "]", "<", ">", "\n", "\r\n", " ", "\ufeff", "9" * 5000]),
    st.text(max_size=10),
)
lrc = st.lists(pieces, max_size=60).map("".join)


@given(lrc, st.one_of(st.none(), lrc))
def test_lrc_is_parsed_or_refused(text: str, translation: str | None) -> None:
    try:
        lines = parse_lrc(text, translation)
    except ValueError as error:
        assert "refusing" in str(error)
        return
    assert len(lines) + sum(len(line.words) for line in lines) <= MAX_OUTPUT
    assert [line.time_ms for line in lines] == sorted(line.time_ms for line in lines)
    assert all(line.time_ms >= 0 and all(word.duration_ms >= 0 for word in line.words) for line in lines)


@given(st.integers(min_value=1, max_value=2000), st.integers(min_value=1, max_value=2000))
def test_repeated_stamps_times_word_tags_are_bounded_before_the_work(stamps: int, tags: int) -> None:
    text = "[00:01.00]" * stamps + "<00:01.00>a" * tags
    try:
        lines = parse_lrc(text)
    except ValueError:
        assert stamps * (tags + 2) > MAX_OUTPUT
        return
    assert sum(len(line.words) for line in lines) == stamps * tags
