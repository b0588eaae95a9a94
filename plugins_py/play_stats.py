"""---
id: play-stats
name: Play statistics
version: 1.0.0
description: Counts how often each song was played, shows the count in the status line, and lists the most played songs.
author: foxplug
license: MIT
provides: [events, ui.status, ui.menu]
permissions:
  storage: true
---"""

from dataclasses import asdict, dataclass

# Counts live in fox.storage (one SQLite file for the engine, a namespace per plugin), so they
# survive reloads and restarts. Keys: "plays:<source>:<song id>".


@dataclass
class Plays:
    title: str
    plays: int = 0


def stats_key(song):
    return f"plays:{song.get('source') or '-'}:{song.get('id') or song.get('title')}"


def load(key, title=""):
    stored = fox.storage.get(key)
    return Plays(**stored) if stored else Plays(title)


def play_count(song):
    return load(stats_key(song)).plays


def on_song_changed(song):
    if not song or not song.get("title"):
        return
    key = stats_key(song)
    entry = load(key, song["title"])
    entry.plays += 1
    fox.storage.set(key, asdict(entry))


def top_songs(limit=5):
    entries = [load(key) for key in fox.storage.keys("plays:")]
    return [asdict(entry) for entry in sorted(entries, key=lambda entry: entry.plays, reverse=True)[:limit]]


def status(state):
    song = state.get("song")
    if not song:
        return None
    plays = play_count(song)
    return {"text": f"♫ {plays} play" + ("" if plays == 1 else "s"), "style": "dim"}


def menus(ctx):
    return [
        {"id": "top-songs", "label": "Most played songs"},
        {"id": "reset-plays", "label": "Reset play counts"},
    ]


def on_action(action_id, ctx):
    if action_id == "top-songs":
        return top_songs()
    if action_id == "reset-plays":
        keys = fox.storage.keys("plays:")
        for key in keys:
            fox.storage.delete(key)
        return {"deleted": len(keys)}
    return None
