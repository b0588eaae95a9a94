// crypto.getRandomValues and crypto.randomUUID: a ChaCha20 stream (RFC 8439) keyed by 32 bytes from the host.
// Parsed only into contexts whose plugin (or its glue) names what it defines (engine/runtimes/js.py).
__fox_define("web-crypto", function (module) {
  "use strict";
  const isView = ArrayBuffer.isView, Uint8 = Uint8Array, Uint32 = Uint32Array, now = performance.now.bind(performance);
  const report = (error) => { try { console.error("uncaught in a listener:", error && error.stack ? error.stack : String(error)); } catch (_) { /* console replaced */ } };
  // --- randomness: ChaCha20 keyed by the host (RFC 8439 block function) ----------------------------------
  const key = new Uint32(8), state = new Uint32(16), block = new Uint32(16);
  let counter = 0, stream = new Uint8(0), used = 0;
  function rekey(seedHex) {  // 32 bytes from the host's OS, as hex
    for (let i = 0; i < 8; i++) key[i] = parseInt(seedHex.slice(i * 8, i * 8 + 8), 16);
    counter = 0; stream = new Uint8(0); used = 0;
  }
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

  module.exports = { keyed(seedHex) { rekey(seedHex); return crypto; } };
});
