--[[---
id: demo-catalogue
name: Demo catalogue
version: 1.0.0
description: An offline catalogue of public-domain classical works and made-up demo tracks, so a fresh install has something to search and play.
author: foxplug
license: MIT
provides: [search, song_url]
---]]

-- A source plugin in its smallest useful form: the songs live in this file, search() filters them,
-- get_song_url() turns an id into something a player can open (a tone the engine generates offline, so a
-- fresh install makes sound without a network). Nothing here needs a permission.

local M = {}

local BACH = { id = "bach", name = "Johann Sebastian Bach" }
local BEETHOVEN = { id = "beethoven", name = "Ludwig van Beethoven" }
local MOZART = { id = "mozart", name = "Wolfgang Amadeus Mozart" }
local VIVALDI = { id = "vivaldi", name = "Antonio Vivaldi" }
local CHOPIN = { id = "chopin", name = "Frédéric Chopin" }
local JOPLIN = { id = "joplin", name = "Scott Joplin" }
local TRADITIONAL = { id = "traditional", name = "Traditional" }
local DEMO_TAPES = { id = "demo-tapes", name = "The Demo Tapes" }
local MIRA = { id = "mira-hollow", name = "Mira Hollow" }

-- `instrumental` goes into `extra`: the host hands `extra` back untouched, and the bundled
-- `instrumental` lyrics plugin reads it.
local function song(id, title, artists, album, duration_ms, instrumental)
  return {
    id = id, title = title, artists = artists, album = { id = album:lower():gsub("%W+", "-"), name = album },
    duration_ms = duration_ms, extra = { instrumental = instrumental or false },
  }
end

local SONGS = {
  song("bach-cello-suite-1", "Cello Suite No. 1 in G major, BWV 1007: Prélude", { BACH }, "Cello Suites", 152000, true),
  song("bach-air", "Air on the G String, BWV 1068", { BACH }, "Orchestral Suites", 331000, true),
  song("bach-toccata", "Toccata and Fugue in D minor, BWV 565", { BACH }, "Organ Works", 547000, true),
  song("beethoven-fur-elise", "Für Elise", { BEETHOVEN }, "Bagatelles", 175000, true),
  song("beethoven-moonlight", "Moonlight Sonata: I. Adagio sostenuto", { BEETHOVEN }, "Piano Sonatas", 362000, true),
  song("beethoven-fifth", "Symphony No. 5 in C minor: I. Allegro con brio", { BEETHOVEN }, "Symphonies", 452000, true),
  song("mozart-nachtmusik", "Eine kleine Nachtmusik: I. Allegro", { MOZART }, "Serenades", 348000, true),
  song("mozart-rondo-alla-turca", "Rondo alla Turca", { MOZART }, "Piano Sonatas", 212000, true),
  song("vivaldi-spring", "The Four Seasons, Spring: I. Allegro", { VIVALDI }, "The Four Seasons", 203000, true),
  song("vivaldi-winter", "The Four Seasons, Winter: II. Largo", { VIVALDI }, "The Four Seasons", 121000, true),
  song("chopin-nocturne-op9-2", "Nocturne in E-flat major, Op. 9 No. 2", { CHOPIN }, "Nocturnes", 271000, true),
  song("chopin-raindrop", "Prelude in D-flat major, Op. 28 No. 15 \"Raindrop\"", { CHOPIN }, "Preludes", 334000, true),
  song("satie-gymnopedie-1", "Gymnopédie No. 1", { { id = "satie", name = "Erik Satie" } }, "Gymnopédies", 186000, true),
  song("debussy-clair-de-lune", "Clair de lune", { { id = "debussy", name = "Claude Debussy" } }, "Suite bergamasque", 301000, true),
  song("pachelbel-canon", "Canon in D", { { id = "pachelbel", name = "Johann Pachelbel" } }, "Baroque Favourites", 333000, true),
  song("grieg-morning-mood", "Morning Mood", { { id = "grieg", name = "Edvard Grieg" } }, "Peer Gynt Suite No. 1", 243000, true),
  song("tchaikovsky-swan-lake", "Swan Lake, Op. 20: Scene", { { id = "tchaikovsky", name = "Pyotr Ilyich Tchaikovsky" } }, "Swan Lake", 192000, true),
  song("joplin-entertainer", "The Entertainer", { JOPLIN }, "Ragtime", 203000, true),
  song("joplin-maple-leaf-rag", "Maple Leaf Rag", { JOPLIN }, "Ragtime", 190000, true),
  song("trad-greensleeves", "Greensleeves", { TRADITIONAL }, "Old English Songs", 182000),
  song("trad-amazing-grace", "Amazing Grace", { TRADITIONAL }, "Hymns", 244000),
  song("trad-twinkle", "Twinkle, Twinkle, Little Star", { TRADITIONAL }, "Nursery Rhymes", 96000),
  song("trad-auld-lang-syne", "Auld Lang Syne", { TRADITIONAL }, "Scottish Songs", 201000),
  song("demo-fox-in-the-terminal", "Fox in the Terminal", { DEMO_TAPES }, "Plugin Sessions", 154000),
  song("demo-hot-reload", "Hot Reload", { DEMO_TAPES }, "Plugin Sessions", 131000),
  song("demo-sandbox-lullaby", "Sandbox Lullaby", { MIRA, DEMO_TAPES }, "Plugin Sessions", 203000),
}

local BY_ID = {}
for _, s in ipairs(SONGS) do BY_ID[s.id] = s end

-- Everything a query may match, lowercased once. string.lower folds ASCII letters only, which is
-- enough for a demo; a real source would leave matching to its server.
local HAYSTACK = {}
for _, s in ipairs(SONGS) do
  local names = {}
  for i, artist in ipairs(s.artists) do names[i] = artist.name end
  HAYSTACK[s] = (s.title .. " " .. table.concat(names, " ") .. " " .. s.album.name):lower()
end

local function matches(s, words)
  for _, word in ipairs(words) do
    if not HAYSTACK[s]:find(word, 1, true) then return false end  -- plain find: no Lua patterns
  end
  return true
end

-- Every word of the query must appear in the title, an artist or the album.
function M.search(query, opts)
  opts = opts or {}
  if (opts.type or "song") ~= "song" then return {} end
  local limit = opts.limit or 20
  local words = {}
  for word in tostring(query):lower():gmatch("%S+") do words[#words + 1] = word end
  local found = {}
  for _, s in ipairs(SONGS) do
    if #found >= limit then break end
    if matches(s, words) then found[#found + 1] = s end
  end
  return found
end

function M.get_song_detail(id)
  return BY_ID[id]
end

function M.get_song_url(id, quality)
  if not BY_ID[id] then error("no song with id " .. tostring(id) .. " in the demo catalogue", 0) end
  return "tone:" .. id  -- a short tune the engine writes as a wav on first use (engine/players/tones.py)
end

return M
