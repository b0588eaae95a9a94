// MusicFree's host contract (src/core/pluginManager/plugin.ts) inside a foxplug QuickJS context. The plugin
// file is evaluated unmodified as the body of
//   function (require, __musicfree_require, module, exports, console, env, URL, process) { "use strict"; ... }
// exactly as MusicFree's mountPlugin builds it; __fox_musicfree runs that function, takes
// `module.exports.default || module.exports` as the plugin, and exports for the host:
//   - every function the plugin defines, under its own name and signature (search(query, page, type), ...);
//   - foxplug's capabilities over them: search(query, {type, limit}), get_song_url(song, quality),
//     get_lyrics(song), get_playlist(id), get_playlist_songs(id, offset, limit), with items normalised into
//     foxplug's shapes and each MusicFree item kept whole in `extra`, so it comes back to getMediaSource.
// axios's requests go through fox.http (an adapter), so through the permission gate.
(function () {
  "use strict";
  const APP_VERSION = "0.6.2";  // the MusicFree release whose contract this follows
  const ALLOWED = ["axios", "cheerio", "crypto-js", "dayjs", "he", "qs", "big-integer", "webdav"];
  const notImplemented = () => { throw new Error("not implemented: @react-native-cookies/cookies is deprecated in MusicFree"); };
  const cookieManager = { get: notImplemented, set: notImplemented, flush: notImplemented };
  const hostHttp = fox.http.request;
  const userVariables = () => (fox.config && typeof fox.config === "object" ? fox.config : {});

  // --- require, as MusicFree's _require: the package itself, with `.default` pointing at it -------------
  function require(name) {
    if (name === "@react-native-cookies/cookies") return cookieManager;
    if (!ALLOWED.includes(name)) {
      throw new Error(`Cannot find module '${name}': MusicFree plugins may require only ${ALLOWED.join(", ")}`);
    }
    const pkg = __fox_library(name);
    if (name === "axios" && !pkg.__fox_adapted) adaptAxios(pkg);
    try { if (pkg.default !== pkg) pkg.default = pkg; } catch (_) { /* a read-only namespace keeps its own */ }
    return pkg;
  }

  // --- axios over fox.http ---------------------------------------------------------------------------
  function bytesOf(base64) {
    const text = atob(base64), bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }
  function base64Of(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return btoa(text);
  }
  function responseHeaders(list) {
    const headers = {};
    for (const [name, value] of list) {
      if (name === "set-cookie") (headers[name] = headers[name] || []).push(value);
      else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    return headers;
  }
  function adaptAxios(axios) {
    const { AxiosError, AxiosHeaders, CanceledError } = axios;
    axios.defaults.adapter = async function foxAdapter(config) {
      if (config.signal && config.signal.aborted) throw new CanceledError(null, config);
      const headers = AxiosHeaders.from(config.headers).toJSON(true);
      if (config.auth) {
        const { username = "", password = "" } = config.auth;
        headers.Authorization = "Basic " + base64Of(new TextEncoder().encode(`${username}:${password}`));
      }
      const opts = { headers, max_redirects: config.maxRedirects ?? 5 };
      if (config.timeout) opts.timeout = config.timeout / 1000;
      const binary = ["arraybuffer", "blob", "stream"].includes(config.responseType);
      if (binary) opts.binary = true;
      let data = config.data;
      if (data instanceof ArrayBuffer) data = new Uint8Array(data);
      if (ArrayBuffer.isView(data)) opts.body_base64 = base64Of(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else if (data != null) opts.body = String(data);
      const url = axios.getUri(config);
      const request = { responseURL: url };
      let answer;
      try {
        answer = await hostHttp((config.method || "get").toUpperCase(), url, opts);
      } catch (error) {  // the host's own message (PermissionDenied, timeout...) is kept so the host can recognise it
        const code = error.name === "PluginTimeout" ? AxiosError.ECONNABORTED : AxiosError.ERR_NETWORK;
        throw new AxiosError(`${error.name}: ${error.message}`, code, config, request);
      }
      request.responseURL = answer.url;
      const response = {
        data: binary ? bytesOf(answer.body_base64).buffer : answer.body,
        status: answer.status,
        statusText: answer.reason,
        headers: responseHeaders(answer.header_list),
        config,
        request,
      };
      const validate = config.validateStatus;
      if (!validate || validate(response.status)) return response;
      throw new AxiosError(
        "Request failed with status code " + response.status,
        [AxiosError.ERR_BAD_REQUEST, AxiosError.ERR_BAD_RESPONSE][Math.floor(response.status / 100) - 4],
        config, request, response,
      );
    };
    axios.defaults.timeout = 2000;  // as MusicFree sets it
    axios.interceptors.response.use((response) => {  // MusicFree's set-cookie normalisation, verbatim in effect
      const setCookie = response.headers["set-cookie"];
      if (setCookie && setCookie.length === 1) {
        response.headers["set-cookie"] = setCookie[0].split(",");
        response.headers["x-set-cookie"] = setCookie;
      }
      return response;
    });
    Object.defineProperty(axios, "__fox_adapted", { value: true });
  }

  // --- normalising MusicFree items into foxplug's shapes ---------------------------------------------
  const plain = (value) => JSON.parse(JSON.stringify(value ?? null));
  const text = (value) => (value === undefined || value === null ? "" : String(value));
  function song(item) {
    const out = { id: text(item.id), title: text(item.title), extra: plain(item) };
    if (item.artist) out.artists = [text(item.artist)];
    if (item.album) out.album = { name: text(item.album), cover_url: item.artwork ? text(item.artwork) : null };
    if (typeof item.duration === "number" && item.duration >= 0) out.duration_s = item.duration;
    return out;
  }
  const album = (item) => ({
    id: text(item.id), name: text(item.title), cover_url: item.artwork || null,
    artists: item.artist ? [text(item.artist)] : [], description: item.description || null, extra: plain(item),
  });
  const artist = (item) => ({
    id: text(item.id), name: text(item.name), cover_url: item.avatar || null, extra: plain(item),
  });
  const sheet = (item) => ({
    id: text(item.id), name: text(item.title), description: item.description || null, cover_url: item.artwork || null,
    song_count: typeof item.worksNum === "number" ? item.worksNum : null,
    creator: item.artist ? text(item.artist) : null,
  });
  const KINDS = { song: ["music", song], album: ["album", album], artist: ["artist", artist], playlist: ["sheet", sheet], lyric: ["lyric", song] };

  // `user:pass@host` media URLs become an Authorization header, as MusicFree's formatAuthUrl does.
  const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;
  function mediaSource(url, headers) {
    const out = { url, headers: Object.assign({}, headers || {}) };
    const match = USERINFO.exec(url);
    if (match && match[2].includes(":")) {
      const [user, pass] = match[2].split(/:(.*)/s);
      out.url = match[1] + url.slice(match[0].length);
      out.headers.Authorization = "Basic " + base64Of(new TextEncoder().encode(`${decodeURIComponent(user)}:${decodeURIComponent(pass)}`));
    }
    return out;
  }
  // The item a foxplug Song stands for: its `extra` when this plugin made it, else what the Song says.
  function itemOf(value) {
    if (value === null || typeof value !== "object") return { id: text(value), platform: platformName };
    const extra = value.extra && typeof value.extra === "object" ? value.extra : null;
    if (extra && extra.id !== undefined && (!value.source || value.source === fox.plugin.id)) return extra;
    const artists = Array.isArray(value.artists) ? value.artists.map((a) => (typeof a === "string" ? a : a && a.name)).filter(Boolean) : [];
    return {
      id: text(value.id), platform: platformName, title: text(value.title), artist: artists.join(", "),
      album: value.album && typeof value.album === "object" ? text(value.album.name) : text(value.album),
      duration: typeof value.duration_ms === "number" ? value.duration_ms / 1000 : undefined,
    };
  }

  let platformName = "";
  hidden("__fox_musicfree", function __fox_musicfree(factory) {
    const module = { exports: {} };
    const env = {
      getUserVariables: () => userVariables(),
      get userVariables() { return this.getUserVariables() ?? {}; },
      appVersion: APP_VERSION,
      os: "android",
      lang: "zh-CN",
    };
    const process = { platform: "android", version: APP_VERSION, env };
    factory.call(undefined, require, require, module, module.exports, console, env, globalThis.URL, process);
    const instance = module.exports.default ? module.exports.default : module.exports;
    if (!instance || typeof instance !== "object" || !instance.platform) {
      throw new TypeError("not a MusicFree plugin: module.exports has no `platform`");
    }
    if (Array.isArray(instance.userVariables)) instance.userVariables = instance.userVariables.filter((it) => it?.key);
    platformName = String(instance.platform);
    globalThis.__fox_module_exports = exportsOf(instance);
  });

  function exportsOf(plugin) {
    const out = {};
    for (const key of Object.keys(plugin)) {
      if (typeof plugin[key] === "function") out[key] = (...args) => plugin[key](...args);
    }
    const supports = (type) => !Array.isArray(plugin.supportedSearchType) || plugin.supportedSearchType.includes(type);
    if (typeof plugin.search === "function") {
      // MusicFree's search(query, page, type) and foxplug's search(query, {type, limit}) share the name; the
      // second argument tells them apart (a page number, or foxplug's options object).
      out.search = async (query, second, third) => {
        if (typeof second === "number" || typeof third === "string") return plugin.search(query, second, third);
        const opts = second && typeof second === "object" ? second : {};
        const [type, shape] = KINDS[opts.type || "song"] || KINDS.song;
        if (!supports(type)) return [];
        const result = (await plugin.search(String(query), 1, type)) ?? {};
        const data = Array.isArray(result.data) ? result.data : [];
        return data.map(shape);
      };
    }
    if (typeof plugin.getMediaSource === "function" || (typeof plugin.search === "function" && supports("music"))) {
      out.get_song_url = async (value, quality) => {
        const item = itemOf(value);
        const level = ["low", "standard", "high", "super"].includes(quality) ? quality : "standard";
        const answer = typeof plugin.getMediaSource === "function"
          ? (await plugin.getMediaSource(item, level)) ?? { url: item?.qualities?.[level]?.url }
          : { url: item?.qualities?.[level]?.url ?? item.url };
        if (!answer || !answer.url) return null;
        return mediaSource(String(answer.url), answer.headers);
      };
    }
    if (typeof plugin.getLyric === "function") {
      out.get_lyrics = async (value) => {
        let item = itemOf(value);
        const ours = value && typeof value === "object" && value.source === fox.plugin.id;
        if (!ours && typeof plugin.search === "function" && Array.isArray(plugin.supportedSearchType) && supports("lyric")) {
          // a lyrics site: find the song there by its title first, as MusicFree's "search lyrics" does
          const found = ((await plugin.search(item.title, 1, "lyric")) ?? {}).data;
          if (!Array.isArray(found) || !found.length) return null;
          item = found[0];
        }
        const source = await plugin.getLyric(item);
        if (!source || !(source.rawLrc || source.translation)) return null;
        return { lrc: text(source.rawLrc), translation: source.translation ? text(source.translation) : null };
      };
    }
    if (typeof plugin.getMusicSheetInfo === "function") {
      out.get_playlist = async (id) => {
        const info = (await plugin.getMusicSheetInfo({ id: text(id), platform: platformName }, 1)) ?? {};
        return sheet(Object.assign({ id: text(id), title: text(id) }, info.sheetItem || {}));
      };
      out.get_playlist_songs = async (id, offset = 0, limit = 50) => {
        const songs = [];
        for (let page = 1; songs.length < offset + limit; page++) {
          const info = (await plugin.getMusicSheetInfo({ id: text(id), platform: platformName }, page)) ?? {};
          songs.push(...(info.musicList || []));
          if (info.isEnd !== false || !(info.musicList || []).length) break;
        }
        return songs.slice(offset, offset + limit).map(song);
      };
    }
    return out;
  }

  function hidden(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: false, configurable: false });
  }
})();
