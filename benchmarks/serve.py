"""Figure: the engine as a sidecar and mpv as its player.

serve --stdio: one `call` request to a Lua noop written on the engine's stdin and its answer read from stdout
(player → engine → plugin → player), against the same call made in-process through `Engine.call`, in interleaved
rounds of the same run; the target is on the difference (≤ 0.3 ms p50).
mpv: `MpvPlayer.start()` (spawn → first IPC answer) against `mpv --version` run to completion (starting mpv at
all); `pause()` until `state()` says paused against one IPC round trip; one IPC command (`get_property volume`)
p50 against a bare socketpair line echo served by a thread of this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import Figure, quiet_gc
from engine import Engine, MpvPlayer
from engine.players.tones import melody, write_wav

_NOOP_LUA = "local M = {}\nfunction M.noop() return nil end\nreturn M\n"
_CALL = '{{"jsonrpc":"2.0","id":{},"method":"call","params":{{"plugin":"noop","method":"noop","args":[]}}}}\n'


class _Sidecar:
    """`foxplug serve --stdio` with blocking pipes: write a line, read a line."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "--config", str(config), "serve", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdin and self.process.stdout
        self._to, self._from = self.process.stdin.fileno(), self.process.stdout.fileno()
        self._buffer = b""
        self._ids = 0
        hello = {"protocol_versions": [1], "player": {"name": "bench", "version": "1"}}
        self.request(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}) + "\n")

    def request(self, line: str) -> bytes:
        os.write(self._to, line.encode())
        while b"\n" not in self._buffer:
            self._buffer += os.read(self._from, 65536)
        answer, _, self._buffer = self._buffer.partition(b"\n")
        return answer

    def call_us(self) -> float:
        self._ids += 1
        start = time.perf_counter_ns()
        self.request(_CALL.format(self._ids))
        return (time.perf_counter_ns() - start) / 1000

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(10)


async def _serve_figure(directory: Path, quick: bool) -> Figure:
    rounds, per_round = (2, 30) if quick else (10, 300)
    (directory / "plugins").mkdir()
    (directory / "plugins" / "noop.lua").write_text(_NOOP_LUA, encoding="utf-8")
    section = {
        "directories": [str(directory / "plugins")],
        "storage": str(directory / "storage.sqlite3"),
        "hot_reload": {"enabled": False},
        "monitoring": {"enabled": False},
    }
    config = directory / "plugins.yaml"
    config.write_text(json.dumps({"plugins": section}), encoding="utf-8")  # JSON is YAML
    sidecar = _Sidecar(config)
    served: list[float] = []
    inline: list[float] = []
    try:
        async with Engine({"plugins": {**section, "storage": str(directory / "inline.sqlite3")}}) as engine:
            for _ in range(per_round):  # warm both
                sidecar.call_us()
                await engine.call("noop", "noop")
            with quiet_gc():
                for _ in range(rounds):
                    served.append(statistics.median(sidecar.call_us() for _ in range(per_round)))
                    times = []
                    for _ in range(per_round):
                        start = time.perf_counter_ns()
                        await engine.call("noop", "noop")
                        times.append((time.perf_counter_ns() - start) / 1000)
                    inline.append(statistics.median(times))
    finally:
        sidecar.close()
    return Figure(
        key="serve.stdio.round_trip",
        title="serve --stdio: `call` to a Lua noop, player → engine → plugin → player (p50)",
        unit="µs",
        ours=statistics.median(served),
        baseline=statistics.median(inline),
        baseline_label="the same call in-process through Engine.call (p50)",
        judge="overhead",
        limit=300,
    )


def _echo_us(count: int) -> float:
    """p50 µs of a line written to a socketpair and echoed back by a thread: the floor of any line IPC."""
    ours, theirs = socket.socketpair()
    reader = theirs.makefile("rb")

    def echo() -> None:
        for line in reader:
            theirs.sendall(line)

    threading.Thread(target=echo, daemon=True).start()
    line, times = b'{"command":["get_property","volume"],"request_id":1}\n', []
    for _ in range(count):
        start = time.perf_counter_ns()
        ours.sendall(line)
        got = b""
        while not got.endswith(b"\n"):
            got += ours.recv(65536)
        times.append((time.perf_counter_ns() - start) / 1000)
    ours.close()
    return statistics.median(times)


def _mpv_figures(directory: Path, quick: bool) -> list[Figure]:
    spawns, count = (2, 50) if quick else (5, 2000)
    args = ["--ao=null"]
    ready, version_run = [], []
    for _ in range(spawns):
        start = time.perf_counter()
        subprocess.run(["mpv", "--version"], capture_output=True, check=True)
        version_run.append(time.perf_counter() - start)
        player = MpvPlayer(args=args)
        ready.append(player.start())
        player.close()
    song = {"id": "bench", "title": "Bench", "url": str(write_wav(directory / "bench.wav", melody("bench"), 2.0))}
    player = MpvPlayer(args=args)
    try:
        player.start()
        with quiet_gc():
            command = []
            for _ in range(count):
                start = time.perf_counter_ns()
                player.get("volume")
                command.append((time.perf_counter_ns() - start) / 1000)
            pauses = []
            for _ in range(spawns * 4):
                player.play(song)
                while player.get("idle-active"):
                    time.sleep(0.005)
                start = time.perf_counter()
                player.pause()
                while player.state() != "paused":
                    pass
                pauses.append((time.perf_counter() - start) * 1000)
        echo = _echo_us(count)
    finally:
        player.close()
    return [
        Figure(
            key="mpv.spawn_ready",
            title="MpvPlayer.start(): spawn mpv → its first IPC answer (median)",
            unit="s",
            ours=statistics.median(ready),
            baseline=statistics.median(version_run),
            baseline_label="`mpv --version` run to completion",
            judge="ours",
            limit=0.5,
        ),
        Figure(
            key="mpv.pause_seen",
            title="MpvPlayer.pause() while playing → state() says paused (median)",
            unit="ms",
            ours=statistics.median(pauses),
            baseline=statistics.median(command) / 1000,
            baseline_label="one IPC command round trip",
            judge="ours",
            limit=50,
        ),
        Figure(
            key="mpv.ipc_command",
            title="mpv IPC command `get_property volume` over the socketpair (p50)",
            unit="µs",
            ours=statistics.median(command),
            baseline=echo,
            baseline_label="a line echoed over a socketpair by a thread of this process (p50)",
            judge="ours",
            limit=200,
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-serve-") as tmp:
        directory = Path(tmp)
        figures = [asyncio.run(_serve_figure(directory, quick))]
        if shutil.which("mpv"):
            figures += _mpv_figures(directory, quick)
        else:
            print("mpv not installed: the mpv figures are left out (apt-get install mpv)", file=sys.stderr)
    return figures
