"""A storage file that is damaged, unopenable or on a full disk is the host's problem: a StorageError naming the
file and `plugins.storage`, plugins that do not use storage keep running, and no plugin's breaker pays for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, StorageError

Write = Callable[[str, str], Path]

KEEPER = """
--[[---
id: keeper
version: 1.0.0
permissions:
  storage: true
---]]
local M = {}
function M.put(n) fox.storage.set("k" .. n, string.rep("x", 4000)) return n end
function M.get() return fox.storage.get("k1") end
return M
"""

PLAIN = """
--[[---
id: plain
version: 1.0.0
---]]
return {ping = function() return "pong" end}
"""


def damaged(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database, it was cut short by a crash" * 100)


def unopenable(path: Path) -> None:
    path.mkdir()  # a directory where the file should be: SQLite cannot open it (root ignores file modes)


@pytest.mark.parametrize("spoil", [damaged, unopenable], ids=["damaged", "unopenable"])
async def test_a_bad_storage_file_is_a_storage_error_and_other_plugins_run(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], write_plugin: Write, spoil: Any
) -> None:
    storage = tmp_path / "storage.sqlite3"
    spoil(storage)
    async with Engine(engine_config(storage=str(storage))) as fox:
        await fox.load(write_plugin("plain.lua", PLAIN))
        await fox.load(write_plugin("keeper.lua", KEEPER))
        assert await fox.call("plain", "ping") == "pong"
        for _ in range(8):  # more than the breaker's five failures
            with pytest.raises(StorageError) as caught:
                await fox.call("keeper", "get")
        assert fox.plugin("keeper").state == "running", "the host's broken file is not the plugin's fault"
    message = str(caught.value)
    assert str(storage) in message and "plugins.storage" in message and "move it aside" in message


FULL_DISK = """
import asyncio, resource, signal, sys
from engine import Engine, StorageError

async def main(plugin, storage):
    async with Engine({"plugins": {"storage": storage}}) as fox:
        await fox.load(plugin)
        await fox.call("keeper", "put", 0)  # the file exists and has its tables
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write() fails with EFBIG: a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
        failures = 0
        for n in range(1, 200):
            try:
                await fox.call("keeper", "put", n)
            except StorageError as error:
                failures += 1
                last = error
        print(failures, fox.plugin("keeper").state, last.hint, sep="|")

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_a_full_disk_is_reported_as_the_hosts_fault(tmp_path: Path, write_plugin: Write) -> None:
    plugin = write_plugin("keeper.lua", KEEPER)
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FULL_DISK), str(plugin), str(tmp_path / "storage.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    failures, state, hint = run.stdout.strip().split("|")
    assert int(failures) > 10
    assert state == "running"
    assert "free space" in hint
