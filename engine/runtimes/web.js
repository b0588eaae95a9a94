// Web-platform globals for every JavaScript plugin, evaluated once per QuickJS context after sandbox.js:
// timers and console.group here; TextEncoder/TextDecoder (web_text.js), crypto.getRandomValues/randomUUID
// (web_crypto.js), structuredClone (web_clone.js), Event/EventTarget/AbortController/AbortSignal
// (web_events.js) and URL/URLSearchParams (the npm whatwg-url build MusicFree itself ships) as pieces parsed
// only where named. QuickJS-ng brings atob/btoa, queueMicrotask and performance. The one implementation for
// plain foxplug plugins and for other ecosystems' (engine/runtimes/compat).
// Timers are driven by the host: js.py asks __fox_timers_next() how long until the next one is due and,
// while a call waits on nothing else, sleeps that long and runs __fox_timers_run() — never past the call's
// deadline. Randomness comes from a ChaCha20 stream keyed with 32 bytes the host reads from the OS.
(function (seedHex) {
  "use strict";
  const defineProperty = Object.defineProperty, now = performance.now.bind(performance);
  const hidden = (name, value) => defineProperty(globalThis, name, { value, writable: false, configurable: false });
  const global = (name, value) => defineProperty(globalThis, name, { value, writable: true, configurable: true });
  const report = (error) => { try { console.error("uncaught in a timer:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };

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

  // The other globals are pieces parsed only into contexts that name them (js.py's WEB_PIECES: parsing costs
  // more than running, so a plugin that never says TextEncoder never pays for it). Each global is a getter that
  // runs its piece on first use, then becomes a plain value; without its piece it reads as undefined, so
  // `typeof URL` checks in libraries still work.
  const LAZY = {
    URL: "url", URLSearchParams: "url", TextEncoder: "web-text", TextDecoder: "web-text", crypto: "web-crypto",
    structuredClone: "web-clone", Event: "web-events", EventTarget: "web-events", AbortController: "web-events",
    AbortSignal: "web-events",
  };
  for (const name of Object.keys(LAZY)) {
    defineProperty(globalThis, name, {
      configurable: true,
      get() {
        if (!factories.has(LAZY[name])) return undefined;
        const piece = library(LAZY[name]);
        const value = name === "crypto" ? piece.keyed(seedHex) : piece[name];  // the key never sits in a global
        global(name, value);
        return value;
      },
      set(value) { global(name, value); },
    });
  }
})
