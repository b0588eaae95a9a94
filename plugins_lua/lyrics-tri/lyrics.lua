-- The Lua implementation of lyrics-tri (the manifest is plugin.yaml); lyrics.c is the same plugin in C.
-- Every function returns exactly what the C one returns, which tests/test_compatibility.py checks.
local TITLE = "Row, Row, Row Your Boat"
local LRC = "[00:00.00]Row, row, row your boat,\n"
  .. "[00:03.00]Gently down the stream.\n"
  .. "[00:06.00]Merrily, merrily, merrily, merrily,\n"
  .. "[00:09.00]Life is but a dream."

local M = {}

function M.get_lyrics(song)
  if type(song) == "table" and song.title == TITLE then
    return { lrc = LRC }
  end
  return nil
end

function M.echo(value)
  return value
end

function M.encode(value)
  return fox.json.encode(value)
end

function M.remember(key, value)
  fox.storage.set(key, value)
  return fox.storage.get(key)
end

function M.pause_player()
  return fox.player.pause() -- not granted: PermissionDenied, in every implementation alike
end

return M
