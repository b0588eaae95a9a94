"""MusicFree plugins in foxplug: load with cheerio, load with axios only, and a search call against the same
plugin under Node.js with the same npm packages and the same stand-in server, in the same run.

The search uses the real Navidrome plugin (axios + crypto-js + env) from tests/fixtures against a stand-in
Subsonic server on 127.0.0.1 that both sides reach; rounds alternate between Node and foxplug, and each
figure is the median of the rounds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.common import Figure, quiet_gc
from engine import Engine

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "ecosystems"
NODE_HARNESS = Path(__file__).with_name("musicfree_node.js")
PASSWORD = "bench-pass"

PLAIN = """/*---
id: plain
version: 1.0.0
provides: [search]
---*/
module.exports = { search(query) { return [{ id: "1", title: query }]; } };
"""
AXIOS_ONLY = """
const axios = require("axios");
module.exports = {
  platform: "Axios Only", version: "1.0.0",
  async search(query, page, type) {
    const data = (await axios.get("http://127.0.0.1:1/search", { params: { q: query, page } })).data;
    return { isEnd: true, data };
  },
};
"""
SONG = {"id": "tr-1", "title": "Gentle Rain", "album": "Weather", "artist": "Soundscapes", "duration": 245}


async def _subsonic(request: web.Request) -> web.Response:
    q = request.query
    assert hashlib.md5(f"{PASSWORD}{q['s']}".encode()).hexdigest() == q["t"]
    songs = [{**SONG, "id": f"tr-{i}", "coverArt": f"al-{i}"} for i in range(10)]
    return web.json_response({"subsonic-response": {"status": "ok", "searchResult2": {"song": songs}}})


def _config(root: Path, plugin_configs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "plugins": {
            "auto_load": False,
            "storage": str(root / "bench.sqlite3"),
            "plugin_configs": plugin_configs or {},
        }
    }


async def _load_ms(engine: Engine, path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        with quiet_gc():
            start = time.perf_counter_ns()
            info = await engine.load(path)
            times.append((time.perf_counter_ns() - start) / 1e6)
        await engine.unload(info.id)
    return statistics.median(times)


async def _loads(root: Path, rounds: int) -> dict[str, float]:
    plugins = root / "load"
    plugins.mkdir()
    paths = {
        "plain": plugins / "plain.js",
        "axios": plugins / "axios_only.js",
        "cheerio": plugins / "geciwang.js",
    }
    paths["plain"].write_text(PLAIN, encoding="utf-8")
    paths["axios"].write_text(AXIOS_ONLY, encoding="utf-8")
    shutil.copy(FIXTURES / "musicfree-geciwang.js", paths["cheerio"])  # real: axios + cheerio
    async with Engine(_config(root)) as engine:
        for _ in range(3):  # first-use costs (bundle files read, allocator and code paths warmed) for every side
            for path in paths.values():
                await engine.unload((await engine.load(path)).id)
        measured: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(rounds):  # interleaved, so drift hits all alike
            for name, path in paths.items():
                measured[name].append(await _load_ms(engine, path, 1))
    return {name: statistics.median(values) for name, values in measured.items()}


async def _searches(root: Path, rounds: int, calls: int) -> tuple[float, float]:
    app = web.Application()
    app.router.add_get("/rest/search2", _subsonic)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server = f"http://127.0.0.1:{runner.addresses[0][1]}"
    variables = {"url": server, "username": "bench", "password": PASSWORD}
    plugin = root / "navidrome.js"
    shutil.copy(FIXTURES / "musicfree-navidrome.js", plugin)
    node = await asyncio.create_subprocess_exec(
        "node", str(NODE_HARNESS), str(plugin), json.dumps(variables), "rain",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert node.stdin is not None and node.stdout is not None
    settings = {"navidrome": {"config": variables, "permissions": {"network": ["127.0.0.1"]}}}
    ours, theirs = [], []
    try:
        async with Engine(_config(root, settings)) as engine:
            await engine.load(plugin)

            async def node_round(count: int) -> float:
                node.stdin.write(f"{count}\n".encode())
                await node.stdin.drain()
                return float((await node.stdout.readline()).decode()) / 1000

            async def our_round(count: int) -> float:
                start = time.perf_counter_ns()
                for _ in range(count):
                    await engine.call("navidrome", "search", "rain", 1, "music")
                return (time.perf_counter_ns() - start) / count / 1000

            await node_round(calls)  # warm both: JIT, connection pools
            await our_round(calls)
            for _ in range(rounds):
                theirs.append(await node_round(calls))
                ours.append(await our_round(calls))
    finally:
        node.stdin.close()
        await node.wait()
        await runner.cleanup()
    return statistics.median(ours), statistics.median(theirs)


async def _measure(root: Path, quick: bool) -> list[Figure]:
    loads = await _loads(root, 3 if quick else 15)
    ours, node = await _searches(root, 2 if quick else 9, 5 if quick else 50)
    plain = "Engine.load of a plain foxplug JS plugin (no libraries)"
    return [
        Figure(
            key="musicfree.load.cheerio",
            title="load a real MusicFree plugin using axios + cheerio",
            unit="ms",
            ours=loads["cheerio"],
            baseline=loads["plain"],
            baseline_label=plain,
            judge="ours",
            limit=150,
        ),
        Figure(
            key="musicfree.load.axios",
            title="load a MusicFree plugin using only axios",
            unit="ms",
            ours=loads["axios"],
            baseline=loads["plain"],
            baseline_label=plain,
            judge="ours",
            limit=20,
        ),
        Figure(
            key="musicfree.search",
            title="search() of the real Navidrome plugin (axios + crypto-js), stand-in server",
            unit="µs",
            ours=ours,
            baseline=node,
            baseline_label="the same plugin under Node.js with the same npm packages, same server",
            judge="ratio",
            limit=1.5,
        ),
    ]


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        return asyncio.run(_measure(Path(tmp), quick))


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run(quick=False)))
