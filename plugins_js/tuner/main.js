// Reference tones for tuning by ear: `foxplug search "tuning guitar"`.
// The protocol part (the first half) is all a plugin in any language needs: read one JSON-RPC message per
// line on stdin, answer `initialize`, `call` and `ping`, send `fox.*` requests and wait for their answers.
"use strict";
const readline = require("node:readline");

// -- the protocol --------------------------------------------------------------------------------------------
console.log = console.info = console.debug = console.error; // stdout carries only protocol messages

const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");
const waiting = new Map(); // our fox.* request id -> {resolve, reject}
let nextId = 1;
let current = null; // the id of the host's call in progress
let cancelled = false;

class HostError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = kind;
  }
}

function request(method, params) {
  if (cancelled) return Promise.reject(new HostError("the host cancelled this call", "PluginTimeout"));
  const id = nextId++;
  send({ id, method, params });
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

// fox.storage.get(key) -> Promise: every host function, by the names the host listed in `initialize`.
const fox = new Proxy({}, {
  get: (_, group) => new Proxy({}, { get: (_, name) => (...args) => request(`fox.${group}.${name}`, args) }),
});

async function call(id, { function: name, args = [] }) {
  const fn = plugin[name];
  if (typeof fn !== "function") return send({ id, error: { code: -32601, message: `no function ${name}()` } });
  current = id;
  cancelled = false;
  try {
    const result = await fn(...args);
    send(cancelled ? { id, error: { code: -32800, message: "cancelled" } } : { id, result: result ?? null });
  } catch (error) {
    const data = { type: error.name, traceback: String(error.stack) };
    const message = error instanceof HostError ? error.message : `${error.name}: ${error.message}`;
    send({ id, error: { code: -32000, message, data } });
  } finally {
    current = null;
  }
}

function receive(message) {
  const { id, method, params = {} } = message;
  if (method === undefined) { // the answer to one of our fox.* requests
    const waiter = waiting.get(id);
    waiting.delete(id);
    if (waiter && message.error) waiter.reject(new HostError(message.error.message, message.error.data?.type ?? "PluginError"));
    else if (waiter) waiter.resolve(message.result);
  } else if (method === "initialize") {
    if (!(params.protocol_versions ?? []).includes(1)) {
      send({ id, error: { code: -32602, message: `no common protocol version (host: ${params.protocol_versions}, tuner: 1)` } });
    } else {
      send({ id, result: { protocol_version: 1, exports: Object.keys(plugin), sdk: { name: "tuner main.js", version: 1 } } });
    }
  } else if (method === "call") {
    call(id, params);
  } else if (method === "ping") {
    send({ id, result: "pong" });
  } else if (method === "$/cancelRequest") {
    if (params.id === current) cancelled = true;
  } else if (method === "shutdown") {
    process.exit(0);
  } else if (id !== undefined) {
    send({ id, error: { code: -32601, message: `no method ${method}` } });
  }
}

readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on("line", (line) => receive(JSON.parse(line)))
  .on("close", () => process.exit(0));

// -- the plugin ----------------------------------------------------------------------------------------------
const STRINGS = {
  guitar: ["E2", "A2", "D3", "G3", "B3", "E4"],
  bass: ["E1", "A1", "D2", "G2"],
  violin: ["G3", "D4", "A4", "E5"],
  ukulele: ["G4", "C4", "E4", "A4"],
};
const WORDS = new Set(["tuner", "tuning", ...Object.keys(STRINGS)]);
const SEMITONES = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

function hertz(note) {
  const midi = 12 * (Number(note[1]) + 1) + SEMITONES[note[0]];
  return 440 * 2 ** ((midi - 69) / 12);
}

function tone(note, instrument) {
  return {
    id: `tone-${note}`,
    title: `${note} · ${hertz(note).toFixed(2)} Hz`,
    artists: [{ id: "foxplug", name: "foxplug Tuner" }],
    album: { id: `tuning-${instrument}`, name: `${instrument[0].toUpperCase()}${instrument.slice(1)} tuning` },
    duration_ms: 60000,
    extra: { note, hz: Number(hertz(note).toFixed(2)) },
  };
}

const plugin = {
  async search(query, opts = {}) {
    const words = query.toLowerCase().split(/\s+/);
    if ((opts.type ?? "song") !== "song" || !words.some((w) => WORDS.has(w))) return [];
    await fox.storage.set("searches", ((await fox.storage.get("searches")) ?? 0) + 1);
    const instruments = Object.keys(STRINGS).filter((name) => words.includes(name));
    const songs = (instruments.length ? instruments : ["guitar"]).flatMap((name) => STRINGS[name].map((note) => tone(note, name)));
    return songs.slice(0, opts.limit ?? 20);
  },

  get_song_url(songId) {
    const note = songId.replace(/^tone-/, "");
    if (!/^[A-G][0-9]$/.test(note)) throw new Error(`no tone ${songId}`);
    return `av://lavfi:sine=frequency=${hertz(note).toFixed(2)}:duration=60`;
  },

  async searches() {
    return (await fox.storage.get("searches")) ?? 0;
  },

  async announce(text) {
    await fox.ui.notify(text);
  },
};
