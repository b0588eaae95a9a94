// TextEncoder and TextDecoder (UTF-8, as the Encoding standard requires of TextEncoder).
// Parsed only into contexts whose plugin (or its glue) names what it defines (engine/runtimes/js.py).
__fox_define("web-text", function (module) {
  "use strict";
  const isView = ArrayBuffer.isView, Uint8 = Uint8Array, Uint32 = Uint32Array, now = performance.now.bind(performance);
  const report = (error) => { try { console.error("uncaught in a listener:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };
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

  module.exports = { TextEncoder, TextDecoder };
});
