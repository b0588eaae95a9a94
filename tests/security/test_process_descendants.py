"""Nothing a process plugin starts outlives it: not a child, not a grandchild that left the process group with
`setsid()`, whether the plugin is stopped, the engine closes, or the engine itself is SIGKILLed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import Engine

SPAWNER = """
import os, subprocess, sys, time
from script_api.sdk import serve

def spawn():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    # a daemon: fork, setsid (a new session and group), fork again, and the middle process exits
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            time.sleep(120)
            os._exit(0)
        os.write(write, str(pid).encode())
        os._exit(0)
    os.close(write)
    daemon = int(os.read(read, 32))
    return {"plugin": os.getpid(), "child": child.pid, "daemon": daemon}

serve({"spawn": spawn})
"""


def spawner(root: Path) -> Path:
    folder = root / "plugins" / "spawner"
    folder.mkdir(parents=True)
    manifest = {"id": "spawner", "version": "1.0.0", "runtime": "process", "command": ["python", "main.py"]}
    (folder / "plugin.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    (folder / "main.py").write_text(textwrap.dedent(SPAWNER), encoding="utf-8")
    return folder


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def survivors(pids: dict[str, int], timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while any(running(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [name for name, pid in pids.items() if running(pid)]


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]]) -> Any:
    async with Engine(engine_config(hot_reload={"enabled": False})) as engine:
        yield engine


async def test_stopping_the_plugin_ends_its_whole_tree(fox: Engine, tmp_path: Path) -> None:
    await fox.load(spawner(tmp_path))
    pids = await fox.call("spawner", "spawn")
    assert all(map(running, pids.values()))
    await fox.stop_plugin("spawner")
    assert await asyncio.to_thread(survivors, pids) == []


async def test_closing_the_engine_ends_every_plugins_tree(
    engine_config: Callable[..., dict[str, Any]], tmp_path
) -> None:
    async with Engine(engine_config(hot_reload={"enabled": False})) as engine:
        await engine.load(spawner(tmp_path))
        pids = await engine.call("spawner", "spawn")
    assert await asyncio.to_thread(survivors, pids) == []


HOST = """
import asyncio, json, sys
from engine import Engine

async def main(folder, storage):
    async with Engine({"plugins": {"storage": storage, "hot_reload": {"enabled": False}}}) as fox:
        await fox.load(folder)
        print(json.dumps(await fox.call("spawner", "spawn")), flush=True)
        await asyncio.sleep(120)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_a_sigkilled_engine_leaves_no_plugin_process_behind(tmp_path: Path) -> None:
    host = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOST), str(spawner(tmp_path)), str(tmp_path / "storage.sqlite3")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert host.stdout is not None
        pids = json.loads(host.stdout.readline())
        assert all(map(running, pids.values()))
        os.kill(host.pid, signal.SIGKILL)  # no atexit, no close(): only what the kernel does for us
        host.wait(10)
        assert survivors(pids) == []
    finally:
        if host.poll() is None:
            host.kill()
