"""Figure 3: loading plugins — one at a time through `Engine.load`, and 200 at start-up with their RSS.

Start-up is `Engine.load_directories` over the plugin folders once the engine's services (SQLite, HTTP
client) are up, so the RSS growth is the plugins' own. Both run in fresh subprocesses
(`python -m benchmarks.load --child ...`) that start from the same memory; the baseline child creates the
same number of raw runtimes and evaluates the same files, without the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lupa.lua54 as lupa
import quickjs

from benchmarks.common import Figure, quiet_gc, rss_bytes
from benchmarks.workload import EXTENSION, RUNTIMES, TITLE
from engine import Engine

MB = 1 << 20

# A plugin shaped like a real one: manifest with capabilities and a permission, a few functions, init().
_LOAD_SOURCE = {
    "lua": """--[[---
id: {id}
version: 1.2.0
name: Bench source {id}
description: A search and lyrics provider shaped like a real one.
provides: [search, lyrics]
permissions:
  storage: true
---]]
local M = {{}}
local prefix = "song"

function M.init(config)
  prefix = (config and config.prefix) or prefix
end

function M.search(query, opts)
  local limit = (opts and opts.limit) or 10
  local songs = {{}}
  for i = 1, limit do
    songs[i] = {{ id = prefix .. i, title = query .. " " .. i, artists = {{ {{ id = "a", name = "Artist" }} }} }}
  end
  return songs
end

function M.get_lyrics(song)
  return {{ lrc = "[00:01.00]" .. song.title }}
end

return M
""",
    "js": """/*---
id: {id}
version: 1.2.0
name: Bench source {id}
description: A search and lyrics provider shaped like a real one.
provides: [search, lyrics]
permissions:
  storage: true
---*/
let prefix = "song";

module.exports = {{
  init(config) {{
    prefix = (config && config.prefix) || prefix;
  }},
  search(query, opts) {{
    const limit = (opts && opts.limit) || 10;
    const songs = [];
    for (let i = 1; i <= limit; i++) {{
      songs.push({{ id: prefix + i, title: query + " " + i, artists: [{{ id: "a", name: "Artist" }}] }});
    }}
    return songs;
  }},
  get_lyrics(song) {{
    return {{ lrc: "[00:01.00]" + song.title }};
  }},
}};
""",
    "python": '''"""---
id: {id}
version: 1.2.0
name: Bench source {id}
description: A search and lyrics provider shaped like a real one.
provides: [search, lyrics]
permissions:
  storage: true
---"""
prefix = "song"


def init(config):
    return None


def search(query, opts=None):
    limit = (opts or {{}}).get("limit", 10)
    songs = []
    for i in range(1, limit + 1):
        songs.append({{"id": prefix + str(i), "title": query + " " + str(i), "artists": [{{"id": "a", "name": "Artist"}}]}})
    return songs


def get_lyrics(song):
    return {{"lrc": "[00:01.00]" + song["title"]}}
''',
}


def write_load_plugins(directory: Path, runtime: str, count: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"load-{runtime}-{i}{EXTENSION[runtime]}"
        path.write_text(_LOAD_SOURCE[runtime].format(id=f"load-{runtime}-{i}"), encoding="utf-8")
        paths.append(path)
    return paths


def _plugin_dir(directory: Path, runtime: str, count: int) -> Path:
    write_load_plugins(directory, runtime, count)
    return directory


def raw_load(path: Path) -> Any:
    """What loading costs the runtime alone: read the file, create a runtime, evaluate the source."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".lua":
        lua = lupa.LuaRuntime()
        lua.execute(text)
        return lua
    if path.suffix == ".js":
        js = quickjs.Context()
        js.eval("var module = { exports: {} };")
        js.eval(text)
        return js
    namespace: dict[str, Any] = {}
    exec(compile(text, str(path), "exec"), namespace)
    return namespace


def _config(storage: Path, directories: list[Path] | None = None) -> dict[str, Any]:
    return {
        "plugins": {
            "directories": [str(d) for d in directories or []],
            "auto_load": False,
            "storage": str(storage),
        }
    }


async def _load_one_ms(paths: list[Path], storage: Path) -> list[float]:
    """Each plugin loaded once through Engine.load, timed; unloaded afterwards, untimed."""
    times = []
    async with Engine(_config(storage)) as engine:
        for path in paths:
            with quiet_gc():
                start = time.perf_counter_ns()
                info = await engine.load(path)
                times.append((time.perf_counter_ns() - start) / 1e6)
            await engine.unload(info.id)
    return times


def _raw_load_ms(paths: list[Path]) -> list[float]:
    times = []
    with quiet_gc():
        for path in paths:
            start = time.perf_counter_ns()
            raw_load(path)
            times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def _child(mode: str, directories: list[Path], storage: Path) -> dict[str, Any]:
    """In a fresh process: time and RSS growth of loading every plugin in `directories`."""
    paths = sorted(p for d in directories for p in d.iterdir())
    if mode == "raw":
        before = rss_bytes()
        start = time.perf_counter()
        keep = [raw_load(path) for path in paths]
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "rss_growth": rss_bytes() - before, "loaded": len(keep)}

    async def start_engine() -> dict[str, Any]:
        async with Engine(_config(storage, directories)) as engine:  # services up; plugins not yet loaded
            before = rss_bytes()
            start = time.perf_counter()
            infos = await engine.load_directories(engine.config.directories)
            seconds = time.perf_counter() - start
            growth = rss_bytes() - before
            if engine.load_errors:
                raise SystemExit(f"load errors: {engine.load_errors}")
            return {"seconds": seconds, "rss_growth": growth, "loaded": len(infos)}

    return asyncio.run(start_engine())


def _in_subprocess(mode: str, directories: list[Path], storage: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.load", "--child", mode, "--storage", str(storage)]
    done = subprocess.run([*command, *map(str, directories)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"start-up benchmark child ({mode}) failed:\n{done.stderr}")
    return json.loads(done.stdout)


def run(quick: bool) -> list[Figure]:
    one, many = (5, 20) if quick else (40, 200)
    figures = []
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        root = Path(tmp)
        for runtime in RUNTIMES:
            paths = write_load_plugins(root / "one" / runtime, runtime, one)
            raw_load(paths[0])  # warm the runtime's own first-use costs for both sides
            ours = asyncio.run(_load_one_ms(paths, root / "one.sqlite3"))
            figures.append(
                Figure(
                    key=f"load.{runtime}",
                    title=f"load one plugin via Engine.load, {TITLE[runtime]}",
                    unit="ms",
                    ours=statistics.median(ours),
                    baseline=statistics.median(_raw_load_ms(paths)),
                    baseline_label="read + new runtime + evaluate the source, no manifest/sandbox/actor",
                    judge="ours",
                    limit=5,
                )
            )
        sets = {
            "mixed": [_plugin_dir(root / "mixed" / runtime, runtime, many // 2) for runtime in ("lua", "js")],
            "lua": [_plugin_dir(root / "lua", "lua", many)],
            "js": [_plugin_dir(root / "js", "js", many)],
        }
        results = {
            name: {mode: _in_subprocess(mode, dirs, root / f"{name}.sqlite3") for mode in ("engine", "raw")}
            for name, dirs in sets.items()
        }
    mixed_engine, mixed_raw = results["mixed"]["engine"], results["mixed"]["raw"]
    figures.append(
        Figure(
            key="startup.mixed",
            title=f"start with {many} plugins ({many // 2} Lua + {many // 2} JS)",
            unit="s",
            ours=mixed_engine["seconds"],
            baseline=mixed_raw["seconds"],
            baseline_label=f"{many} raw runtimes created and evaluated in one thread (fresh process)",
            judge="ours",
            limit=1,
        )
    )
    rss_limits = {"mixed": 1, "lua": 1, "js": 2}  # MB per plugin: the issue's 1 MB, ARCHITECTURE §4's per runtime
    for name, result in results.items():
        label = "Lua + JS" if name == "mixed" else TITLE[name]
        figures.append(
            Figure(
                key=f"rss.{name}",
                title=f"RSS growth per plugin, {many} {label}",
                unit="MB",
                ours=result["engine"]["rss_growth"] / result["engine"]["loaded"] / MB,
                baseline=result["raw"]["rss_growth"] / result["raw"]["loaded"] / MB,
                baseline_label=f"VmRSS growth per raw runtime, same {many} files (fresh process)",
                judge="ours",
                limit=rss_limits[name],
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="child process of the start-up benchmark")
    parser.add_argument("--child", choices=("engine", "raw"), required=True)
    parser.add_argument("--storage", type=Path, required=True)
    parser.add_argument("directories", type=Path, nargs="+")
    args = parser.parse_args()
    print(json.dumps(_child(args.child, args.directories, args.storage)))


if __name__ == "__main__":
    main()
