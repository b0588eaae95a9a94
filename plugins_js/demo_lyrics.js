/*---
id: demo-lyrics
name: Demo lyrics
version: 1.0.0
description: Timed lyrics for the songs with words in the demo catalogue (public-domain texts and made-up demo songs).
author: foxplug
license: MIT
provides: [lyrics]
---*/

// Lyrics are LRC text: "[mm:ss.xx]line". The host parses it into timed lines, so a provider only
// has to find the text. The entries below show what LRC can carry: several timestamps on one line
// (a repeated chorus), an [offset:] in ms, <mm:ss.xx> word timings, and a translation.

const LYRICS = {
  "greensleeves": {
    lrc: `[ti:Greensleeves]
[ar:Traditional]
[00:06.00]Alas, my love, you do me wrong,
[00:11.50]To cast me off discourteously.
[00:17.00]For I have loved you well and long,
[00:22.50]Delighting in your company.
[00:28.00]Greensleeves was all my joy
[00:33.50]Greensleeves was my delight,
[00:39.00]Greensleeves was my heart of gold,
[00:44.50]And who but my lady Greensleeves.`,
  },
  "amazing grace": {
    lrc: `[00:09.00]Amazing grace! How sweet the sound
[00:18.00]That saved a wretch like me!
[00:27.00]I once was lost, but now am found;
[00:36.00]Was blind, but now I see.`,
  },
  "twinkle twinkle little star": {
    lrc: `[00:04.00][00:28.00]Twinkle, twinkle, little star,
[00:08.00][00:32.00]How I wonder what you are!
[00:12.00]Up above the world so high,
[00:16.00]Like a diamond in the sky.
[00:36.00]`,
  },
  "auld lang syne": {
    lrc: `[00:10.00]Should auld acquaintance be forgot,
[00:15.00]And never brought to mind?
[00:20.00]Should auld acquaintance be forgot,
[00:25.00]And auld lang syne?
[00:30.00]For auld lang syne, my dear,
[00:35.00]For auld lang syne,
[00:40.00]We'll tak a cup o' kindness yet,
[00:45.00]For auld lang syne.`,
  },
  "fox in the terminal": {
    lrc: `[00:12.00]A little fox lives in my terminal
[00:17.50]It finds the songs I cannot name
[00:23.00]It sings the words in perfect time
[00:28.40]And reloads when I change a line`,
    translation: `[00:12.00]Un petit renard vit dans mon terminal
[00:17.50]Il trouve les chansons que je ne sais pas nommer
[00:23.00]Il chante les paroles en mesure
[00:28.40]Et se recharge quand je change une ligne`,
  },
  "hot reload": {
    lrc: `[offset:250]
[00:08.00]Save the file and watch it go
[00:12.00]Fifty milliseconds, nice and slow
[00:16.00]If it breaks, the old one stays
[00:20.00]Roll it back on better days`,
  },
  "sandbox lullaby": {
    lrc: `[00:10.00]<00:10.00>Hush <00:10.60>little <00:11.20>plugin, <00:12.00>don't <00:12.40>you <00:12.80>cry
[00:14.00]<00:14.00>The <00:14.40>count <00:14.80>hook <00:15.40>watches <00:16.20>over <00:16.80>you
[00:18.00]<00:18.00>No <00:18.40>files, <00:19.00>no <00:19.40>sockets, <00:20.20>only <00:20.80>fox
[00:22.00]<00:22.00>Safe <00:22.60>and <00:23.00>warm <00:23.40>inside <00:24.00>your <00:24.40>box`,
  },
};

// "Twinkle, Twinkle, Little Star" and "twinkle twinkle little star" find the same entry.
function key(title) {
  return String(title || "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

module.exports = {
  get_lyrics(song) {
    return LYRICS[key(song.title)] || null;  // null: not ours, the next provider may know it
  },
};
