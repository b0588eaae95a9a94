"""The work every benchmark runs: one plugin per language, and the same work done by the raw runtime."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lupa.lua54 as lupa
import quickjs

from engine.config import Config
from engine.gate.permissions import PermissionGate
from engine.loading.manifest import read_plugin
from engine.loading.pipeline import limits_for
from engine.runtimes.base import Instance
from script_api.context import PluginContext

RUNTIMES = ("lua", "js", "python")
EXTENSION = {"lua": ".lua", "js": ".js", "python": ".py"}
TITLE = {"lua": "Lua", "js": "JS", "python": "Python"}

RECORD: dict[str, Any] = {
    "id": "song-42",
    "title": "Hey Jude",
    "artist": "The Beatles",
    "album": "Past Masters",
    "duration_ms": 431000,
    "track": 21,
    "year": 1968,
    "explicit": False,
    "rating": 4.5,
    "source": "bench",
}
"""The 10-field argument of `echo`, which answers with a 10-field copy."""

SMALL: dict[str, Any] = {"title": "Hey Jude", "track": 21}
"""What `encode` passes to fox.json.encode: a host call with small arguments."""

# Each plugin exports: noop() — nothing in, nothing out; echo(t) — a copy of a table; encode(n, v) —
# n calls of fox.json.encode(v); same_loop(n, v) — the same loop calling a trivial local function.
_LUA_BODY = """
local M = {}
local function same(v) return v end
function M.noop() end
function M.echo(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end
function M.encode(n, v)
  local s
  for _ = 1, n do s = fox.json.encode(v) end
  return s
end
function M.same_loop(n, v)
  local s
  for _ = 1, n do s = same(v) end
  return s
end
return M
"""
_LUA_ECHO = "function(t) local out = {} for k, v in pairs(t) do out[k] = v end return out end"

_JS_ECHO = "function echo(t) { const out = {}; for (const k in t) out[k] = t[k]; return out; }"
_JS_BODY = f"""
function same(v) {{ return v; }}
{_JS_ECHO}
module.exports = {{
  noop() {{}},
  echo,
  async encode(n, v) {{ let s; for (let i = 0; i < n; i++) s = await fox.json.encode(v); return s; }},
  async same_loop(n, v) {{ let s; for (let i = 0; i < n; i++) s = await same(v); return s; }},
}};
"""

_PY_ECHO = """
def echo(t):
    return {k: v for k, v in t.items()}
"""
_PY_BODY = f"""
def same(v):
    return v


def noop():
    return None

{_PY_ECHO}

def encode(n, v):
    s = None
    for i in range(n):
        s = fox.json.encode(v)
    return s


def same_loop(n, v):
    s = None
    for i in range(n):
        s = same(v)
    return s
"""

_MANIFEST = {
    "lua": "--[[---\nid: {id}\nversion: 1.0.0\n---]]\n",
    "js": "/*---\nid: {id}\nversion: 1.0.0\n---*/\n",
    "python": '"""---\nid: {id}\nversion: 1.0.0\n---"""\n',
}
_BODY = {"lua": _LUA_BODY, "js": _JS_BODY, "python": _PY_BODY}


def write_plugin(directory: Path, runtime: str, plugin_id: str) -> Path:
    """The benchmark plugin as a real one-file plugin with an inline manifest."""
    path = directory / f"{plugin_id}{EXTENSION[runtime]}"
    path.write_text(_MANIFEST[runtime].format(id=plugin_id) + _BODY[runtime], encoding="utf-8")
    return path


def instantiate(path: Path) -> Instance:
    """The loader's steps without the actor: read and validate the manifest, then create the instance here.

    The instance belongs to the calling thread from now on. Its context has no host services: the
    benchmarks call only fox.json.encode, which needs none.
    """
    manifest, source = read_plugin(path)
    config = Config()
    ctx = PluginContext(
        plugin_id=manifest.id,
        version=manifest.version,
        path=str(manifest.path),
        config={},
        grants=manifest.grants,
        gate=PermissionGate(config.policy),
        services=None,  # type: ignore[arg-type]
    )
    return manifest.backend.create(source, ctx, limits_for(manifest, config))


def far_deadline() -> float:
    return time.monotonic() + 3600


def raw_echo(runtime: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`echo` called straight through the runtime's own binding, converting in and out as cheaply as it allows.

    Build it on the thread that will call it (a QuickJS context belongs to one thread).
    """
    if runtime == "lua":
        lua = lupa.LuaRuntime()
        fn, table_from = lua.eval(_LUA_ECHO), lua.table_from
        return lambda record: dict(fn(table_from(record)).items())
    if runtime == "js":
        js = quickjs.Context()
        fn = js.eval(f"(function () {{ {_JS_ECHO} return (s) => JSON.stringify(echo(JSON.parse(s))); }})()")
        return lambda record: json.loads(fn(json.dumps(record)))
    namespace: dict[str, Any] = {}
    exec(_PY_ECHO, namespace)
    return namespace["echo"]
