"""Figures for dependencies and the registry: resolving a big index, refusing an impossible one, checking an
index's signature, installing a cached plugin, and `fox.plugins.call` against a host call.

Baselines, same run: a single pass checking every release of the index against one range (what any resolver
must at least do); the resolve of the satisfiable index; sha256 of the same index bytes; copying the plugin
file into a plugin folder by hand; `Engine.call` of the same JS function from the host; the same mutual
calls made one after another.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Figure
from engine import Engine
from engine.cli.registry import pipeline_check
from engine.config import Config
from engine.errors import DependencyError
from engine.loading.semver import parse_range
from engine.registry.index import Release
from engine.registry.install import Installer
from engine.registry.publish import build_index
from engine.registry.resolve import Requirement, resolve
from engine.registry.settings import IndexSource, RegistrySettings
from engine.registry.signing import SecretKey, verify


def _median_s(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _index(plugins: int, seed: int = 7) -> dict[str, list[Release]]:
    """A synthetic index: every plugin in 6 versions, each depending on up to 3 earlier plugins by caret range."""
    rng = random.Random(seed)
    found: dict[str, list[Release]] = {}
    for n in range(plugins):
        versions = []
        for minor in range(6):
            deps = {f"p{d}": f"^1.{rng.randrange(3)}" for d in rng.sample(range(n), min(n, rng.randrange(4)))}
            versions.append(Release(f"p{n}", f"1.{minor}.0", "https://x/a.zip", "0" * 64, 1, "bench", ">=0.1", deps))
        found[f"p{n}"] = versions[::-1]
    return found


def _resolution(quick: bool) -> list[Figure]:
    releases = _index(200)
    asked = [Requirement(f"p{n}", parse_range("*")) for n in range(150, 200)]
    rounds = 3 if quick else 7
    ours = _median_s(lambda: resolve(asked, releases, "0.1.0"), rounds)
    one_range = parse_range("^1.2")
    scan = _median_s(lambda: [one_range.allows(r.semver) for rs in releases.values() for r in rs], rounds)
    impossible = dict(releases)
    impossible["p199"] = [  # every version needs a p1 no index has: found only when p199's turn comes
        Release("p199", f"1.{minor}.0", "https://x/a.zip", "0" * 64, 1, "bench", ">=0.1", {"p0": "^1", "p1": "^9"})
        for minor in range(5, -1, -1)
    ]

    def refuse() -> None:
        try:
            resolve([*asked, Requirement("p199", parse_range("*"))], impossible, "0.1.0")
        except DependencyError:
            return
        raise AssertionError("an impossible index resolved")

    conflict = _median_s(refuse, rounds)
    return [
        Figure(
            "registry.resolve_200",
            "resolve a 200-plugin index (50 asked, 6 versions each)",
            "ms",
            ours * 1000,
            scan * 1000,
            "one pass checking every release of the index against one range",
            "ours",
            500,
        ),
        Figure(
            "registry.conflict",
            "an impossible request refused with DependencyError",
            "ms",
            conflict * 1000,
            ours * 1000,
            "the satisfiable resolve of the same index",
            "ours",
            2000,
        ),
    ]


def _signature(quick: bool) -> Figure:
    key = SecretKey.generate()
    body = json.dumps({"plugins": {f"p{n}": {"versions": [{"version": "1.0.0"}] * 6} for n in range(200)}}).encode()
    signature, public = key.sign(body, "serial:1"), key.public
    rounds = 20 if quick else 200
    ours = _median_s(lambda: verify(body, signature, public, what="bench"), rounds)
    base = _median_s(lambda: hashlib.sha256(body).digest(), rounds)
    return Figure(
        "registry.verify",
        f"minisign signature check of a {len(body) // 1024} KiB index",
        "ms",
        ours * 1000,
        base * 1000,
        "sha256 of the same index bytes",
        "ours",
        5,
    )


PLUGIN = '--[[---\nid: solo\nversion: 1.0.0\n---]]\nreturn { hi = function() return "hi" end }\n'


async def _cached_install(folder: Path, rounds: int) -> Figure:
    source, site = folder / "src", folder / "site"
    source.mkdir()
    (source / "solo.lua").write_text(PLUGIN)
    build_index(source, site, name="bench", expires_days=1)
    config = Config.from_mapping({"plugins": {"storage": str(folder / "s.sqlite3"), "monitoring": {"enabled": False}}})
    settings = RegistrySettings(
        indexes=(IndexSource("bench", (site / "index.json").as_uri()),),
        install_dir=folder / "installed",
        cache_dir=folder / "cache",
        lockfile=folder / "plugins.lock.json",
    )
    ours, base = [], []
    async with Installer(settings, pipeline_check(config)) as installer:
        await installer.install(["solo"])  # fills the cache
        for _ in range(rounds):
            await installer.uninstall("solo")
            started = time.perf_counter()
            await installer.install(["solo"])
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            shutil.copy(source / "solo.lua", folder / "by-hand.lua")
            base.append(time.perf_counter() - started)
    return Figure(
        "registry.cached_install",
        "install a cached plugin (index, resolve, verify, unpack, load check, swap, lockfile)",
        "ms",
        statistics.median(ours) * 1000,
        statistics.median(base) * 1000,
        "copying the plugin file into a folder by hand",
        "ours",
        100,
    )


CALLER = """--[[---
id: caller
version: 1.0.0
dependencies: {callee: "*"}
permissions: {plugins.call: true}
---]]
return { go = function(n, v) local r; for _ = 1, n do r = fox.plugins.call("callee", "echo", v) end; return r end }
"""
CALLEE = "/*---\nid: callee\nversion: 1.0.0\n---*/\nexport function echo(v) { return v; }\n"
PING = """--[[---
id: {me}
version: 1.0.0
permissions: {{plugins.call: true}}
---]]
return {{ ping = function(n) if n == 0 then return "{me}" end; return fox.plugins.call("{other}", "ping", n - 1) end }}
"""


async def _medians(rounds: int, *fns: Callable[[], Awaitable[Any]]) -> list[float]:
    """Median seconds of each, from rounds taken in turn, so drift on a shared machine hits all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times, strict=True):
            started = time.perf_counter()
            await fn()
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


async def _plugins_call(folder: Path, quick: bool) -> list[Figure]:
    (folder / "callee.js").write_text(CALLEE)
    (folder / "caller.lua").write_text(CALLER)
    (folder / "a.lua").write_text(PING.format(me="ping-a", other="ping-b"))
    (folder / "b.lua").write_text(PING.format(me="ping-b", other="ping-a"))
    n, rounds = (20, 5) if quick else (200, 31)
    value = {"title": "Hey Jude", "track": 21}
    config = {"plugins": {"storage": str(folder / "p.sqlite3"), "monitoring": {"enabled": False}}}
    async with Engine(config) as fox:
        for name in ("callee.js", "caller.lua", "a.lua", "b.lua"):
            await fox.load(folder / name)
        # A dependency cycle is refused at load; the mutual edges are granted here to time the actors' answer.
        fox._plugins["ping-a"].ctx.dependencies = frozenset({"ping-b"})
        fox._plugins["ping-b"].ctx.dependencies = frozenset({"ping-a"})

        async def host_side() -> None:
            for _ in range(n):
                await fox.call("callee", "echo", value)

        plugin_side, host = await _medians(rounds, lambda: fox.call("caller", "go", n, value), host_side)
        chains = ["ping-a", "ping-b"] * 4

        async def together() -> None:
            await asyncio.gather(*(fox.call(p, "ping", 6) for p in chains))

        async def in_turn() -> None:
            for p in chains:
                await fox.call(p, "ping", 6)

        mutual, sequential = await _medians(rounds, together, in_turn)
    return [
        Figure(
            "registry.plugins_call",
            "fox.plugins.call Lua → JS echo(2-field table), per call",
            "µs",
            plugin_side / n * 1e6,
            host / n * 1e6,
            "Engine.call of the same JS function from the host, awaited in turn",
            "ratio",
            1.5,
        ),
        Figure(
            "registry.mutual_calls",
            "2 plugins calling each other, 8 chains of depth 6 at once",
            "ms",
            mutual * 1000,
            sequential * 1000,
            "the same 8 chains one after another",
            "ratio",
            1.5,
        ),
    ]


async def _async_figures(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        install_dir, calls_dir = Path(tmp) / "install", Path(tmp) / "calls"
        install_dir.mkdir()
        calls_dir.mkdir()
        return [await _cached_install(install_dir, 3 if quick else 15), *await _plugins_call(calls_dir, quick)]


def run(quick: bool) -> list[Figure]:
    return [*_resolution(quick), _signature(quick), *asyncio.run(_async_figures(quick))]
