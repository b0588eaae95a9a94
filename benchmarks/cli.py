"""CLI start-up, wall time of whole commands in fresh processes: `foxplug --help` and `foxplug call FILE fn` of
a one-file Lua plugin, each against `python -c pass` (the interpreter's own start) taken in the same rounds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure

_PLUGIN = """--[[---
id: cli-bench
version: 1.0.0
---]]
return { noop = function() return true end }
"""


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def run(quick: bool) -> list[Figure]:
    rounds = 2 if quick else 7
    foxplug = [sys.executable, "-m", "engine"]
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-cli-") as tmp:
        plugin = Path(tmp) / "cli_bench.lua"
        plugin.write_text(_PLUGIN, encoding="utf-8")
        commands = {
            "help": [*foxplug, "--help"],
            "call": [*foxplug, "call", str(plugin), "noop"],
            "python": [sys.executable, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):  # interleaved, so drift in the machine's load hits all alike
            for name, command in commands.items():
                times[name].append(_wall(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    label = "`python -c pass`: the interpreter's own start, same rounds"
    return [
        Figure("cli.help", "foxplug --help, wall", "s", median["help"], median["python"], label, "ours", 0.25),
        Figure(
            "cli.call", "foxplug call FILE fn (Lua), wall", "s", median["call"], median["python"], label, "ours", 0.5
        ),
    ]
