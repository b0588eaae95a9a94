// Runs once per QuickJS context, before plugin code. QuickJS refuses to call Python while its time limit
// is armed, so `fox.*` never calls the host directly: each call queues a request and returns a Promise,
// and the engine services the queue between time-limited slices (engine/runtimes/js.py).
(function (apiJson, valuesJson) {
  "use strict";
  const api = JSON.parse(apiJson);
  const pending = new Map();
  const outbox = [];
  let seq = 0;
  let settled = null;
  let exported = null;

  function strict(key, value) {
    const kind = typeof value;
    if (kind === "function" || kind === "symbol" || kind === "bigint") {
      throw new TypeError((key === "" ? "the value" : "`" + key + "`") + ": a " + kind + " is not data");
    }
    if (kind === "number" && !isFinite(value)) {  // JSON.stringify would turn it into null silently
      throw new TypeError((key === "" ? "the value" : "`" + key + "`") + ": " + value + " is not a finite number");
    }
    return value;
  }
  function encode(value) {
    const text = JSON.stringify(value === undefined ? null : value, strict);
    return text === undefined ? "null" : text;
  }
  function describe(error) {
    try {
      if (error instanceof Error) {
        return { name: String(error.name), message: String(error.message), stack: String(error.stack || "") };
      }
      return { name: "Error", message: String(error), stack: "" };
    } catch (_) {
      return { name: "Error", message: "a thrown value that cannot be described", stack: "" };
    }
  }
  function finish(ok, value) {
    try {
      return ok ? ['{"ok":true,"value":', encode(value), "}"].join("") : JSON.stringify({ ok: false, error: describe(value) });
    } catch (error) {
      return JSON.stringify({ ok: false, junk: true, error: describe(error) });
    }
  }
  // What __fox_invoke hands back: "+" when host calls are queued, "=" when not, then the result.
  // Strings reach Python only through join() or JSON.stringify: QuickJS-ng keeps a long `a + b` as a
  // rope, which the Python binding cannot convert ("Unknown quickjs tag: -6").
  function reply(ok, value) {
    return [outbox.length ? "+" : "=", finish(ok, value)].join("");
  }
  function hostcall(name, args) {
    return new Promise(function (resolve, reject) {
      const id = ++seq;
      pending.set(id, [resolve, reject]);
      outbox.push([id, name, encode(args)]);
    });
  }

  const fox = {};
  for (const group of Object.keys(api)) {
    const ns = {};
    for (const leaf of api[group]) {
      const name = group + "." + leaf;
      ns[leaf] = function () { return hostcall(name, Array.prototype.slice.call(arguments)); };
    }
    fox[group] = ns;
  }
  const values = JSON.parse(valuesJson);  // fox.config, fox.plugin.id, ... (script_api.api.HOST_VALUES)
  for (const name of Object.keys(values)) {
    const dot = name.lastIndexOf(".");
    const target = dot < 0 ? fox : fox[name.slice(0, dot)];
    target[name.slice(dot + 1)] = values[name];
  }
  const log = function (level) {
    return function () { fox.log[level](Array.prototype.map.call(arguments, String).join(" ")); };
  };

  const hidden = {
    __fox_invoke: function (name, argsJson) {
      const fn = exported && exported[name];
      if (typeof fn !== "function") return "?";
      settled = null;
      let result;
      try {
        result = fn.apply(exported, JSON.parse(argsJson));
      } catch (error) {
        return reply(false, error);
      }
      let thenable = false;
      try { thenable = result !== null && typeof result === "object" && typeof result.then === "function"; }
      catch (error) { return reply(false, error); }
      if (!thenable) return reply(true, result);
      Promise.resolve(result).then(
        function (value) { settled = finish(true, value); },
        function (error) { settled = finish(false, error); }
      );
      return null;
    },
    __fox_poll: function () { return settled; },
    __fox_take: function () {
      if (!outbox.length) return null;
      const batch = JSON.stringify(outbox);
      outbox.length = 0;
      return batch;
    },
    __fox_settle: function (id, ok, payload) {
      const entry = pending.get(id);
      pending.delete(id);
      if (!entry) return;
      if (ok) { entry[0](JSON.parse(payload)); return; }
      const info = JSON.parse(payload);
      const error = new Error(info.message);
      error.name = info.name;
      entry[1](error);
    },
    __fox_exports: function () {
      let source = globalThis.__fox_module_exports || module.exports;
      if (!Object.keys(source).length) source = globalThis;  // plain script: its global functions
      exported = source;
      return Object.keys(source).filter(function (k) { return typeof source[k] === "function"; }).join("\n");
    },
  };
  for (const key of Object.keys(hidden)) {
    Object.defineProperty(globalThis, key, { value: hidden[key], writable: false, configurable: false });
  }
  globalThis.fox = fox;
  globalThis.console = { log: log("info"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") };
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
})
