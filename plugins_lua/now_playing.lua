--[[---
id: now-playing
name: Now playing
version: 1.0.0
description: Announces each new song and shows it, with its progress, in the status line.
author: foxplug
license: MIT
provides: [ui.status, events]
permissions:
  ui.notify: true
---]]

local M = {}

-- Artists arrive as {id, name} tables from foxplug sources, but a host may pass plain names.
local function describe(song)
  local names = {}
  for _, artist in ipairs(song.artists or {}) do
    names[#names + 1] = type(artist) == "table" and artist.name or tostring(artist)
  end
  if #names == 0 then return song.title end
  return song.title .. " — " .. table.concat(names, ", ")
end

local function clock(ms)
  ms = math.floor(ms)
  return string.format("%d:%02d", ms // 60000, ms // 1000 % 60)
end

-- Event handlers are named on_<event>; the host calls them with the event's payload.
function M.on_song_changed(song)
  if type(song) == "table" and song.title then
    fox.ui.notify("Now playing: " .. describe(song), "info")
  end
end

-- state: {song = Song, state = "playing"|"paused"|"stopped", position_ms = number}
function M.status(state)
  local song = state.song
  if type(song) ~= "table" or not song.title then return nil end
  local icon = state.state == "paused" and "⏸" or "▶"
  local text = icon .. " " .. describe(song)
  if state.position_ms and song.duration_ms then
    text = text .. "  " .. clock(state.position_ms) .. " / " .. clock(song.duration_ms)
  end
  return { { text = text, style = state.state == "paused" and "dim" or "bold" } }
end

return M
