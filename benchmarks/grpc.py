"""Figure 7: gRPC plugin services — a unary call to a service in another process, what tracing adds, and how
soon a launched Python service is SERVING.

Round trip: `Engine.call(id, "search", ...)` on a launched SDK service answering one ~300-byte song, calls one at
a time, each timed. Baseline, in the same run and interleaved: the same call as our process protocol carries it,
a JSON-RPC line over a socketpair to a bare Python child that decodes it and answers the same song — the
protocol's floor, without an engine in front.
Tracing: the same call with `monitoring.tracing` on (memory exporter; engine span + client span per call);
baseline the same engine without tracing; the overhead is judged.
Time to SERVING: load a launched service (spawn, handshake line, health `plugin` SERVING, GetCapabilities);
baseline: `python -c "import grpc"` run to completion.
"""

from __future__ import annotations

import ast
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.common import Figure, quiet_gc
from engine import Engine

REPO = Path(__file__).resolve().parent.parent
_SERVICE = """
from script_api.grpc_sdk import serve_grpc

SONG = {
    "id": "bench-0001",
    "title": "A song of about three hundred bytes on the wire",
    "artists": [{"id": "a1", "name": "Some Artist"}, {"id": "a2", "name": "Another Artist"}],
    "album": {"id": "al1", "name": "An Album", "cover_url": "https://img.example/covers/al1.jpg"},
    "duration_ms": 215000,
    "extra": {"bitrate": 320},
}

def search(query, opts=None):
    return [SONG]

serve_grpc({"search": search}, id="bench")
"""
_NDJSON_CHILD = """
import json, socket, sys
SONG = %r
s = socket.socket(fileno=int(sys.argv[1]))
for line in s.makefile("rb"):
    request = json.loads(line)
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": [SONG]}).encode() + b"\\n")
"""


def _plugin(directory: Path, *, provides: bool = True) -> Path:
    folder = directory / ("bench" if provides else "bench-asked")
    folder.mkdir()
    declared = "provides: [search]\n" if provides else ""
    (folder / "plugin.yaml").write_text(
        f"id: {folder.name}\nversion: 1.0.0\nruntime: grpc\ncommand: [python, service.py]\n{declared}", encoding="utf-8"
    )
    (folder / "service.py").write_text(textwrap.dedent(_SERVICE), encoding="utf-8")
    return folder


class _Echo:
    """Our process protocol's floor: a JSON-RPC call as one NDJSON line over a socketpair to a bare Python child
    that decodes it and answers the same song, encoded and decoded as the protocol does, without an engine."""

    def __init__(self) -> None:
        self.ours, theirs = socket.socketpair()
        fd = str(theirs.fileno())
        song = _SERVICE.split("SONG = ", 1)[1].split("\n\n", 1)[0]
        child = _NDJSON_CHILD % (ast.literal_eval(song),)  # the very song the gRPC service answers
        self.child = subprocess.Popen([sys.executable, "-c", child, fd], pass_fds=(theirs.fileno(),))
        self.ids = 0
        theirs.close()

    def round_trip_ns(self) -> int:
        self.ids += 1
        start = time.perf_counter_ns()
        call = {
            "jsonrpc": "2.0",
            "id": self.ids,
            "method": "call",
            "params": {"function": "search", "args": ["q", {"limit": 1}]},
        }
        self.ours.sendall(json.dumps(call).encode() + b"\n")
        got = b""
        while not got.endswith(b"\n"):
            got += self.ours.recv(65536)
        assert json.loads(got)["id"] == self.ids
        return time.perf_counter_ns() - start

    def close(self) -> None:
        self.ours.close()
        self.child.wait(5)


async def _round_trips(count: int, tracing: bool, directory: Path) -> tuple[list[float], list[float]]:
    """(engine call ms, socketpair ms), interleaved one for one."""
    monitoring = {"tracing": {"enabled": True, "exporter": "memory"}} if tracing else {"enabled": False}
    config = {"plugins": {"storage": str(directory / f"s{tracing}.sqlite3"), "monitoring": monitoring}}
    echo = _Echo()
    ours, base = [], []
    try:
        async with Engine(config) as fox:
            await fox.load(directory / "bench")
            for _ in range(max(20, count // 10)):
                await fox.call("bench", "search", "q", {"limit": 1})
                echo.round_trip_ns()
            with quiet_gc():
                for _ in range(count):
                    start = time.perf_counter_ns()
                    await fox.call("bench", "search", "q", {"limit": 1})
                    ours.append((time.perf_counter_ns() - start) / 1e6)
                    base.append(echo.round_trip_ns() / 1e6)
                    if fox.tracing is not None and len(ours) % 200 == 0:
                        fox.tracing._memory.clear()  # type: ignore[union-attr]  # keep memory flat
    finally:
        echo.close()
    return ours, base


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _time_to_serving(directory: Path, runs: int) -> tuple[float, float]:
    ours, base = [], []
    config = {"plugins": {"storage": str(directory / "ts.sqlite3"), "monitoring": {"enabled": False}}}
    folder = _plugin(directory, provides=False)
    async with Engine(config) as fox:
        for _ in range(runs):
            start = time.perf_counter()
            await fox.load(folder)
            ours.append(time.perf_counter() - start)
            await fox.unload("bench-asked")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import grpc"], check=True)
            base.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(base)


def run(quick: bool) -> list[Figure]:
    count, runs = (60, 2) if quick else (3000, 7)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _plugin(directory)
        plain, socketpair = asyncio.run(_round_trips(count, False, directory))
        traced, untraced = [], []
        for _ in range(1 if quick else 3):  # interleaved runs of the two engines
            traced += asyncio.run(_round_trips(count // 3 or 1, True, directory))[0]
            untraced += asyncio.run(_round_trips(count // 3 or 1, False, directory))[0]
        serving, python_grpc = asyncio.run(_time_to_serving(directory, runs))
    p50, base50 = statistics.median(plain), statistics.median(socketpair)
    label = "the same call as NDJSON JSON-RPC over a socketpair to a bare Python child (no engine), interleaved"
    return [
        Figure("grpc.unary.p50", "gRPC plugin unary search, p50", "ms", p50, base50, label, "ours", 1.0),
        Figure(
            "grpc.unary.p95",
            "gRPC plugin unary search, p95",
            "ms",
            _percentile(plain, 0.95),
            _percentile(socketpair, 0.95),
            label,
            "ours",
            2.0,
        ),
        Figure(
            "grpc.unary.ratio", "gRPC plugin unary search vs socketpair, p50", "ms", p50, base50, label, "ratio", 12.0
        ),
        Figure(
            "grpc.tracing",
            "gRPC plugin call with tracing on, p50",
            "ms",
            statistics.median(traced),
            statistics.median(untraced),
            "the same call with monitoring.tracing off, interleaved runs",
            "overhead",
            0.4,
        ),
        Figure(
            "grpc.serving",
            "launched Python gRPC service: load → SERVING",
            "s",
            serving,
            python_grpc,
            'python -c "import grpc" to completion',
            "ours",
            0.6,
        ),
    ]
