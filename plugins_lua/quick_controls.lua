--[[---
id: quick-controls
name: Quick controls
version: 1.0.0
description: Pause, resume and skip as menu entries, so a player that shows plugin menus gets playback controls for free.
author: foxplug
license: MIT
provides: [ui.menu]
permissions:
  player.control: true
  player.read: true
---]]

-- A plugin that drives the player: every entry calls fox.player.*, which reaches whatever plays — the
-- engine's own mpv, or, under `foxplug serve --stdio`, the player that started the engine.

local M = {}

function M.menus(ctx)
  if fox.player.state() == "paused" then
    return { { id = "resume", label = "Resume" }, { id = "next", label = "Next song" } }
  end
  return { { id = "pause", label = "Pause" }, { id = "next", label = "Next song" } }
end

local ACTIONS = {
  pause = function() fox.player.pause() end,
  resume = function() fox.player.resume() end,
  next = function() fox.player.next() end,
}

function M.on_action(id, ctx)
  local action = ACTIONS[id]
  if not action then error("quick-controls has no action " .. tostring(id), 0) end
  action()
  return { state = fox.player.state() }
end

return M
