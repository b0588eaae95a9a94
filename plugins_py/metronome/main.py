"""Metronome click tracks: `foxplug search "metronome 96"`. A process plugin written with the Python SDK."""

import re

from script_api.sdk import fox, serve

WORDS = {"metronome", "click", "clicks", "bpm"}
FAVOURITES = (60, 80, 100, 120)
RECENT = 4
TEN_MINUTES_MS = 10 * 60 * 1000


def song(bpm):
    return {
        "id": f"metronome-{bpm}",
        "title": f"Metronome {bpm} BPM",
        "artists": [{"id": "foxplug", "name": "foxplug Metronome"}],
        "album": {"id": "metronome", "name": "Click Tracks"},
        "duration_ms": TEN_MINUTES_MS,
        "extra": {"bpm": bpm},
    }


def search(query, opts=None):
    opts = opts or {}
    words = set(query.lower().split())
    if opts.get("type", "song") != "song" or not words & WORDS:
        return []
    asked = [n for n in map(int, re.findall(r"\b\d{2,3}\b", query)) if 20 <= n <= 300]
    recent = fox.storage.get("recent", [])
    if asked:
        fox.storage.set("recent", (asked + [n for n in recent if n not in asked])[:RECENT])
    tempos = asked or recent + [n for n in FAVOURITES if n not in recent]
    return [song(bpm) for bpm in tempos][: opts.get("limit", 20)]


def get_song_url(song_id, quality=None):
    bpm = int(song_id.removeprefix("metronome-"))
    click = f"if(lt(mod(t*{bpm}/60\\,1)\\,0.03)\\,sin(2*PI*1760*t)\\,0)"
    return f"av://lavfi:aevalsrc={click}:d=600"


def recent():
    """The tempos searched for last, newest first."""
    return fox.storage.get("recent", [])


def announce(text):
    fox.ui.notify(text)


serve({"search": search, "get_song_url": get_song_url, "recent": recent, "announce": announce})
