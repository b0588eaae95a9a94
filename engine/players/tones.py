"""Tones the bundled catalogue plays: `tone:NAME` URLs become short wav files, written on first use.

The demo catalogue has no audio to ship and no network to fetch it from, yet `make run` should make sound, so each
song is a little melody computed from its id (the same id always gives the same tune). Plain `wave` and `array`:
a few seconds of 22.05 kHz mono cost ~40 ms to write once, and any player (mpv, a Go host) can open the file.
"""

from __future__ import annotations

import array
import hashlib
import math
import os
import re
import wave
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

SCHEME = "tone"
RATE = 22050
NOTE_SECONDS = 0.35
NOTES = 16
PENTATONIC = (0, 2, 4, 7, 9, 12, 14, 16)
"""Semitones above the tune's root: any sequence of these sounds like a melody, never like an error beep."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def cache_dir() -> Path:
    """Where tones are written: `$XDG_CACHE_HOME/foxplug/tones` (default `~/.cache/foxplug/tones`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "foxplug" / "tones"


def melody(name: str) -> list[float]:
    """The frequencies (Hz) of `name`'s tune: a root from the first byte of its hash, steps from the rest."""
    digest = hashlib.sha256(name.encode()).digest()
    root = 220.0 * 2 ** ((digest[0] % 12) / 12)
    return [root * 2 ** (PENTATONIC[byte % len(PENTATONIC)] / 12) for byte in digest[1 : NOTES + 1]]


def write_wav(path: Path, frequencies: Sequence[float], note_seconds: float = NOTE_SECONDS) -> Path:
    """A mono 16-bit wav of sine notes with a short fade at each end (no clicks), written atomically."""
    per_note = int(RATE * note_seconds)
    fade = min(per_note // 4, int(RATE * 0.02))
    samples = array.array("h")
    for frequency in frequencies:
        step = 2 * math.pi * frequency / RATE
        for i in range(per_note):
            envelope = min(1.0, i / fade, (per_note - i) / fade) if fade else 1.0
            samples.append(int(9000 * envelope * math.sin(step * i)))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    partial.replace(path)
    return path


def is_tone(url: str) -> bool:
    return url.startswith(f"{SCHEME}:")


def tone_file(url: str) -> str:
    """For a `tone:NAME` URL, the `file://` URL of its wav, written if missing."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise ValueError(f"{url!r} is not a tone URL (expected tone:NAME)")
    name = (parts.netloc + parts.path).strip("/")
    if not _NAME.match(name):
        raise ValueError(f"{url!r} is not a tone URL (expected tone:NAME with NAME like `bach-air`)")
    path = cache_dir() / f"{name}.wav"
    if not path.is_file():
        write_wav(path, melody(name))
    return path.resolve().as_uri()
