"""`foxplug dev PATH --call ...`: the plugin author's loop, driven as a user would, through a real subprocess."""

from __future__ import annotations

import json
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

    def __init__(self, plugin: Path, config: Path, *extra: str) -> None:
        command = [sys.executable, "-m", "engine", "--config", str(config), "dev", str(plugin), *extra]
        self.process = subprocess.Popen(
            [*command, "--call", "search", '"x"'],
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


def test_a_save_that_brings_back_the_running_version_says_so(dev):
    process, plugin = dev
    process.expect("one x")
    plugin.write_text(SOURCE.format(title="one").replace("return M", "return M end"))
    process.expect("reload FAILED")
    plugin.write_text(SOURCE.format(title="one"))  # the version that kept serving
    line = process.expect("unchanged")[-1]
    assert line == "unchanged: the save brings back hello 1.0.0, which is already running"
    assert process.stop() == 0


NOISY = """--[[---
id: noisy
version: 1.0.0
provides: [search]
permissions:
  ui.notify: true
---]]
local M = {}
function M.search(q)
  print("searching for " .. q .. " in " .. fox.plugin.info().config.region)
  fox.ui.notify("found 1 of 2")
  return { { id = "1", title = q }, { id = "2" } }
end
return M
"""


def test_dev_shows_plugin_output_takes_its_config_and_names_a_bad_field(tmp_path: Path):
    plugin = tmp_path / "noisy.lua"
    plugin.write_text(NOISY)
    config = tmp_path / "plugins.yaml"
    config.write_text(f"plugins:\n  storage: {tmp_path / 's.sqlite3'}\n")
    process = DevProcess(plugin, config, "--plugin-config", "region=eu", "--grant", "ui.notify")
    try:
        seen = process.expect("PluginError")
    finally:
        stopped = process.stop()
    assert "[noisy] searching for x in eu" in seen
    assert "[noisy] notify (info): found 1 of 2" in seen
    result = next(line for line in seen if line.startswith('  search("x") -> '))
    assert json.loads(result.removeprefix('  search("x") -> ')) == [{"id": "1", "title": "x"}]
    assert seen[-1] == "  PluginError: search()[1].title: expected a string, got None"
    assert stopped == 0
