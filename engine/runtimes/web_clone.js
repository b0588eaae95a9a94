// structuredClone: plain data, Date, RegExp, Map, Set, ArrayBuffer and typed arrays, Error, cycles.
// Parsed only into contexts whose plugin (or its glue) names what it defines (engine/runtimes/js.py).
__fox_define("web-clone", function (module) {
  "use strict";
  const isView = ArrayBuffer.isView, Uint8 = Uint8Array, Uint32 = Uint32Array, now = performance.now.bind(performance);
  const report = (error) => { try { console.error("uncaught in a listener:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };
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

  module.exports = { structuredClone: (value) => clone(value, new Map()) };
});
