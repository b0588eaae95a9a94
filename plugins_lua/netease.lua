--[[---
id: netease
name: NetEase Cloud Music
version: 1.0.0
description: Search, stream URLs and lyrics from a NeteaseCloudMusicApi-compatible server.
author: foxplug
license: MIT
homepage: https://github.com/Binaryify/NeteaseCloudMusicApi
provides: [search, song_url, lyrics]
permissions:
  network: ["127.0.0.1", "localhost"]
config_schema:
  type: object
  properties:
    base_url: {type: string, pattern: "^https?://"}
---]]

-- Talks to a server you run (NeteaseCloudMusicApi listens on port 3000 by default). To use it, enable
-- it in config/plugins.yaml and give it the server's address:
--
--   plugin_configs:
--     netease:
--       enabled: true
--       config: {base_url: "http://127.0.0.1:3000"}
--
-- The manifest above grants only 127.0.0.1 and localhost. For a server elsewhere, add its host name
-- under permissions.network, and make sure security.network_allow in the config allows it too:
-- until both do, every request fails with PermissionDenied before anything is sent.

local M = {}

local base_url = "http://localhost:3000"

-- Percent-encode everything but RFC 3986 unreserved characters; works byte by byte, so UTF-8 is fine.
local function urlencode(value)
  return (tostring(value):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function get_json(path)
  local res = fox.http.get(base_url .. path)
  if not res.ok then error(("netease: %s answered HTTP %d"):format(res.url, res.status), 0) end
  local data = res.json or fox.json.decode(res.body)
  if data.code and data.code ~= 200 then
    error(("netease: %s answered code %s"):format(res.url, tostring(data.code)), 0)
  end
  return data
end

-- The API's song shape -> foxplug's (the host fills in `source`). Search answers `artists` and `album`, the
-- newer endpoints `ar` and `al` (with the cover as `al.picUrl`). Only the fields used are copied: the API
-- sends many more, some of them arrays with nulls, which Lua cannot represent.
local function to_song(s)
  local artists = {}
  for _, a in ipairs(s.ar or s.artists or {}) do
    if a.name and a.name ~= "" then  -- the API lists unknown artists as {id = 0, name = ""}
      table.insert(artists, { id = a.id, name = a.name })
    end
  end
  local album = s.al or s.album or {}
  return {
    id = s.id,
    title = s.name,
    artists = artists,
    album = album.name and { id = album.id, name = album.name, cover_url = album.picUrl } or nil,
    duration_ms = s.dt or s.duration,
  }
end

function M.init(config)
  base_url = (config.base_url or base_url):gsub("/+$", "")
end

function M.search(query, opts)
  opts = opts or {}
  if (opts.type or "song") ~= "song" then return {} end
  local data = get_json(("/search?keywords=%s&limit=%d"):format(urlencode(query), opts.limit or 20))
  local songs = {}
  for i, s in ipairs((data.result or {}).songs or {}) do songs[i] = to_song(s) end
  return songs
end

local BITRATES = { standard = 128000, higher = 192000, exhigh = 320000, lossless = 999000 }

function M.get_song_url(id, quality)
  local path = "/song/url?id=" .. urlencode(id)
  if BITRATES[quality] then path = path .. "&br=" .. BITRATES[quality] end
  local entry = (get_json(path).data or {})[1]
  return entry and entry.url  -- nil when the song is not available (region, VIP-only, ...)
end

-- Lyrics for a song from any source: our own songs (or a bare {id = ...}) carry their NetEase id, others
-- are looked up by title and artist.
local function netease_id(song)
  if song.source == "netease" or not song.title then return song.id end
  local artist = (song.artists or {})[1]
  if type(artist) == "table" then artist = artist.name end
  local found = M.search(song.title .. (artist and " " .. artist or ""), { limit = 1 })[1]
  return found and found.id
end

function M.get_lyrics(song)
  local id = netease_id(song)
  if not id then return nil end
  local data = get_json("/lyric?id=" .. urlencode(id))
  local lrc = data.lrc and data.lrc.lyric
  if not lrc or lrc == "" then return nil end  -- instrumental, or no lyrics uploaded
  local translation = data.tlyric and data.tlyric.lyric
  return { lrc = lrc, translation = translation ~= "" and translation or nil }
end

return M
