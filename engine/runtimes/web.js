// Web-platform globals for every JavaScript plugin, evaluated once per QuickJS context after sandbox.js:
// TextEncoder/TextDecoder, timers, crypto.getRandomValues/randomUUID, structuredClone, EventTarget/Event,
// AbortController/AbortSignal, console.group, and URL/URLSearchParams (the npm whatwg-url build MusicFree
// itself ships, parsed only when the plugin names them). QuickJS-ng brings atob/btoa, queueMicrotask and
// performance.
// Timers are driven by the host: js.py asks __fox_timers_next() how long until the next one is due and,
// while a call waits on nothing else, sleeps that long and runs __fox_timers_run() — never past the call's
// deadline. Randomness comes from a ChaCha20 stream keyed with 32 bytes the host reads from the OS.
(function (seedHex) {
  "use strict";
  const defineProperty = Object.defineProperty, now = performance.now.bind(performance);
  const Uint8 = Uint8Array, Uint32 = Uint32Array, isView = ArrayBuffer.isView;
  const hidden = (name, value) => defineProperty(globalThis, name, { value, writable: false, configurable: false });
  const global = (name, value) => defineProperty(globalThis, name, { value, writable: true, configurable: true });
  const report = (error) => { try { console.error("uncaught in a timer:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };

  // --- TextEncoder / TextDecoder (UTF-8, as the Encoding standard requires of TextEncoder) -----------------
  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(input = "") {
      const text = String(input), out = [];
      for (let i = 0; i < text.length; i++) {
        let c = text.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
          const d = text.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
        }
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;  // a lone surrogate
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8(out);
    }
    encodeInto(input, dest) {
      const bytes = this.encode(input), n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: String(input).length, written: n };
    }
  }
  const UTF8_LABELS = ["utf-8", "utf8", "unicode-1-1-utf-8"];
  class TextDecoder {
    constructor(label = "utf-8", options = {}) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase())) {
        throw new RangeError(`TextDecoder: the encoding "${label}" is not supported here (only utf-8)`);
      }
      this.fatal = !!options.fatal;
      this.ignoreBOM = !!options.ignoreBOM;
    }
    get encoding() { return "utf-8"; }
    decode(input) {
      if (input === undefined) return "";
      const b = input instanceof ArrayBuffer ? new Uint8(input) : isView(input)
        ? new Uint8(input.buffer, input.byteOffset, input.byteLength) : null;
      if (b === null) throw new TypeError("TextDecoder.decode: expected an ArrayBuffer or a view of one");
      const parts = [];
      let i = (!this.ignoreBOM && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) ? 3 : 0;
      const bad = () => { if (this.fatal) throw new TypeError("TextDecoder: invalid UTF-8"); return 0xfffd; };
      while (i < b.length) {
        const x = b[i];
        let c, need;
        if (x < 0x80) { c = x; need = 0; } else if (x >= 0xc2 && x < 0xe0) { c = x & 31; need = 1; }
        else if (x >= 0xe0 && x < 0xf0) { c = x & 15; need = 2; } else if (x >= 0xf0 && x < 0xf5) { c = x & 7; need = 3; }
        else { parts.push(bad()); i++; continue; }
        let j = 1;
        for (; j <= need; j++) {
          const y = b[i + j];
          if (y === undefined || (y & 0xc0) !== 0x80) break;
          c = (c << 6) | (y & 63);
        }
        if (j <= need || (need === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (need === 3 && (c < 0x10000 || c > 0x10ffff))) {
          parts.push(bad()); i += Math.max(1, j - 1) ; continue;
        }
        parts.push(c);
        i += need + 1;
      }
      let text = "";
      for (let k = 0; k < parts.length; k += 4096) text += String.fromCodePoint.apply(null, parts.slice(k, k + 4096));
      return text;
    }
  }

  // --- timers ------------------------------------------------------------------------------------------
  const timers = new Map();
  let timerSeq = 0;
  function schedule(fn, delay, args, repeat) {
    if (typeof fn !== "function") throw new TypeError("timers take a function (strings are not evaluated)");
    const ms = Math.max(0, Number(delay) || 0);
    const id = ++timerSeq;
    timers.set(id, { at: now() + ms, fn, args, every: repeat ? Math.max(1, ms) : 0 });
    return id;
  }
  const cancel = (id) => { timers.delete(Number(id)); };
  hidden("__fox_timers_next", function __fox_timers_next() {
    let first = Infinity;
    for (const t of timers.values()) if (t.at < first) first = t.at;
    return first === Infinity ? -1 : Math.max(0, first - now());
  });
  hidden("__fox_timers_run", function __fox_timers_run() {
    const due = [], at = now();
    for (const [id, t] of timers) if (t.at <= at) due.push([id, t]);
    due.sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
    for (const [id, t] of due) {
      if (timers.get(id) !== t) continue;  // cleared by an earlier callback
      if (t.every) t.at = at + t.every; else timers.delete(id);
      try { t.fn.apply(globalThis, t.args); } catch (error) { report(error); }
    }
  });
  global("setTimeout", (fn, delay, ...args) => schedule(fn, delay, args, false));
  global("setInterval", (fn, delay, ...args) => schedule(fn, delay, args, true));
  global("clearTimeout", cancel);
  global("clearInterval", cancel);

  // --- randomness: ChaCha20 keyed by the host (RFC 8439 block function) ----------------------------------
  const key = new Uint32(8), state = new Uint32(16), block = new Uint32(16);
  for (let i = 0; i < 8; i++) key[i] = parseInt(seedHex.slice(i * 8, i * 8 + 8), 16);
  let counter = 0, stream = new Uint8(0), used = 0;
  const rotl = (v, n) => (v << n) | (v >>> (32 - n));
  function quarter(x, a, b, c, d) {
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16); x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12);
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8); x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7);
  }
  function refill() {
    state.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    state.set(key, 4);
    state[12] = counter++; state[13] = 0; state[14] = 0; state[15] = 0;
    block.set(state);
    for (let r = 0; r < 10; r++) {
      quarter(block, 0, 4, 8, 12); quarter(block, 1, 5, 9, 13); quarter(block, 2, 6, 10, 14); quarter(block, 3, 7, 11, 15);
      quarter(block, 0, 5, 10, 15); quarter(block, 1, 6, 11, 12); quarter(block, 2, 7, 8, 13); quarter(block, 3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) block[i] += state[i];
    stream = new Uint8(block.buffer.slice(0));
    used = 0;
  }
  function randomBytes(n) {
    const out = new Uint8(n);
    for (let i = 0; i < n; i++) { if (used === 64 || stream.length === 0) refill(); out[i] = stream[used++]; }
    return out;
  }
  const crypto = {
    getRandomValues(array) {
      if (!isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
        throw new TypeError("crypto.getRandomValues: expected an integer typed array");
      }
      if (array.byteLength > 65536) throw new RangeError("crypto.getRandomValues: at most 65536 bytes at a time");
      new Uint8(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
      return array;
    },
    randomUUID() {
      const b = randomBytes(16);
      b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
  global("crypto", crypto);

  // --- structuredClone -----------------------------------------------------------------------------------
  function DataCloneError(message) { const e = new Error(message); e.name = "DataCloneError"; return e; }
  function clone(value, seen) {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      if (typeof value === "symbol") throw DataCloneError("structuredClone: a symbol cannot be cloned");
      return value;
    }
    if (typeof value === "function") throw DataCloneError("structuredClone: a function cannot be cloned");
    if (seen.has(value)) return seen.get(value);
    let copy;
    if (Array.isArray(value)) { copy = []; seen.set(value, copy); for (let i = 0; i < value.length; i++) copy[i] = clone(value[i], seen); return copy; }
    if (value instanceof Date) copy = new Date(value.getTime());
    else if (value instanceof RegExp) copy = new RegExp(value.source, value.flags);
    else if (value instanceof ArrayBuffer) copy = value.slice(0);
    else if (isView(value)) copy = new value.constructor(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    else if (value instanceof Map) { copy = new Map(); seen.set(value, copy); for (const [k, v] of value) copy.set(clone(k, seen), clone(v, seen)); return copy; }
    else if (value instanceof Set) { copy = new Set(); seen.set(value, copy); for (const v of value) copy.add(clone(v, seen)); return copy; }
    else if (value instanceof Error) { copy = new Error(value.message); copy.name = value.name; copy.stack = value.stack; }
    else if (value instanceof Boolean || value instanceof Number || value instanceof String) copy = Object(value.valueOf());
    else {
      copy = {};
      seen.set(value, copy);
      for (const k of Object.keys(value)) copy[k] = clone(value[k], seen);
      return copy;
    }
    seen.set(value, copy);
    return copy;
  }
  global("structuredClone", (value) => clone(value, new Map()));

  // --- EventTarget, Event, AbortController -------------------------------------------------------------
  class Event {
    constructor(type, init = {}) {
      this.type = String(type); this.bubbles = !!init.bubbles; this.cancelable = !!init.cancelable;
      this.defaultPrevented = false; this.target = null; this.currentTarget = null; this.timeStamp = now();
    }
    preventDefault() { if (this.cancelable) this.defaultPrevented = true; }
    stopPropagation() {}
    stopImmediatePropagation() { this._stopped = true; }
  }
  const listeners = new WeakMap();
  class EventTarget {
    addEventListener(type, fn, options) {
      if (typeof fn !== "function" && !(fn && typeof fn.handleEvent === "function")) return;
      let all = listeners.get(this);
      if (!all) listeners.set(this, (all = new Map()));
      const list = all.get(type) || [];
      if (!list.some((l) => l.fn === fn)) list.push({ fn, once: !!(options && options.once) });
      all.set(type, list);
    }
    removeEventListener(type, fn) {
      const list = listeners.get(this)?.get(type);
      if (list) listeners.get(this).set(type, list.filter((l) => l.fn !== fn));
    }
    dispatchEvent(event) {
      event.target = event.currentTarget = this;
      const handler = this["on" + event.type];
      if (typeof handler === "function") { try { handler.call(this, event); } catch (error) { report(error); } }
      for (const l of [...(listeners.get(this)?.get(event.type) || [])]) {
        if (l.once) this.removeEventListener(event.type, l.fn);
        try { typeof l.fn === "function" ? l.fn.call(this, event) : l.fn.handleEvent(event); } catch (error) { report(error); }
        if (event._stopped) break;
      }
      return !event.defaultPrevented;
    }
  }
  function abortError(reason, name = "AbortError", message = "This operation was aborted") {
    if (reason !== undefined) return reason;
    const e = new Error(message); e.name = name; return e;
  }
  class AbortSignal extends EventTarget {
    constructor() { super(); this.aborted = false; this.reason = undefined; this.onabort = null; }
    throwIfAborted() { if (this.aborted) throw this.reason; }
    static abort(reason) { const c = new AbortController(); c.abort(reason); return c.signal; }
    static timeout(ms) {
      const c = new AbortController();
      setTimeout(() => c.abort(abortError(undefined, "TimeoutError", "The operation timed out")), ms);
      return c.signal;
    }
    static any(signals) {
      const c = new AbortController();
      for (const s of signals) {
        if (s.aborted) { c.abort(s.reason); break; }
        s.addEventListener("abort", () => c.abort(s.reason), { once: true });
      }
      return c.signal;
    }
  }
  class AbortController {
    constructor() { this.signal = new AbortSignal(); }
    abort(reason) {
      const s = this.signal;
      if (s.aborted) return;
      s.aborted = true;
      s.reason = abortError(reason);
      s.dispatchEvent(new Event("abort"));
    }
  }
  for (const [name, value] of Object.entries({ TextEncoder, TextDecoder, Event, EventTarget, AbortSignal, AbortController })) {
    global(name, value);
  }

  // --- console.group -------------------------------------------------------------------------------------
  const plain = globalThis.console;
  let depth = 0;
  const indented = (write) => function (...args) { return depth ? write("  ".repeat(depth) + args.map(String).join(" ")) : write(...args); };
  const console = {};
  for (const level of Object.keys(plain)) console[level] = indented(plain[level]);
  console.trace = console.debug;
  console.group = console.groupCollapsed = function (...label) { if (label.length) console.log(...label); depth++; };
  console.groupEnd = function () { if (depth) depth--; };
  global("console", console);

  // --- npm libraries: js.py evaluates a bundle's `__fox_define(name, factory)` only into contexts whose plugin
  // needs it; the factory runs on first use, once per context. --------------------------------------------
  const factories = new Map(), loaded = new Map();
  hidden("__fox_define", function __fox_define(name, factory) { if (!factories.has(name)) factories.set(name, factory); });
  const library = function __fox_library(name) {
    if (loaded.has(name)) return loaded.get(name);
    const factory = factories.get(name);
    if (!factory) throw new Error(`the library \`${name}\` is not in this plugin's context`);
    const module = { exports: {} };
    factory.call(globalThis, module, module.exports);
    loaded.set(name, module.exports);
    return module.exports;
  };
  library.has = (name) => factories.has(name);
  hidden("__fox_library", library);

  // URL and URLSearchParams come from the `url` bundle, which js.py adds when the plugin's source names them;
  // without it they read as undefined, so `typeof URL` checks in libraries still work.
  for (const name of ["URL", "URLSearchParams"]) {
    defineProperty(globalThis, name, {
      configurable: true,
      get() {
        if (!factories.has("url")) return undefined;
        const value = library("url")[name];
        global(name, value);
        return value;
      },
      set(value) { global(name, value); },
    });
  }
})
