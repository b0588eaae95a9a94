// The part of the npm `webdav` client (v5) MusicFree plugins use, over fox.http: createClient(url, {username,
// password}) with getDirectoryContents, stat, exists, getFileContents and getFileDownloadLink, and AuthType.
// PROPFIND answers are parsed with fast-xml-parser, the parser the real package uses; the items have its
// FileStat shape {filename, basename, lastmod, size, type, etag, mime}.
__fox_define("webdav", function (module, exports) {
  "use strict";
  const { XMLParser } = __fox_library("fast-xml-parser");
  const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true });
  const AuthType = { Auto: "auto", Digest: "digest", None: "none", Password: "password", Token: "token" };
  const MIME = {
    mp3: "audio/mpeg", flac: "audio/flac", m4a: "audio/mp4", aac: "audio/aac", ogg: "audio/ogg", opus: "audio/opus",
    wav: "audio/wav", ape: "audio/ape", wma: "audio/x-ms-wma", lrc: "text/plain", txt: "text/plain", jpg: "image/jpeg",
    png: "image/png",
  };
  const list = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");
  function base64(text) {
    const bytes = new TextEncoder().encode(text);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary);
  }

  function createClient(remoteURL, options = {}) {
    const root = String(remoteURL).replace(/\/+$/, "");
    const rootPath = decodeURIComponent(root.replace(/^[a-z]+:\/\/[^/]*/i, ""));
    const headers = Object.assign({}, options.headers || {});
    if (options.username !== undefined && options.authType !== AuthType.None) {
      headers.Authorization = "Basic " + base64(`${options.username}:${options.password ?? ""}`);
    }
    if (options.token) headers.Authorization = `${options.token.token_type} ${options.token.access_token}`;
    const urlOf = (path) => root + encodePath(("/" + String(path || "/")).replace(/\/+/g, "/"));

    async function propfind(path, depth) {
      const res = await fox.http.request("PROPFIND", urlOf(path), {
        headers: Object.assign({ Depth: depth, "Content-Type": "application/xml" }, headers),
        body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>',
      });
      if (res.status >= 400) {
        const error = new Error(`Invalid response: ${res.status} ${res.reason}`);
        error.status = res.status;
        throw error;
      }
      const doc = parser.parse(res.body);
      return list(doc.multistatus && doc.multistatus.response).map(stat);
    }
    function stat(response) {
      const href = decodeURIComponent(String(response.href || ""));
      const props = Object.assign({}, ...list(response.propstat).map((p) => p.prop || {}));
      let filename = href.startsWith(rootPath) ? href.slice(rootPath.length) : href;
      filename = ("/" + filename).replace(/\/+/g, "/");
      if (filename.length > 1) filename = filename.replace(/\/$/, "");
      const isDir = props.resourcetype && typeof props.resourcetype === "object" && "collection" in props.resourcetype;
      const basename = filename.split("/").pop();
      const out = {
        filename, basename, lastmod: props.getlastmodified || "", size: isDir ? 0 : Number(props.getcontentlength || 0),
        type: isDir ? "directory" : "file", etag: props.getetag ? String(props.getetag).replace(/"/g, "") : null,
      };
      if (!isDir) out.mime = props.getcontenttype || MIME[basename.split(".").pop().toLowerCase()] || "application/octet-stream";
      return out;
    }
    const same = (a, b) => a.replace(/\/$/, "") === ("/" + b).replace(/\/+/g, "/").replace(/\/$/, "");

    return {
      async getDirectoryContents(path = "/", opts = {}) {
        const items = await propfind(path, opts.deep ? "infinity" : "1");
        return items.filter((item) => !same(item.filename, path || "/"));
      },
      async stat(path) {
        const [item] = await propfind(path, "0");
        return item;
      },
      async exists(path) {
        try { await this.stat(path); return true; } catch (error) { if (error.status === 404) return false; throw error; }
      },
      async getFileContents(path, opts = {}) {
        const res = await fox.http.request("GET", urlOf(path), { headers, binary: opts.format !== "text" });
        if (res.status >= 400) throw new Error(`Invalid response: ${res.status} ${res.reason}`);
        if (opts.format === "text") return res.body;
        const bin = atob(res.body_base64), bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        return bytes.buffer;
      },
      getFileDownloadLink(path) {
        const url = urlOf(path);
        if (options.username === undefined) return url;
        const auth = `${encodeURIComponent(options.username)}:${encodeURIComponent(options.password ?? "")}@`;
        return url.replace(/^([a-z]+:\/\/)/i, `$1${auth}`);
      },
    };
  }
  module.exports = { createClient, AuthType };
});
