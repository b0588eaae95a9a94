// Event, EventTarget, AbortController and AbortSignal (abort, timeout, any).
// Parsed only into contexts whose plugin (or its glue) names what it defines (engine/runtimes/js.py).
__fox_define("web-events", function (module) {
  "use strict";
  const isView = ArrayBuffer.isView, Uint8 = Uint8Array, Uint32 = Uint32Array, now = performance.now.bind(performance);
  const report = (error) => { try { console.error("uncaught in a listener:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };
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

  module.exports = { Event, EventTarget, AbortSignal, AbortController };
});
