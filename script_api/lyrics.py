"""LRC lyrics parser: turns the lyric text plugins return into timed lines.

Covers what real-world LRC files contain: several timestamps on one line, ``mm:ss`` with
0-3 fraction digits after ``.`` or ``:``, metadata tags, ``[offset:]``, enhanced-LRC
``<mm:ss.xx>`` word timings, and a separate translation LRC merged onto the original lines.
Lines without a leading timestamp (metadata, blanks, garbage) are skipped silently: lyrics
are display-only, so one malformed line must not cost the user the rest of the song.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from typing import Any, Self

from script_api.fields import as_list, as_number, as_object, as_str, at, opt_int, opt_str

# mm:ss[.f|.ff|.fff] or mm:ss:ff; seconds must be below 60 so "[00:75]" is not a timestamp. Minutes are capped at
# six digits (~1.9 years) so a 5,000-digit "timestamp" is a line without one rather than an int() failure.
_STAMP = r"(\d{1,6}):([0-5]?\d)(?:[.:](\d{1,3}))?"
_LINE_STAMP = re.compile(rf"\s*\[\s*{_STAMP}\s*\]")
_WORD_STAMP = re.compile(rf"<{_STAMP}>")
_OFFSET = re.compile(r"\[\s*offset\s*:\s*([+-]?\d{1,9})\s*\]", re.IGNORECASE)

MAX_OUTPUT = 200_000
"""Lines plus words one LRC may become. A line with several timestamps repeats its words once per timestamp, so the
output can be far larger than the text: 16 KB of tags could otherwise become millions of words."""

# Translations are made from the original file, so timestamps normally match exactly; the
# tolerance only absorbs rounding differences such as 12.34 vs 12.35.
_TRANSLATION_TOLERANCE_MS = 100

_Segment = tuple[int | None, str]  # word start (None: starts with the line), raw text
_Word = tuple[int, int | None, str]  # start, end (None: runs until the next line), raw text


def parse_lrc(text: str, translation: str | None = None) -> tuple[LyricLine, ...]:
    """Parse LRC ``text`` into lines sorted by time (stable, so equal times keep file order).

    ``[offset:N]`` (ms) is applied to every timestamp; positive means the lyrics show sooner,
    so N is subtracted, clamped at 0. A line with several timestamps yields one line per
    timestamp; its word timings are shifted along with it. A timestamped but empty line is
    kept (it marks where the previous line ends). A word lasts until the next word tag, and the
    last one until the next line starts (0 if there is none).

    ``translation`` is another LRC; each of its lines attaches to the original line nearest in
    time within 100 ms (the nearest wins, then the earlier). Translation lines matching no
    original line are dropped.

    Raises ``ValueError`` before doing the work when the result would hold more than
    ``MAX_OUTPUT`` lines and words.
    """
    text = text.lstrip("\ufeff")
    offset_tag = _OFFSET.search(text)
    offset = int(offset_tag.group(1)) if offset_tag else 0

    entries: list[tuple[int, str, list[_Word]]] = []
    output = 0
    for raw in text.splitlines():
        stamps, body = _leading_stamps(raw)
        if not stamps:
            continue
        segments = _segments(body)
        output += len(stamps) * (1 + len(segments))
        if output > MAX_OUTPUT:
            raise ValueError(
                f"the LRC would become more than {MAX_OUTPUT:,} lines and words (a line repeats its words for each "
                "of its timestamps); refusing it"
            )
        line_text = _WORD_STAMP.sub("", body).strip()
        for stamp in stamps:
            line_ms = max(0, stamp - offset)
            entries.append((line_ms, line_text, _place_words(segments, line_ms, stamp - stamps[0] - offset)))
    entries.sort(key=lambda entry: entry[0])

    starts = [line_ms for line_ms, _, _ in entries]
    lines = [
        LyricLine(line_ms, line_text, None, _finish_words(words, _next_start(starts, line_ms)))
        for line_ms, line_text, words in entries
    ]
    if translation and lines:
        lines = _merge_translation(lines, translation)
    return tuple(lines)


def _stamp_ms(match: re.Match[str]) -> int:
    minutes, seconds, fraction = match.groups()
    # One digit is tenths, two hundredths, three milliseconds.
    return (int(minutes) * 60 + int(seconds)) * 1000 + int((fraction or "").ljust(3, "0"))


def _leading_stamps(raw: str) -> tuple[list[int], str]:
    """Split ``[t1][t2]text`` into its timestamps and the rest; metadata tags give no timestamps."""
    stamps: list[int] = []
    pos = 0
    while match := _LINE_STAMP.match(raw, pos):
        stamps.append(_stamp_ms(match))
        pos = match.end()
    return stamps, raw[pos:]


def _segments(body: str) -> list[_Segment]:
    """Cut enhanced-LRC text at its ``<mm:ss.xx>`` tags; plain text gives no segments."""
    matches = list(_WORD_STAMP.finditer(body))
    if not matches:
        return []
    segments: list[_Segment] = [(None, body[: matches[0].start()])]
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        segments.append((_stamp_ms(match), body[match.end() : following.start() if following else None]))
    return segments


def _place_words(segments: list[_Segment], line_ms: int, shift: int) -> list[_Word]:
    """Place one occurrence's words in time; a tag followed by blank text only ends the word before it."""
    words: list[_Word] = []
    for stamp, text in segments:
        start = line_ms if stamp is None else max(0, stamp + shift)
        if words and words[-1][1] is None:
            words[-1] = (words[-1][0], start, words[-1][2])
        if text.strip():
            words.append((start, None, text))
        elif words:
            # Keep the spacing so the words still join back into the line text.
            words[-1] = (words[-1][0], words[-1][1], words[-1][2] + text)
    return words


def _next_start(starts: list[int], line_ms: int) -> int | None:
    i = bisect.bisect_right(starts, line_ms)
    return starts[i] if i < len(starts) else None


def _finish_words(words: list[_Word], next_line_ms: int | None) -> tuple[LyricWord, ...]:
    finished = []
    for start, end, text in words:
        if end is None:
            end = start if next_line_ms is None else next_line_ms
        finished.append(LyricWord(start, max(0, end - start), text))
    return tuple(finished)


def _merge_translation(lines: list[LyricLine], translation: str) -> list[LyricLine]:
    starts = [line.time_ms for line in lines]
    best: dict[int, tuple[int, str]] = {}  # original line index -> (distance, translated text)
    for translated in parse_lrc(translation):
        if not translated.text:
            continue
        i = bisect.bisect_left(starts, translated.time_ms)
        distance, target = min((abs(starts[j] - translated.time_ms), j) for j in (i - 1, i) if 0 <= j < len(starts))
        if distance <= _TRANSLATION_TOLERANCE_MS and (target not in best or distance < best[target][0]):
            best[target] = (distance, translated.text)
    return [replace(line, translation=best[i][1]) if i in best else line for i, line in enumerate(lines)]


@dataclass(frozen=True, slots=True)
class LyricWord:
    """One karaoke-timed word from enhanced LRC; ``text`` keeps its spacing so words join into the line."""

    time_ms: int
    duration_ms: int
    text: str

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "") -> Self:
        obj = as_object(data, path)
        return cls(
            time_ms=round(as_number(obj.get("time_ms"), at(path, "time_ms"))),
            duration_ms=opt_int(obj.get("duration_ms"), at(path, "duration_ms")) or 0,
            text=as_str(obj.get("text"), at(path, "text")),
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
        obj = as_object(data, path)
        words_path = at(path, "words")
        words = as_list(obj.get("words") or [], words_path)
        return cls(
            time_ms=round(as_number(obj.get("time_ms"), at(path, "time_ms"))),
            text=as_str(obj.get("text"), at(path, "text")),
            translation=opt_str(obj.get("translation"), at(path, "translation")),
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
    """Lyrics of a song: the raw LRC (kept for export) and its parsed, time-sorted lines; or, for a song
    whose lyrics have no timings, the plain text. `source` is the plugin that answered."""

    lrc: str
    translation: str | None = None
    lines: tuple[LyricLine, ...] = ()
    plain: str | None = None
    """Unsynced lyrics: the text without timings, for a player that shows lyrics unsynced — given as
    `plain`, an `lrc` that holds no timed line, or else the timed lines' words, one line each."""
    source: str = ""

    @classmethod
    def from_plugin(cls, data: Any, *, path: str = "", source: str = "") -> Self:
        """Accept a bare LRC (or plain) string or ``{"lrc", "translation", "lines", "plain"}``.

        Lines the plugin supplies are validated and used as they are; otherwise they are parsed
        from ``lrc``, with ``translation`` (an LRC too) merged in. Text without a single timed line
        is plain lyrics. A non-empty ``source`` overrides what the data claims, as for songs.
        """
        if isinstance(data, str):
            data = {"lrc": data}
        obj = as_object(data, path, "a string or an object")
        translation = opt_str(obj.get("translation"), at(path, "translation"), limit=None)
        plain = opt_str(obj.get("plain"), at(path, "plain"), limit=None)
        source = source or as_str(obj.get("source") or "", at(path, "source"))
        lines_path = at(path, "lines")
        lines = as_list(obj.get("lines") or [], lines_path)
        if lines:
            parsed = tuple(LyricLine.from_plugin(line, path=f"{lines_path}[{i}]") for i, line in enumerate(lines))
            lrc = as_str(obj.get("lrc") or "", at(path, "lrc"), limit=None)
            return cls(lrc=lrc, translation=translation, lines=parsed, plain=plain or _words(parsed), source=source)
        if plain is not None and not obj.get("lrc"):
            return cls(lrc="", translation=translation, plain=plain, source=source)
        lrc = as_str(obj.get("lrc"), at(path, "lrc"), limit=None)
        parsed = parse_lrc(lrc, translation)
        if not parsed and lrc.strip() and plain is None:  # no timed line at all: plain lyrics given as `lrc`
            plain = lrc.strip()
        return cls(lrc=lrc, translation=translation, lines=parsed, plain=plain or _words(parsed), source=source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lrc": self.lrc,
            "translation": self.translation,
            "plain": self.plain,
            "lines": [line.to_dict() for line in self.lines],
            "source": self.source,
        }


def _words(lines: tuple[LyricLine, ...]) -> str | None:
    return "\n".join(line.text for line in lines) if lines else None
