// The baseline of benchmarks/ecosystems.py: a MusicFree plugin under Node.js, mounted as MusicFree's
// mountPlugin does, requiring the very npm packages foxplug bundles (engine/runtimes/compat/npm/node_modules).
// Reads "N" lines on stdin, answers each with the mean ns of N sequential search() calls; its console writes
// to stderr, as foxplug's goes to a logger.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const [pluginPath, variablesJson, query] = process.argv.slice(2);
const { createRequire } = require("node:module");

const npm = createRequire(path.join(__dirname, "..", "engine", "runtimes", "compat", "npm", "package.json"));
const packages = {};
for (const name of ["axios", "cheerio", "crypto-js", "dayjs", "he", "qs", "big-integer"]) packages[name] = npm(name);
packages.axios.defaults.timeout = 2000;  // as MusicFree sets it
const _require = (name) => { const pkg = packages[name]; pkg.default = pkg; return pkg; };
const variables = JSON.parse(variablesJson);
const env = { getUserVariables: () => variables, get userVariables() { return variables; }, appVersion: "0.6.2", os: "android", lang: "zh-CN" };
const _module = { exports: {} };
Function(`'use strict'; return function(require, __musicfree_require, module, exports, console, env, URL, process) {
${fs.readFileSync(pluginPath, "utf8")}
}`)()(_require, _require, _module, _module.exports, new console.Console(process.stderr), env, URL,
  { platform: "android", version: "0.6.2", env });
const plugin = _module.exports.default || _module.exports;

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const count = Number(line);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const result = await plugin.search(query, 1, "music");
    if (!result.data.length) throw new Error("empty search result");
  }
  process.stdout.write(`${Number(process.hrtime.bigint() - start) / count}\n`);
});
