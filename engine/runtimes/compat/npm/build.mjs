// Bundles each library for QuickJS as a factory: `__fox_define(name, function (module, exports) {...})`.
// The factory is parsed when a plugin's context needs the library and run on its first require().
// Output goes to ../bundles (build output, never committed); `make plugins` runs this.
import { build } from "esbuild";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "bundles");

// name → what the bundle's module.exports is
const LIBRARIES = {
  axios: 'module.exports = require("axios");',
  cheerio: 'module.exports = require("cheerio");',
  "crypto-js": 'module.exports = require("crypto-js");',
  dayjs: 'module.exports = require("dayjs");',
  he: 'module.exports = require("he");',
  qs: 'module.exports = require("qs");',
  "big-integer": 'module.exports = require("big-integer");',
  "fast-xml-parser": 'module.exports = require("fast-xml-parser");',
  buffer: 'module.exports = require("buffer");',
  pako: 'module.exports = require("pako");',
  url: 'const { URL, URLSearchParams } = require("whatwg-url-without-unicode"); module.exports = { URL, URLSearchParams };',
};

const parse5Adapter = {
  name: "htmlparser2-adapter",
  setup(b) {
    b.onResolve({ filter: /parsers\/parse5-adapter\.js$/ }, () => ({ path: join(here, "htmlparser2-adapter.cjs") }));
  },
};

await mkdir(out, { recursive: true });
for (const [name, entry] of Object.entries(LIBRARIES)) {
  const result = await build({
    stdin: { contents: entry, resolveDir: here, loader: "js" },
    bundle: true,
    format: "cjs",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "none",
    write: false,
    define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
    plugins: [parse5Adapter],
  });
  const code = result.outputFiles[0].text;
  await writeFile(join(out, `${name}.js`), `__fox_define(${JSON.stringify(name)},function(module,exports){${code}\n});\n`);
  console.log(`${name}: ${(code.length / 1024).toFixed(0)} KB`);
}
