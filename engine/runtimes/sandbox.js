// Runs once per QuickJS context, before plugin code. QuickJS refuses to call Python while its time limit
// is armed, so `fox.*` never calls the host directly: each call queues a request and returns a Promise,
// and the engine services the queue between time-limited slices (engine/runtimes/js.py).
// Plugin code can replace any global or prototype method, so everything the host's side of the protocol
// relies on is captured here, before it runs. The sandbox's own functions are named __fox_*, so js.py can
// drop their frames from a plugin's traceback (QuickJS labels every frame <input>).
(function (apiJson, valuesJson) {
  "use strict";
  const call = Function.prototype.call;
  const method = function (fn) { return call.bind(fn); };
  const parse = JSON.parse, stringify = JSON.stringify, keys = Object.keys, apply = Reflect.apply;
  const defineProperty = Object.defineProperty, finite = Number.isFinite, toText = String, ErrorType = Error;
  const PromiseType = Promise, settleWith = Promise.resolve.bind(Promise), then = method(Promise.prototype.then);
  const join = method(Array.prototype.join), slice = method(Array.prototype.slice);
  const map = method(Array.prototype.map), filter = method(Array.prototype.filter);

  const api = parse(apiJson);
  const pending = Object.create(null);
  const outbox = [];
  Object.setPrototypeOf(outbox, null);  // no setter a plugin puts on Array.prototype sees the requests
  let seq = 0;
  let calls = 0;
  const settled = Object.create(null);  // per call: a call may start while another awaits fox.plugins.call
  let exported = null;

  function __fox_strict(key, value) {
    const kind = typeof value;
    if (kind === "function" || kind === "symbol" || kind === "bigint") {
      throw new TypeError((key === "" ? "the value" : "`" + key + "`") + ": a " + kind + " is not data");
    }
    if (kind === "number" && !finite(value)) {  // JSON.stringify would turn it into null silently
      throw new TypeError((key === "" ? "the value" : "`" + key + "`") + ": " + value + " is not a finite number");
    }
    return value;
  }
  function __fox_encode(value) {
    const text = stringify(value === undefined ? null : value, __fox_strict);
    return text === undefined ? "null" : text;
  }
  function __fox_describe(error) {
    try {
      if (error instanceof ErrorType) {
        return { name: toText(error.name), message: toText(error.message), stack: toText(error.stack || "") };
      }
      return { name: "Error", message: toText(error), stack: "" };
    } catch (_) {
      return { name: "Error", message: "a thrown value that cannot be described", stack: "" };
    }
  }
  function __fox_finish(ok, value) {
    try {
      return ok ? join(['{"ok":true,"value":', __fox_encode(value), "}"], "") : stringify({ ok: false, error: __fox_describe(value) });
    } catch (error) {
      return stringify({ ok: false, junk: true, error: __fox_describe(error) });
    }
  }
  // What __fox_invoke hands back: "+" when host calls are queued, "=" when not, then the result.
  // Strings reach Python only through join() or JSON.stringify: QuickJS-ng keeps a long `a + b` as a
  // rope, which the Python binding cannot convert ("Unknown quickjs tag: -6").
  function __fox_reply(ok, value) {
    return join([outbox.length ? "+" : "=", __fox_finish(ok, value)], "");
  }
  function __fox_hostcall(name, args) {
    return new PromiseType(function __fox_request(resolve, reject) {
      const id = ++seq;
      pending[id] = [resolve, reject];
      outbox[outbox.length] = [id, name, __fox_encode(args)];
    });
  }

  const fox = {};
  for (const group of keys(api)) {
    const ns = {};
    for (const leaf of api[group]) {
      const name = group + "." + leaf;
      ns[leaf] = function __fox_api() { return __fox_hostcall(name, slice(arguments)); };
    }
    fox[group] = ns;
  }
  const values = parse(valuesJson);  // fox.config, fox.plugin.id, ... (script_api.api.HOST_VALUES)
  for (const name of keys(values)) {
    const dot = name.lastIndexOf(".");
    const target = dot < 0 ? fox : fox[name.slice(0, dot)];
    target[name.slice(dot + 1)] = values[name];
  }
  const logger = fox.log;
  const log = function (level) {
    const write = logger[level];
    return function __fox_console() { return write(join(map(arguments, toText), " ")); };
  };

  const hidden = {
    __fox_invoke: function __fox_invoke(name, argsJson) {
      const fn = exported && exported[name];
      if (typeof fn !== "function") return "?";
      const id = ++calls;
      let result;
      try {
        result = apply(fn, exported, parse(argsJson));
      } catch (error) {
        return __fox_reply(false, error);
      }
      let thenable = false;
      try { thenable = result !== null && typeof result === "object" && typeof result.then === "function"; }
      catch (error) { return __fox_reply(false, error); }
      if (!thenable) return __fox_reply(true, result);
      then(
        settleWith(result),
        function __fox_fulfilled(value) { settled[id] = __fox_finish(true, value); },
        function __fox_rejected(error) { settled[id] = __fox_finish(false, error); }
      );
      return join(["~", id], "");
    },
    __fox_poll: function __fox_poll(id) {
      const out = settled[id];
      if (out === undefined) return null;
      delete settled[id];
      return out;
    },
    __fox_take: function __fox_take() {
      if (!outbox.length) return null;
      const batch = stringify(outbox);
      outbox.length = 0;
      return batch;
    },
    __fox_settle: function __fox_settle(id, ok, payload) {
      const entry = pending[id];
      delete pending[id];
      if (!entry) return;
      if (ok) { entry[0](parse(payload)); return; }
      const info = parse(payload);
      const error = new ErrorType(info.message);
      error.name = info.name;
      entry[1](error);
    },
    __fox_exports: function __fox_exports() {
      let source = globalThis.__fox_module_exports || module.exports;
      if (!keys(source).length) source = globalThis;  // plain script: its global functions
      exported = source;
      return join(filter(keys(source), function __fox_function(k) { return typeof source[k] === "function"; }), "\n");
    },
  };
  for (const key of keys(hidden)) {
    defineProperty(globalThis, key, { value: hidden[key], writable: false, configurable: false });
  }
  globalThis.fox = fox;
  globalThis.console = { log: log("info"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") };
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
})
