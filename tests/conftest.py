"""Shared fixtures: an engine config with its own storage file, and a way to write plugin files."""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from loop_watchdog import WORST, LoopWatchdog

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`engine_config(directories=[...], plugin_configs={...}, **plugins_section)` -> a config mapping."""

    def build(directories: list[Path] | None = None, **plugins: Any) -> dict[str, Any]:
        section = {
            "directories": [str(d) for d in directories or []],
            "storage": str(tmp_path / "storage.sqlite3"),
            "monitoring": {"listen": "127.0.0.1:0"},  # `foxplug run` in tests: never the fixed default port
        }
        section.update(plugins)
        return {"plugins": section}

    return build


@pytest.fixture
def write_plugin(tmp_path: Path) -> Callable[[str, str], Path]:
    """`write_plugin("hello.lua", source)` -> path of a real plugin file (dedented) under tmp_path/plugins."""

    def write(name: str, source: str) -> Path:
        path = tmp_path / "plugins" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
async def loop_watchdog(request: pytest.FixtureRequest) -> AsyncIterator[LoopWatchdog]:
    """Fails the test if the event loop was busy for more than 100 ms at a stretch (tests/loop_watchdog.py);
    a synchronous test runs no loop, so it has nothing to watch."""
    watchdog = LoopWatchdog()
    if not inspect.iscoroutinefunction(request.function):
        yield watchdog
        return
    watchdog.start(asyncio.get_running_loop())
    yield watchdog
    watchdog.stop()
    WORST["busy"] = max(WORST["busy"], watchdog.worst_busy)
    WORST["gap"] = max(WORST["gap"], watchdog.worst_gap)
    if (verdict := watchdog.verdict()) is not None:
        pytest.fail(f"{request.node.nodeid}: {verdict}", pytrace=False)
