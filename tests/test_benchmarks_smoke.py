"""`make bench` keeps working: a quick run completes and reports every figure (timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FIGURES = {
    *(f"dispatch.{r}" for r in ("lua", "js", "python")),
    *(f"hop.{call}.{r}" for call in ("noop", "echo") for r in ("lua", "js", "python")),
    *(f"throughput.{r}" for r in ("lua", "js", "python")),
    *(f"load.{r}" for r in ("lua", "js", "python")),
    "startup.mixed",
    "cli.help",
    "cli.call",
    *(f"rss.{kind}" for kind in ("mixed", "lua", "js")),
    *(f"host_api.{r}" for r in ("lua", "js", "python")),
    "metrics.call",
    "metrics.render",
    "metrics.get",
    *(f"hostile.{kind}" for kind in ("stall", "stall_max", "large_stall")),
    *(f"abi.{kind}" for kind in ("native.call", "wasm.call", "wasm.extism", "wasm.load", "wasm.reload")),
    "process.round_trip.py",
    "process.round_trip.node",
    "process.recovery",
    *(f"reload.{lang}.{tag}" for lang in ("lua", "js") for tag in ("p50", "p95")),
    *(f"process.hang.{kind}" for kind in ("py", "node", "lua")),
    *(f"grpc.{figure}" for figure in ("unary.p50", "unary.p95", "unary.ratio", "tracing", "serving")),
    "musicfree.load.cheerio",
    "musicfree.load.axios",
    "musicfree.search",
    "serve.stdio.round_trip",
    *(f"mpv.{kind}" for kind in ("spawn_ready", "pause_seen", "ipc_command")),
    *(f"registry.{name}" for name in ("resolve_200", "conflict", "verify", "cached_install", "plugins_call")),
    "registry.mutual_calls",
}


def test_quick_benchmark_run_reports_every_figure(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = {f["key"]: f for f in json.loads(report.read_text(encoding="utf-8"))["figures"]}
    assert set(figures) == FIGURES
    for key, figure in figures.items():
        assert figure["ours"] > 0 and figure["baseline"] > 0, key
        assert isinstance(figure["pass"], bool) and figure["target"], key
        assert key in done.stdout, key
