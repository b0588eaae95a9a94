/*---
id: lrclib
name: LRCLIB lyrics
version: 1.0.0
description: Synced lyrics from LRCLIB (lrclib.net) or a server with the same API.
author: foxplug
license: MIT
homepage: https://lrclib.net/docs
provides: [lyrics]
permissions:
  network: ["lrclib.net", "127.0.0.1", "localhost"]
config_schema:
  type: object
  properties:
    base_url: {type: string, pattern: "^https?://"}
---*/

// Enable it in config/plugins.yaml (plugin_configs.lrclib.enabled: true); `config.base_url` picks
// the server. A server on a host not listed under permissions.network above needs its host added
// there (and allowed by security.network_allow), or every request fails with PermissionDenied.
//
// Every fox.* call returns a Promise in JavaScript, so functions that call the host are async.

let baseUrl = "https://lrclib.net";

async function getJson(path, query) {
  // `query` is encoded by the host; entries that are undefined are left out.
  const res = await fox.http.get(baseUrl + path, { query });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`lrclib: ${res.url} answered HTTP ${res.status}`);
  return res.json !== undefined ? res.json : JSON.parse(res.body);
}

function nameOf(value) {
  return typeof value === "string" ? value : value && value.name;
}

module.exports = {
  init(config) {
    baseUrl = (config.base_url || baseUrl).replace(/\/+$/, "");
  },

  async get_lyrics(song) {
    const artist = nameOf((song.artists || [])[0]);
    // /api/get finds one exact recording: title and artist, best with album and duration (s, ±2).
    if (artist) {
      const exact = await getJson("/api/get", {
        track_name: song.title,
        artist_name: artist,
        album_name: nameOf(song.album) || undefined,
        duration: song.duration_ms ? Math.round(song.duration_ms / 1000) : undefined,
      });
      if (exact && exact.syncedLyrics) return { lrc: exact.syncedLyrics };
    }
    // Not found (or only plain lyrics): search more loosely and take the first timed version.
    const found = (await getJson("/api/search", { q: artist ? `${song.title} ${artist}` : song.title })) || [];
    const hit = found.find((track) => track.syncedLyrics);
    return hit ? { lrc: hit.syncedLyrics } : null;
  },
};
