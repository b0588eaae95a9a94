"""Run every benchmark, print one table (ours, same-run baseline, ratio, target, PASS/FAIL), optionally JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from benchmarks import (
    cli,
    dispatch,
    ecosystems,
    grpc,
    hop,
    host_api,
    hostile,
    load,
    metrics,
    native_wasm,
    process,
    registry,
    reload,
    serve,
)
from benchmarks.common import Figure, table

SUITES = {
    "cli": cli.run,
    "dispatch": dispatch.run,
    "hop": hop.run,
    "load": load.run,
    "host_api": host_api.run,
    "hostile": hostile.run,
    "metrics": metrics.run,
    "native_wasm": native_wasm.run,
    "process": process.run,
    "reload": reload.run,
    "grpc": grpc.run,
    "ecosystems": ecosystems.run,
    "serve": serve.run,
    "registry": registry.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations: checks that it runs, not timings")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args()

    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "lupa": version("lupa"),
        "quickjs-ng": version("quickjs-ng"),
        "RestrictedPython": version("RestrictedPython"),
        "wasmtime": version("wasmtime"),
        "grpcio": version("grpcio"),
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    print(" · ".join(f"{k} {v}" for k, v in machine.items()), file=sys.stderr)
    figures: list[Figure] = []
    started = time.perf_counter()
    for name, run in SUITES.items():
        print(f"running {name}{' (quick)' if args.quick else ''}…", file=sys.stderr, flush=True)
        figures += run(args.quick)
    machine["load_average_after"] = round(os.getloadavg()[0], 2)
    print(table(figures))
    print(
        f"\n1-minute load average: {machine['load_average_before']} before, {machine['load_average_after']} after "
        f"(on {machine['cpus']} CPUs; other processes inflate every absolute figure)"
    )
    failed = [f.key for f in figures if not f.passed]
    caveat = " (quick run: timings mean nothing)" if args.quick else ""
    elapsed = time.perf_counter() - started
    print(f"\n{len(figures) - len(failed)}/{len(figures)} figures meet their target{caveat} · {elapsed:.0f} s")
    if args.json:
        report = {"quick": args.quick, "machine": machine, "figures": [f.to_dict() for f in figures]}
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
