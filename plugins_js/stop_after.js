/*---
id: stop-after
name: Stop after this song
version: 1.0.0
description: A menu entry that stops playback once the current song is over.
author: foxplug
license: MIT
provides: [ui.menu, events]
permissions:
  player.control: true
  ui.notify: true
---*/

const ACTION = "stop-after-current";
let armed = false;

module.exports = {
  // The label follows the state, so the menu doubles as a toggle.
  menus(ctx) {
    return [{ id: ACTION, label: armed ? "Keep playing after this song" : "Stop after this song", checked: armed }];
  },

  async on_action(actionId, ctx) {
    if (actionId !== ACTION) return null;
    armed = !armed;
    await fox.ui.notify(armed ? "Playback will stop after this song" : "Playback will go on", "info");
    return { armed };
  },

  // The next song has just started: stop it at once.
  async on_song_changed(song) {
    if (!armed) return;
    armed = false;
    await fox.player.stop();
    await fox.ui.notify("Stopped after the last song, as asked", "info");
  },

  // Hot reload hands the old version's snapshot to the new one, so editing this file keeps the toggle.
  snapshot() {
    return { armed };
  },
  restore(state) {
    armed = Boolean(state && state.armed);
  },
};
