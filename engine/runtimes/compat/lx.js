// LX Music's custom-source host contract (lx-music-desktop src/main/modules/userApi/renderer/preload.js and the
// lx-music-doc custom-source page) inside a foxplug QuickJS context: `globalThis.lx` with request, on, send,
// EVENT_NAMES, utils (buffer, crypto, zlib), currentScriptInfo, version and env. lx.request goes through
// fox.http (so through the permission gate); `inited` is accepted once and intersected with what LX supports.
// For the host it exports request({source, action, info}) — the source's lx.on('request') handler with LX's
// reply checks — and, over it, get_song_url (musicUrl) and get_lyrics (lyric).
(function (scriptInfo) {
  "use strict";
  const EVENT_NAMES = { request: "request", inited: "inited", updateAlert: "updateAlert" };
  const eventNames = Object.values(EVENT_NAMES);
  const allSources = ["kw", "kg", "tx", "wy", "mg", "local"];
  const supportQualitys = {
    kw: ["128k", "320k", "flac", "flac24bit"], kg: ["128k", "320k", "flac", "flac24bit"],
    tx: ["128k", "320k", "flac", "flac24bit"], wy: ["128k", "320k", "flac", "flac24bit"],
    mg: ["128k", "320k", "flac", "flac24bit"], local: [],
  };
  const supportActions = {
    kw: ["musicUrl"], kg: ["musicUrl"], tx: ["musicUrl"], wy: ["musicUrl"], mg: ["musicUrl"], xm: ["musicUrl"],
    local: ["musicUrl", "lyric", "pic"],
  };
  const hostHttp = fox.http.request, notify = fox.ui.notify;
  const buffer = () => __fox_library("buffer").Buffer;
  let sources = null;  // what `inited` declared, intersected with supportActions/supportQualitys
  let requestHandler = null, showedUpdateAlert = false, settleReady;
  const ready = new Promise((resolve, reject) => { settleReady = { resolve, reject }; });

  function verifyLyricInfo(info) {
    if (typeof info != "object" || info === null || typeof info.lyric != "string") throw new Error("failed: a lyric reply is {lyric, tlyric?, rlyric?, lxlyric?} with `lyric` a string");
    if (info.lyric.length > 51200) throw new Error("failed: `lyric` is longer than LX's 51200 characters");
    return {
      lyric: info.lyric,
      tlyric: (typeof info.tlyric == "string" && info.tlyric.length < 5120) ? info.tlyric : null,
      rlyric: (typeof info.rlyric == "string" && info.rlyric.length < 5120) ? info.rlyric : null,
      lxlyric: (typeof info.lxlyric == "string" && info.lxlyric.length < 8192) ? info.lxlyric : null,
    };
  }
  function verifyUrl(response, action) {
    if (typeof response != "string" || response.length > 2048 || !/^https?:/.test(response)) {
      throw new Error(`failed: a ${action} reply is an http(s) URL of at most 2048 characters`);
    }
    return response;
  }

  // As LX's onError: an uncaught error in a callback before `inited` fails the source's initialisation.
  function onError(error) {
    if (sources === null) settleReady.reject(error);
    else console.error("uncaught in an lx.request callback:", error && error.stack ? error.stack : String(error));
  }

  function handleInit(info) {
    if (!info) throw new Error("Missing required parameter init info");
    const declared = {};
    for (const source of allSources) {
      const userSource = info.sources[source];
      if (!userSource || userSource.type !== "music") continue;
      declared[source] = {
        type: "music",
        actions: supportActions[source].filter((a) => userSource.actions.includes(a)),
        qualitys: supportQualitys[source].filter((q) => userSource.qualitys.includes(q)),
      };
    }
    sources = declared;
  }

  // --- request bodies as needle (LX's HTTP client) sends them ---------------------------------------------
  const formEncode = (data) => Object.keys(data).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(data[k] ?? "")}`).join("&");
  function multipart(data) {
    const boundary = "--------------------------foxplug" + Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
    const parts = Object.keys(data).map((k) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${data[k]}\r\n`);
    return [parts.join("") + `--${boundary}--\r\n`, `multipart/form-data; boundary=${boundary}`];
  }
  const hasHeader = (headers, name) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  function nodeHeaders(list) {
    const headers = {};
    for (const [name, value] of list) {
      if (name === "set-cookie") (headers[name] = headers[name] || []).push(value);
      else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    return headers;
  }

  const lx = {
    EVENT_NAMES,
    request(url, { method = "get", timeout, headers, body, form, formData, follow_max: follow } = {}, callback) {
      // needle (LX's client) follows no redirect unless the script sets follow_max
      const opts = { headers: Object.assign({}, headers || {}), binary: true, max_redirects: Number(follow) > 0 ? Number(follow) : 0 };
      opts.timeout = (typeof timeout == "number" && timeout > 0 ? Math.min(timeout, 60000) : 60000) / 1000;
      if (body) {
        if (typeof body == "string") opts.body = body;
        else if (ArrayBuffer.isView(body)) opts.body_base64 = buffer().from(body).toString("base64");
        else { opts.body = formEncode(body); if (!hasHeader(opts.headers, "content-type")) opts.headers["Content-Type"] = "application/x-www-form-urlencoded"; }
      } else if (form) {
        opts.body = typeof form == "string" ? form : formEncode(form);
        if (!hasHeader(opts.headers, "content-type")) opts.headers["Content-Type"] = "application/x-www-form-urlencoded";
      } else if (formData) {
        const [text, type] = multipart(formData);
        opts.body = text;
        opts.headers["Content-Type"] = type;
      }
      let cancelled = false;
      const self = this;
      const answer = (...args) => {
        try { callback.call(self, ...args); } catch (error) { onError(error); }
      };
      hostHttp(String(method).toUpperCase(), url, opts).then((res) => {
        if (cancelled) return;
        const raw = buffer().from(res.body_base64, "base64");
        let parsed = raw.toString();
        try { parsed = JSON.parse(parsed); } catch (_) { /* not JSON: the text */ }
        answer(null, {
          statusCode: res.status, statusMessage: res.reason, headers: nodeHeaders(res.header_list),
          bytes: raw.length, raw, body: parsed,
        }, parsed);
      }, (error) => { if (!cancelled) answer(error, null, null); });
      return () => { cancelled = true; };
    },
    send(eventName, data) {
      return new Promise((resolve, reject) => {
        if (!eventNames.includes(eventName)) return reject(new Error("The event is not supported: " + eventName));
        switch (eventName) {
          case EVENT_NAMES.inited:
            if (sources !== null) return reject(new Error("Script is inited"));
            try { handleInit(data); } catch (error) { settleReady.reject(error); return reject(error); }
            settleReady.resolve();
            resolve();
            break;
          case EVENT_NAMES.updateAlert: {
            if (showedUpdateAlert) return reject(new Error("The update alert can only be called once."));
            showedUpdateAlert = true;
            if (!data || typeof data != "object") return reject(new Error("parameter format error."));
            if (!data.log || typeof data.log != "string") return reject(new Error("log is required."));
            const log = data.log.length > 1024 ? data.log.substring(0, 1024) + "..." : data.log;
            const link = typeof data.updateUrl == "string" && /^https?:\/\/[^\s$.?#].[^\s]*$/.test(data.updateUrl) && data.updateUrl.length <= 1024 ? data.updateUrl : "";
            notify(`${scriptInfo.name}: ${log}${link ? "\n" + link : ""}`, "info").then(resolve, reject);
            break;
          }
          default:
            reject(new Error("Unknown event name: " + eventName));
        }
      });
    },
    on(eventName, handler) {
      if (!eventNames.includes(eventName)) return Promise.reject(new Error("The event is not supported: " + eventName));
      if (eventName !== EVENT_NAMES.request) return Promise.reject(new Error("The event is not supported: " + eventName));
      requestHandler = handler;
      return Promise.resolve();
    },
    utils: {
      crypto: {
        aesEncrypt(data, mode, key, iv) { return aesEncrypt(data, mode, key, iv); },
        rsaEncrypt(data, key) { return rsaEncrypt(data, key); },
        randomBytes(size) {
          const out = new Uint8Array(size);
          for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
          return buffer().from(out);
        },
        md5(str) {
          const CryptoJS = __fox_library("crypto-js");
          return CryptoJS.MD5(typeof str == "string" ? str : words(str)).toString(CryptoJS.enc.Hex);
        },
      },
      buffer: {
        from(...args) { return buffer().from(...args); },
        bufToString(buf, format) { return buffer().from(buf, "binary").toString(format); },
      },
      zlib: {
        inflate(buf) { return new Promise((resolve) => resolve(buffer().from(__fox_library("pako").inflate(buf)))); },
        deflate(data) { return new Promise((resolve) => resolve(buffer().from(__fox_library("pako").deflate(data)))); },
      },
    },
    currentScriptInfo: scriptInfo,
    version: "2.0.0",
    env: "desktop",
  };

  // --- crypto as Node's createCipheriv / publicEncrypt(RSA_NO_PADDING) give it ----------------------------
  function words(data) {
    const CryptoJS = __fox_library("crypto-js");
    const bytes = typeof data == "string" ? buffer().from(data) : new Uint8Array(data);
    return CryptoJS.lib.WordArray.create(bytes);
  }
  function aesEncrypt(data, mode, key, iv) {
    const CryptoJS = __fox_library("crypto-js");
    const match = /^aes-(128|192|256)-(cbc|ecb|ctr|cfb|ofb)$/i.exec(String(mode));
    if (!match) throw new Error(`Unsupported cipher: ${mode}`);
    const name = match[2].toUpperCase();
    const stream = name === "CTR" || name === "CFB" || name === "OFB";
    const options = { mode: CryptoJS.mode[name === "CTR" ? "CTR" : name], padding: stream ? CryptoJS.pad.NoPadding : CryptoJS.pad.Pkcs7 };
    if (name !== "ECB") options.iv = words(iv);
    const encrypted = CryptoJS.AES.encrypt(words(data), words(key), options);
    return buffer().from(encrypted.ciphertext.toString(CryptoJS.enc.Base64), "base64");
  }
  function derValue(bytes, at) {  // [tag, start of content, end of content]
    const tag = bytes[at];
    let length = bytes[at + 1], start = at + 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + bytes[start + i];
      start += n;
    }
    return [tag, start, start + length];
  }
  function rsaKey(pem) {
    const der = buffer().from(String(pem).replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    let [, at] = derValue(der, 0);                        // SEQUENCE
    let [tag, start, end] = derValue(der, at);
    if (tag === 0x30) {                                    // SubjectPublicKeyInfo: algorithm, then BIT STRING
      [tag, start, end] = derValue(der, end);
      [, at] = derValue(der, start + 1);                   // skip the unused-bits byte; RSAPublicKey SEQUENCE
      [tag, start, end] = derValue(der, at);
    }
    const int = (s, e) => BigInt("0x" + (buffer().from(der.subarray(s, e)).toString("hex") || "0"));
    const n = int(start, end);
    const [, es, ee] = derValue(der, end);
    return { n, e: int(es, ee), size: Math.ceil(n.toString(16).length / 2) };
  }
  function rsaEncrypt(data, key) {
    const { n, e, size } = rsaKey(key);
    let input = buffer().from(data);
    input = buffer().concat([buffer().alloc(Math.max(0, 128 - input.length)), input]);  // as LX pads
    let m = BigInt("0x" + (input.toString("hex") || "0")), result = 1n, exponent = e;
    m %= n;
    while (exponent > 0n) {
      if (exponent & 1n) result = (result * m) % n;
      m = (m * m) % n;
      exponent >>= 1n;
    }
    return buffer().from(result.toString(16).padStart(size * 2, "0"), "hex");
  }

  // --- what the host calls -----------------------------------------------------------------------------
  async function handleRequest({ source, action, info } = {}) {
    if (!requestHandler) throw new Error("Request event is not defined");
    if (!sources[source]) throw new Error(`source \`${source}\` is not one this script declared in inited (${Object.keys(sources).join(", ") || "none"})`);
    if (!sources[source].actions.includes(action)) throw new Error(`source \`${source}\` does not declare the action \`${action}\``);
    const response = await requestHandler.call(lx, { source, action, info });
    switch (action) {
      case "musicUrl": case "pic": return verifyUrl(response, action);
      case "lyric": return verifyLyricInfo(response);
    }
    return response;
  }
  const withAction = (action) => Object.keys(sources).filter((s) => sources[s].actions.includes(action));
  function musicInfoOf(song) {
    const extra = song && typeof song.extra == "object" && song.extra ? song.extra : {};
    if (extra.musicInfo) return extra.musicInfo;
    const seconds = Math.round((song.duration_ms || 0) / 1000);
    return {
      songmid: song.id, name: song.title,
      singer: (song.artists || []).map((a) => (typeof a == "string" ? a : a.name)).join("、"),
      albumName: song.album && typeof song.album == "object" ? song.album.name : song.album || "",
      interval: `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`,
      source: extra.source,
    };
  }
  function sourceFor(song, action) {
    const candidates = withAction(action);
    const wanted = song && song.extra && song.extra.source;
    return candidates.includes(wanted) ? wanted : candidates[0];
  }
  const out = {
    __fox_lx_ready() {
      return ready.then(() => {
        out.request = handleRequest;
        if (withAction("musicUrl").length) {
          out.get_song_url = async (song, quality) => {
            song = typeof song == "object" && song ? song : { id: String(song) };
            const source = sourceFor(song, "musicUrl");
            const qualitys = sources[source].qualitys;
            const type = source === "local" ? null : qualitys.includes(quality) ? quality : qualitys.includes("320k") ? "320k" : qualitys[0];
            return { url: await handleRequest({ source, action: "musicUrl", info: { type, musicInfo: musicInfoOf(song) } }), headers: {} };
          };
        }
        if (withAction("lyric").length) {
          out.get_lyrics = async (song) => {
            const info = await handleRequest({ source: sourceFor(song, "lyric"), action: "lyric", info: { musicInfo: musicInfoOf(song) } });
            return { lrc: info.lyric, translation: info.tlyric };
          };
        }
      });
    },
  };
  globalThis.__fox_module_exports = out;
  Object.defineProperty(globalThis, "lx", { value: Object.freeze(lx), writable: false, configurable: false });
})
