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

# Counts live in fox.storage (one SQLite file for the engine, a namespace per plugin), so they
# survive reloads and restarts. Keys: "plays:<source>:<song id>".


def stats_key(song):
    return "plays:" + str(song.get("source") or "-") + ":" + str(song.get("id") or song.get("title"))


def play_count(song):
    entry = fox.storage.get(stats_key(song))
    return entry["plays"] if entry else 0


def on_song_changed(song):
    if not song or not song.get("title"):
        return
    key = stats_key(song)
    entry = fox.storage.get(key) or {"title": song["title"], "plays": 0}
    entry["plays"] = entry["plays"] + 1  # restricted Python refuses `+=` on items
    fox.storage.set(key, entry)


def top_songs(limit=5):
    entries = [fox.storage.get(key) for key in fox.storage.keys("plays:")]
    return sorted(entries, key=lambda entry: entry["plays"], reverse=True)[:limit]


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
