"""---
id: saved-lyrics
name: Saved lyrics
version: 1.0.0
description: Lyrics you saved yourself (LRC, with an optional translation), kept in durable plugin storage.
author: foxplug
license: MIT
provides: [lyrics]
permissions:
  storage: true
---"""

# Save lyrics from the host or the CLI, e.g.
#   foxplug call saved-lyrics save_lyrics '{"title": "My Song", "artists": ["Me"]}' '[00:01.00]First line'
# fox.storage is durable: what is saved survives reloads and restarts. config/plugins.yaml gives this
# plugin a higher priority than the other lyrics providers, so your own lyrics win.


def lyrics_key(song):
    """One key per title and first artist, ignoring case, so any source's copy of a song finds them."""
    artists = song.get("artists") or []
    first = artists[0] if artists else ""
    artist = first.get("name", "") if isinstance(first, dict) else str(first)
    return "lyrics:" + song.get("title", "").strip().lower() + "\n" + artist.strip().lower()


def get_lyrics(song):
    return fox.storage.get(lyrics_key(song))


def save_lyrics(song, lrc, translation=None):
    fox.storage.set(lyrics_key(song), {"lrc": lrc, "translation": translation})
    return True


def forget_lyrics(song):
    return fox.storage.delete(lyrics_key(song))
