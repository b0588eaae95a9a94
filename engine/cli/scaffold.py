"""`foxplug new`: a one-file plugin per language that passes `foxplug check` and `foxplug call` as written."""

from __future__ import annotations

from pathlib import Path
from string import Template

_MANIFEST = """\
id: $id
version: 0.1.0
description: A search source. Try it with `foxplug call $file search hello`
provides: [search]
# The fox.* functions in the comments below need these permissions; uncomment what you use:
# permissions:
#   storage: true                    # fox.storage.get/set/delete/keys
#   network: ["api.example.com"]     # fox.http.get/request to these hosts"""

_LUA = """\
--[[---
$manifest
---]]
local M = {}

-- search(query, opts) -> a list of songs; opts.type is "song", opts.limit the most wanted.
function M.search(query, opts)
  -- With `storage: true`:
  --   local count = (fox.storage.get("searches") or 0) + 1
  --   fox.storage.set("searches", count)
  -- With `network: ["api.example.com"]`:
  --   local res = fox.http.get("https://api.example.com/search", { query = { q = query } })
  --   if res.ok then return res.json.songs end
  return {
    { id = "1", title = query, artists = { { id = "", name = "$id" } }, duration_ms = 180000 },
  }
end

return M
"""

_JS = """\
/*---
$manifest
---*/

// search(query, opts) -> a list of songs; opts.type is "song", opts.limit the most wanted.
export async function search(query, opts) {
  // With `storage: true`:
  //   const count = ((await fox.storage.get("searches")) || 0) + 1;
  //   await fox.storage.set("searches", count);
  // With `network: ["api.example.com"]`:
  //   const res = await fox.http.get("https://api.example.com/search", { query: { q: query } });
  //   if (res.ok) return res.json.songs;
  return [{ id: "1", title: query, artists: [{ id: "", name: "$id" }], duration_ms: 180000 }];
}
"""

_PY = '''\
"""---
$manifest
---"""


def search(query, opts=None):
    """A list of songs; opts["type"] is "song", opts["limit"] the most wanted."""
    # With `storage: true`:
    #     count = (fox.storage.get("searches") or 0) + 1
    #     fox.storage.set("searches", count)
    # With `network: ["api.example.com"]`:
    #     res = fox.http.get("https://api.example.com/search", {"query": {"q": query}})
    #     if res["ok"]:
    #         return res["json"]["songs"]
    return [{"id": "1", "title": query, "artists": [{"id": "", "name": "$id"}], "duration_ms": 180000}]
'''

TEMPLATES: dict[str, tuple[str, str]] = {"lua": (".lua", _LUA), "js": (".js", _JS), "py": (".py", _PY)}
"""Language -> (file extension, template)."""


def scaffold(name: str, lang: str, directory: Path) -> Path:
    """Write `<directory>/<name>.<ext>` with plugin id `name`; never overwrites (FileExistsError)."""
    extension, template = TEMPLATES[lang]
    path = directory / f"{name}{extension}"
    manifest = Template(_MANIFEST).substitute(id=name, file=path.name)
    text = Template(template).substitute(id=name, manifest=manifest)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise FileExistsError(f"{path} already exists; pick another name or --dir") from None
    return path
