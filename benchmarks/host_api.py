"""Figure 4: a host-API round trip from plugin code — `fox.json.encode(v)` called n times in one plugin call.

The baseline is the same loop, in the same plugin and runtime, calling a trivial local function instead
(in JS both loops `await`, since plugin code awaits every fox.* call). Both are reported per iteration.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import Figure, per_call_ns
from benchmarks.workload import RUNTIMES, SMALL, TITLE, far_deadline, instantiate, write_plugin


def run(quick: bool) -> list[Figure]:
    samples, loop = (10, 20) if quick else (150, 200)
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        return [_figure(runtime, Path(tmp), samples, loop) for runtime in RUNTIMES]


def _figure(runtime: str, directory: Path, samples: int, loop: int) -> Figure:
    instance = instantiate(write_plugin(directory, runtime, f"host-api-{runtime}"))
    args, deadline = (loop, SMALL), far_deadline()
    assert json.loads(instance.call("encode", args, deadline)) == SMALL
    try:
        ns = per_call_ns(
            {
                "ours": lambda: instance.call("encode", args, deadline),
                "local": lambda: instance.call("same_loop", args, deadline),
            },
            samples=samples,
            inner=1,
            warmup=5,
        )
    finally:
        instance.close()
    return Figure(
        key=f"host_api.{runtime}",
        title=f"fox.json.encode round trip, {TITLE[runtime]}",
        unit="µs",
        ours=ns["ours"] / loop / 1000,
        baseline=ns["local"] / loop / 1000,
        baseline_label=f"same {loop}-iteration loop calling a trivial local function instead",
        judge="ours",
        limit=10,
    )
