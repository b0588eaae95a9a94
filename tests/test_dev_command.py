"""`foxplug dev PATH --call ...`: the plugin author's loop, driven as a user would, through a real subprocess."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SOURCE = """--[[---
id: hello
version: 1.0.0
provides: [search]
---]]
local M = {{}}
function M.search(q) return {{ {{ id = "1", title = "{title} " .. q }} }} end
return M
"""


class DevProcess:
    """`foxplug dev` in a subprocess, its output lines read on a thread so tests can wait for one."""

    def __init__(self, plugin: Path, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "--config", str(config), "dev", str(plugin), "--call", "search", '"x"'],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 10.0) -> list[str]:
        """Lines up to and including the first that contains `text`."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError(f"never printed {text!r}; got: {seen}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(10)


@pytest.fixture
def dev(tmp_path: Path):
    plugin = tmp_path / "hello.lua"
    plugin.write_text(SOURCE.format(title="one"))
    config = tmp_path / "plugins.yaml"
    config.write_text(f"plugins:\n  storage: {tmp_path / 's.sqlite3'}\n  hot_reload: {{debounce: 20ms}}\n")
    process = DevProcess(plugin, config)
    yield process, plugin
    if process.process.poll() is None:
        process.process.kill()


def test_edits_show_the_new_result_with_the_reload_time(dev):
    process, plugin = dev
    assert 'search("x") ->' in process.expect("one x")[-1]
    plugin.write_text(SOURCE.format(title="two"))  # in place
    reload_line = process.expect("reload ok")[-1]
    assert "ms after the save" in reload_line
    process.expect("two x")
    temp = plugin.with_name(".hello.lua.swp")  # atomic save: write a temp file, rename over the plugin
    temp.write_text(SOURCE.format(title="three"))
    os.replace(temp, plugin)
    process.expect("three x")
    assert process.stop() == 0


def test_a_syntax_error_shows_its_line_and_the_old_version_keeps_serving(dev):
    process, plugin = dev
    process.expect("one x")
    plugin.write_text(SOURCE.format(title="two").replace("return M", "return M end"))
    failure = process.expect("reload FAILED")[-1]
    assert "hello.lua:8" in failure and "previous version keeps serving" in failure
    plugin.write_text(SOURCE.format(title="fixed"))
    process.expect("fixed x")
    assert process.stop() == 0
