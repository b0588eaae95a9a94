"""Figure: save → new version serving (hot reload), for a Lua and a JS plugin.

Measured from the write of the file to the first call that returns the new result, debounce included (the
configured default). Baseline, same run: a bare watchdog observer's event delivery for the same kind of write,
plus the debounce — what any watcher-based reload must pay before it can start loading.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from benchmarks.common import Figure
from engine import Engine
from engine.config import Config

SOURCES = {
    "lua": (
        "hot.lua",
        'local M = {{}}\nfunction M.search(q) return {{ {{ id = "1", title = "{}" }} }} end\nreturn M\n',
    ),
    "js": ("hot.js", 'module.exports = {{ search(q) {{ return [{{ id: "1", title: "{}" }}]; }} }};\n'),
}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _save_to_serving(lang: str, saves: int, folder: Path) -> list[float]:
    name, template = SOURCES[lang]
    plugins = folder / lang
    plugins.mkdir()
    (plugins / name).write_text(template.format("v0"))
    config = {"plugins": {"directories": [str(plugins)], "storage": str(folder / f"{lang}.sqlite3")}}
    samples = []
    async with Engine(config) as fox:
        for round_ in range(1, saves + 1):
            await asyncio.sleep(0.12)  # let the previous swap settle, as between an author's saves
            title = f"v{round_}"
            started = time.perf_counter()
            (plugins / name).write_text(template.format(title))
            while (await fox.call("hot", "search", "q"))[0]["title"] != title:
                await asyncio.sleep(0.002)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


class _FirstEvent(FileSystemEventHandler):
    def __init__(self) -> None:
        self.seen = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.seen.set()


def _bare_watcher_ms(saves: int, folder: Path, debounce_ms: float) -> float:
    folder.mkdir()
    target = folder / "plain.lua"
    target.write_text("x")
    handler, observer = _FirstEvent(), Observer()
    observer.schedule(handler, str(folder))
    observer.start()
    samples = []
    try:
        for round_ in range(saves):
            time.sleep(0.02)
            handler.seen.clear()
            started = time.perf_counter()
            target.write_text(str(round_))
            handler.seen.wait(5)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        observer.stop()
        observer.join()
    return statistics.median(samples) + debounce_ms


def run(quick: bool) -> list[Figure]:
    saves = 5 if quick else 50
    debounce_ms = Config().debounce * 1000
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _bare_watcher_ms(saves, Path(tmp) / "bare", debounce_ms)
        label = f"bare watchdog event + the {debounce_ms:g} ms debounce"
        for lang in SOURCES:
            samples = asyncio.run(_save_to_serving(lang, saves, Path(tmp)))
            for share, limit in ((0.5, 100), (0.95, 250)):
                tag = f"p{int(share * 100)}"
                figures.append(
                    Figure(
                        f"reload.{lang}.{tag}",
                        f"save → new version serving, {lang.upper() if lang == 'js' else 'Lua'} ({tag}, {saves} saves)",
                        "ms",
                        _percentile(samples, share),
                        baseline,
                        label,
                        "ours",
                        limit,
                    )
                )
    return figures
