"""---
id: soundscapes
name: Soundscapes
version: 1.0.0
description: Hour-long ambient soundscapes (rain, sea, café, noise colours) and playlists for focus and sleep.
author: foxplug
license: MIT
provides: [search, song_url, playlist]
---"""

from collections import namedtuple
from dataclasses import dataclass

# Restricted Python reads as ordinary Python — classes, dataclasses, named tuples, a few safe modules — while
# names starting with "_" belong to the sandbox. Every top-level function is callable by the host; the ones
# below are those `provides` asks for.

HOUR_MS = 60 * 60 * 1000

Sound = namedtuple("Sound", "title tags")

SOUNDS = {
    "rain": Sound("Gentle Rain", "rain water calm sleep"),
    "thunderstorm": Sound("Distant Thunderstorm", "rain thunder storm"),
    "ocean": Sound("Ocean Waves", "sea water beach sleep"),
    "stream": Sound("Mountain Stream", "water river nature"),
    "forest": Sound("Forest Morning", "birds nature wind"),
    "night": Sound("Summer Night", "crickets nature sleep"),
    "cafe": Sound("Busy Café", "coffee people chatter focus"),
    "fireplace": Sound("Crackling Fireplace", "fire cosy winter"),
    "noise-white": Sound("White Noise", "noise colour focus"),
    "noise-pink": Sound("Pink Noise", "noise colour sleep"),
    "noise-brown": Sound("Brown Noise", "noise colour focus deep"),
}


@dataclass
class Mix:
    name: str
    description: str
    songs: list

    def summary(self, playlist_id):
        return {
            "id": playlist_id,
            "name": self.name,
            "description": self.description,
            "song_count": len(self.songs),
            "creator": "foxplug",
        }


PLAYLISTS = {
    "focus": Mix(
        "Deep Focus", "Steady sounds that keep distractions out.", ["cafe", "noise-brown", "rain", "noise-white"]
    ),
    "sleep": Mix("Sleep", "Slow, quiet sounds for falling asleep.", ["rain", "ocean", "night", "noise-pink"]),
}


def song(sound_id):
    sound = SOUNDS[sound_id]
    return {
        "id": sound_id,
        "title": sound.title,
        "artists": [{"id": "foxplug", "name": "foxplug Soundscapes"}],
        "album": {"id": "soundscapes", "name": "Soundscapes"},
        "duration_ms": HOUR_MS,
        "extra": {"tags": sound.tags.split(), "instrumental": True},
    }


def matches(text, query):
    """Every word of the query appears in the text (case-insensitive)."""
    text = text.lower()
    return all(word in text for word in query.lower().split())


def search(query, opts=None):
    opts = opts or {}
    limit = opts.get("limit", 20)
    if opts.get("type") == "playlist":
        found = [mix.summary(pid) for pid, mix in PLAYLISTS.items() if matches(f"{mix.name} {mix.description}", query)]
    else:
        found = [song(sid) for sid, sound in SOUNDS.items() if matches(f"{sound.title} {sound.tags}", query)]
    return found[:limit]


def get_song_url(song_id, quality=None):
    if song_id not in SOUNDS:
        raise ValueError(f"no soundscape with id {song_id!r}")
    return "soundscape://" + song_id


def get_playlist(playlist_id):
    if playlist_id not in PLAYLISTS:
        raise ValueError(f"no playlist with id {playlist_id!r}")
    return PLAYLISTS[playlist_id].summary(playlist_id)


def get_playlist_songs(playlist_id, offset=0, limit=50):
    ids = PLAYLISTS[playlist_id].songs if playlist_id in PLAYLISTS else []
    return [song(sid) for sid in ids[offset : offset + limit]]
