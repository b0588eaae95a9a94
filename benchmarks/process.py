"""Figure 6: out-of-process plugins — the round trip of a small call, and how soon a killed plugin serves again.

Round trip: `Engine.call(id, "echo", "hi")` on a stdio process plugin (Python SDK, and Node.js), calls one at a
time, each timed. Baseline, in the same run: a bare newline-JSON echo child (Python, unbuffered stdin/stdout),
the same JSON-RPC line written and its echo read back from this process — the floor any pipe protocol pays.
Recovery: SIGKILL the plugin's process, then call until a call succeeds; baseline: `python -c pass` run to
completion (spawning an interpreter at all).
Hangs: how long past its deadline a call into a plugin that never answers ends with PluginTimeout — a Python
process asleep, a Node.js process in a busy loop, and a Lua catastrophic pattern under `isolation: process`
(one native call no hook interrupts); the deadline is the baseline, the overhead is judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.common import Figure, quiet_gc
from engine import Engine, PluginCrashed, PluginTimeout

_PYTHON_PLUGIN = """
import os, time
from script_api.sdk import serve

serve({"echo": lambda value: value, "pid": os.getpid, "hang": lambda: time.sleep(60)})
"""
_NODE_PLUGIN = """
const rl = require("node:readline").createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...m }) + "\\n");
const fns = { echo: (v) => v, pid: () => process.pid, hang: () => { for (;;); } };
rl.on("line", (line) => {
  const { id, method, params } = JSON.parse(line);
  if (method === "initialize") send({ id, result: { protocol_version: 1, exports: Object.keys(fns) } });
  else if (method === "call") send({ id, result: fns[params.function](...params.args) });
  else if (method === "ping") send({ id, result: "pong" });
  else if (method === "shutdown") process.exit(0);
});
rl.on("close", () => process.exit(0));
"""
_LUA_PLUGIN = """
local M = {}
function M.pid() return 0 end
function M.hang() return string.find(string.rep("a", 300000), ".-.-.-.-.-.-.-.-b") end
return M
"""
_ECHO_CHILD = "import os\nr = os.fdopen(0, 'rb')\nfor line in r:\n    os.write(1, line)\n"
_LINE = b'{"jsonrpc":"2.0","id":7,"method":"call","params":{"function":"echo","args":["hi"],"timeout":5.0}}\n'


def _write_plugin(directory: Path, plugin_id: str, command: str, file: str, source: str) -> Path:
    folder = directory / plugin_id
    folder.mkdir()
    (folder / "plugin.yaml").write_text(
        f"id: {plugin_id}\nversion: 1.0.0\nruntime: process\ncommand: [{command}, {file}]\n", encoding="utf-8"
    )
    (folder / file).write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def _bare_echo_us(count: int) -> list[float]:
    """Microseconds per round trip of one JSON-RPC line through a bare echo child."""
    child = subprocess.Popen([sys.executable, "-c", _ECHO_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin and child.stdout
    to, back = child.stdin.fileno(), child.stdout.fileno()
    times = []
    try:
        for index in range(count + count // 10):
            start = time.perf_counter_ns()
            os.write(to, _LINE)
            got = b""
            while not got.endswith(b"\n"):
                got += os.read(back, 65536)
            if index >= count // 10:
                times.append((time.perf_counter_ns() - start) / 1000)
    finally:
        child.kill()
        child.wait()
    return times


async def _round_trip_us(engine: Engine, plugin_id: str, count: int) -> list[float]:
    for _ in range(count // 10):
        await engine.call(plugin_id, "echo", "hi")
    times = []
    for _ in range(count):
        start = time.perf_counter_ns()
        await engine.call(plugin_id, "echo", "hi")
        times.append((time.perf_counter_ns() - start) / 1000)
    return times


async def _recovery_ms(engine: Engine, plugin_id: str) -> float:
    """SIGKILL the plugin's process while idle; ms until a call succeeds again."""
    pid = await engine.call(plugin_id, "pid")
    start = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    while True:
        try:
            if await engine.call(plugin_id, "pid") != pid:
                return (time.perf_counter() - start) * 1000
        except PluginCrashed:
            continue


async def _hang_ms(engine: Engine, plugin_id: str, deadline: float) -> float:
    """ms from the call to its PluginTimeout; then waits until the plugin serves again."""
    start = time.perf_counter()
    with contextlib.suppress(PluginTimeout):
        await engine.call(plugin_id, "hang", timeout=deadline)
    took = (time.perf_counter() - start) * 1000
    await engine.call(plugin_id, "pid", timeout=10.0)
    return took


def _spawn_ms() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 1000


async def _measure(directory: Path, quick: bool) -> list[Figure]:
    count, crashes, hangs, deadline = (50, 1, 1, 0.2) if quick else (3000, 3, 3, 0.5)
    config = {
        "plugins": {
            "directories": [],
            "auto_load": False,
            "storage": str(directory / "storage.sqlite3"),
            "plugin_configs": {"bench-lua": {"isolation": "process"}},
        }
    }
    figures = []
    with quiet_gc():
        bare = statistics.median(_bare_echo_us(count))
    async with Engine(config) as engine:
        plugins = {
            "Python (SDK)": _write_plugin(directory, "bench-py", "python", "main.py", _PYTHON_PLUGIN),
            "Node.js": _write_plugin(directory, "bench-node", "node", "main.js", _NODE_PLUGIN),
        }
        for title, folder in plugins.items():
            plugin_id = (await engine.load(folder)).id
            with quiet_gc():
                ours = statistics.median(await _round_trip_us(engine, plugin_id, count))
            figures.append(
                Figure(
                    key=f"process.round_trip.{plugin_id.removeprefix('bench-')}",
                    title=f"Engine.call echo('hi'), stdio process plugin, {title}",
                    unit="µs",
                    ours=ours,
                    baseline=bare,
                    baseline_label="bare newline-JSON echo child (Python): one JSON-RPC line written, its echo read",
                    judge="ours",
                    limit=200,
                )
            )
        lua = directory / "bench-lua.lua"
        lua.write_text(_LUA_PLUGIN, encoding="utf-8")
        await engine.load(lua)
        for plugin_id, title in (
            ("bench-py", "Python process asleep"),
            ("bench-node", "Node.js process in a busy loop"),
            ("bench-lua", "Lua catastrophic pattern, isolation: process"),
        ):
            took = statistics.median([await _hang_ms(engine, plugin_id, deadline) for _ in range(hangs)])
            figures.append(
                Figure(
                    key=f"process.hang.{plugin_id.removeprefix('bench-')}",
                    title=f"PluginTimeout of a call that never returns: {title} (median)",
                    unit="ms",
                    ours=took,
                    baseline=deadline * 1000,
                    baseline_label="the call's deadline",
                    judge="overhead",
                    limit=100,
                )
            )
        recoveries = [await _recovery_ms(engine, "bench-py") for _ in range(crashes)]
    spawn = statistics.median(_spawn_ms() for _ in range(5))
    figures.append(
        Figure(
            key="process.recovery",
            title="SIGKILL of a process plugin → serving again (Python SDK, median)",
            unit="ms",
            ours=statistics.median(recoveries),
            baseline=spawn,
            baseline_label="`python -c pass` run to completion",
            judge="ours",
            limit=500,
        )
    )
    return figures


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        return asyncio.run(_measure(Path(tmp), quick))
