"""---
id: soundscapes
name: Soundscapes
version: 1.0.0
description: Hour-long ambient soundscapes (rain, sea, café, noise colours) and playlists for focus and sleep.
author: foxplug
license: MIT
provides: [search, song_url, playlist]
---"""

# Restricted Python: plain functions and data, a few safe modules, and no names starting with "_".
# Every top-level function is callable by the host; the ones below are those `provides` asks for.

HOUR_MS = 60 * 60 * 1000

SOUNDS = {
    "rain": ("Gentle Rain", "rain water calm sleep"),
    "thunderstorm": ("Distant Thunderstorm", "rain thunder storm"),
    "ocean": ("Ocean Waves", "sea water beach sleep"),
    "stream": ("Mountain Stream", "water river nature"),
    "forest": ("Forest Morning", "birds nature wind"),
    "night": ("Summer Night", "crickets nature sleep"),
    "cafe": ("Busy Café", "coffee people chatter focus"),
    "fireplace": ("Crackling Fireplace", "fire cosy winter"),
    "noise-white": ("White Noise", "noise colour focus"),
    "noise-pink": ("Pink Noise", "noise colour sleep"),
    "noise-brown": ("Brown Noise", "noise colour focus deep"),
}

PLAYLISTS = {
    "focus": {
        "name": "Deep Focus",
        "description": "Steady sounds that keep distractions out.",
        "songs": ["cafe", "noise-brown", "rain", "noise-white"],
    },
    "sleep": {
        "name": "Sleep",
        "description": "Slow, quiet sounds for falling asleep.",
        "songs": ["rain", "ocean", "night", "noise-pink"],
    },
}


def song(sound_id):
    title, tags = SOUNDS[sound_id]
    return {
        "id": sound_id,
        "title": title,
        "artists": [{"id": "foxplug", "name": "foxplug Soundscapes"}],
        "album": {"id": "soundscapes", "name": "Soundscapes"},
        "duration_ms": HOUR_MS,
        "extra": {"tags": tags.split(), "instrumental": True},
    }


def playlist(playlist_id):
    entry = PLAYLISTS[playlist_id]
    return {
        "id": playlist_id,
        "name": entry["name"],
        "description": entry["description"],
        "song_count": len(entry["songs"]),
        "creator": "foxplug",
    }


def matches(text, query):
    """Every word of the query appears in the text (case-insensitive)."""
    text = text.lower()
    return all(word in text for word in query.lower().split())


def search(query, opts=None):
    opts = opts or {}
    limit = opts.get("limit", 20)
    if opts.get("type") == "playlist":
        found = [playlist(pid) for pid, p in PLAYLISTS.items() if matches(p["name"] + " " + p["description"], query)]
    else:
        found = [song(sid) for sid, (title, tags) in SOUNDS.items() if matches(title + " " + tags, query)]
    return found[:limit]


def get_song_url(song_id, quality=None):
    if song_id not in SOUNDS:
        raise ValueError(f"no soundscape with id {song_id!r}")
    return "soundscape://" + song_id


def get_playlist(playlist_id):
    if playlist_id not in PLAYLISTS:
        raise ValueError(f"no playlist with id {playlist_id!r}")
    return playlist(playlist_id)


def get_playlist_songs(playlist_id, offset=0, limit=50):
    ids = PLAYLISTS[playlist_id]["songs"] if playlist_id in PLAYLISTS else []
    return [song(sid) for sid in ids[offset : offset + limit]]
