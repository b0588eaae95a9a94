"""Figures: the worst event-loop stall while hostile input is handled, and while large legal answers are, against
the same engine answering benign calls. Hostile input: a config_schema of nested allOf/$ref, a YAML alias bomb, an
LRC that repeats its words per timestamp (refused), answers with numbers past 2**53 and nesting past 64. Large legal
answers: 20,000 songs (~2 MB) from a search, and a 64,000-word LRC (both read off the loop, but their plugin's
thread still competes for the GIL, and their garbage for the collector). The loop is watched by a 5 ms heartbeat;
a stall is how late a beat came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.common import Figure
from engine import Engine, FoxplugError

_BEAT = 0.005


def _lua(plugin_id: str, body: str, manifest: str = "") -> str:
    return f"--[[---\nid: {plugin_id}\nversion: 1.0.0\n{manifest}---]]\nlocal M = {{}}\n{body}\nreturn M\n"


def _nested_schema(levels: int) -> str:
    defs = {"l0": {"type": "string"}}
    for i in range(1, levels + 1):
        defs[f"l{i}"] = {"allOf": [{"$ref": f"#/$defs/l{i - 1}"}, {"$ref": f"#/$defs/l{i - 1}"}]}
    return json.dumps({"$defs": defs, "properties": {"name": {"$ref": f"#/$defs/l{levels}"}}})


def _alias_bomb() -> str:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(levels) + "\n"


def _plugins(directory: Path) -> dict[str, Path]:
    bomb = "[00:01.00]" * 300 + "<00:01.00>a" * 2000
    legal = "\n".join("[00:01.00][00:02.00]" + "<00:01.00>w " * 400 for _ in range(80))  # 64,000 words
    files = {
        "schema": _lua("schema", "", f"config_schema: {_nested_schema(24)}\n"),
        "aliases": _lua("aliases", "", _alias_bomb()),
        "bomb": _lua("bomb", f'function M.get_lyrics(song) return "{bomb}" end'),
        "legal": _lua("legal", "function M.get_lyrics(song) return LRC end").replace(
            "local M = {}", f"local M = {{}}\nLRC = [[{legal}]]"
        ),
        "big": _lua(
            "big",
            'function M.search(q) local t = {} for i = 1, 20000 do t[i] = {id = tostring(i), title = "song " .. i,'
            ' artists = {"someone"}, album = "an album", duration_ms = 1000 * i} end return t end',
        ),
        "numbers": _lua(
            "numbers",
            'function M.search(q) local t = {} for i = 1, 60 do t = {t} end return {{id = "1", title = "x", '
            "duration_s = 1e308, extra = {deep = t}}} end",
        ),
        "bystander": _lua("bystander", 'function M.ping() return "pong" end'),
    }
    paths = {}
    for name, source in files.items():
        paths[name] = directory / f"{name}.lua"
        paths[name].write_text(source, encoding="utf-8")
    return paths


async def _worst_stall(work: Callable[[], Awaitable[None]]) -> float:
    """The latest a heartbeat came while `work` ran, in ms."""
    worst = 0.0
    done = False

    async def beat() -> None:
        nonlocal worst
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(_BEAT)
            worst = max(worst, time.perf_counter() - started - _BEAT)

    heart = asyncio.ensure_future(beat())
    await asyncio.sleep(_BEAT * 2)
    try:
        await work()
    finally:
        done = True
        await heart
    return worst * 1000


async def _run(root: Path, rounds: int) -> dict[str, list[float]]:
    directory = root / "plugins"
    directory.mkdir()
    paths = _plugins(directory)
    config = {
        "plugins": {
            "storage": str(root / "storage.sqlite3"),
            "hot_reload": {"enabled": False},
            "plugin_configs": {"bomb": {"priority": 10}, "schema": {"config": {"name": "x"}}},
        }
    }
    async with Engine(config) as fox:
        for name in ("bomb", "numbers", "bystander"):
            await fox.load(paths[name])

        async def hostile() -> None:
            for name in ("schema", "aliases"):
                with contextlib.suppress(FoxplugError):
                    await fox.load(paths[name])
            assert await fox.lyrics({"id": "1", "title": "x"}) is None  # the bomb is refused
            assert set((await fox.search("x")).errors) == {"numbers"}
            assert await fox.call("bystander", "ping") == "pong"

        async def large() -> None:
            for name in ("legal", "big"):
                await fox.load(paths[name])
            assert (await fox.lyrics({"id": "1", "title": "x"})) is not None
            assert len((await fox.search("x", limit=20000)).items) == 20000
            for name in ("legal", "big"):
                await fox.unload(name)

        async def benign() -> None:
            for _ in range(20):
                assert await fox.call("bystander", "ping") == "pong"

        times: dict[str, list[float]] = {"hostile": [], "large": [], "benign": []}
        for _ in range(rounds):
            for name, work in (("hostile", hostile), ("large", large), ("benign", benign)):
                times[name].append(await _worst_stall(work))
    return times


def run(quick: bool) -> list[Figure]:
    rounds = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        times = asyncio.run(_run(Path(tmp), rounds))
    return [
        Figure(
            key="hostile.stall",
            title="worst event-loop stall while hostile input is handled (median of rounds)",
            unit="ms",
            ours=statistics.median(times["hostile"]),
            baseline=statistics.median(times["benign"]),
            baseline_label="worst stall while the same engine answers 20 benign calls",
            judge="ours",
            limit=100,
        ),
        Figure(
            key="hostile.stall_max",
            title="worst event-loop stall while hostile input is handled (worst round)",
            unit="ms",
            ours=max(times["hostile"]),
            baseline=max(times["benign"]),
            baseline_label="worst stall of any round of 20 benign calls",
            judge="ours",
            limit=100,
        ),
        Figure(
            key="hostile.large_stall",
            title="worst event-loop stall while large legal answers are read (median of rounds)",
            unit="ms",
            ours=statistics.median(times["large"]),
            baseline=statistics.median(times["benign"]),
            baseline_label="worst stall while the same engine answers 20 benign calls",
            judge="ours",
            limit=100,
        ),
    ]
