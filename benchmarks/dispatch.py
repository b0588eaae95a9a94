"""Figure 1: what the engine adds inside the actor (limits, marshalling, checks) to a raw runtime call.

Both sides run on this thread, no asyncio: `instance.call("echo", (record,), deadline)` against the runtime's
own binding doing the same work (see `workload.raw_echo`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import Figure, per_call_ns
from benchmarks.workload import RECORD, RUNTIMES, TITLE, far_deadline, instantiate, raw_echo, write_plugin

RAW_LABEL = {
    "lua": "lupa: fn(lua.table_from(d)) + dict(result.items())",
    "js": "quickjs: json.loads(f(json.dumps(d))), f = JSON.parse → echo → JSON.stringify",
    "python": "plain Python function, same body, no guards",
}


def run(quick: bool) -> list[Figure]:
    samples, inner = (15, 20) if quick else (400, 50)
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-") as tmp:
        return [_figure(runtime, Path(tmp), samples, inner) for runtime in RUNTIMES]


def _figure(runtime: str, directory: Path, samples: int, inner: int) -> Figure:
    instance = instantiate(write_plugin(directory, runtime, f"dispatch-{runtime}"))
    raw = raw_echo(runtime)
    args, deadline = (RECORD,), far_deadline()
    assert instance.call("echo", args, deadline) == raw(RECORD) == RECORD
    try:
        ns = per_call_ns(
            {"ours": lambda: instance.call("echo", args, deadline), "raw": lambda: raw(RECORD)},
            samples=samples,
            inner=inner,
            warmup=inner * 5,
        )
    finally:
        instance.close()
    return Figure(
        key=f"dispatch.{runtime}",
        title=f"in-actor dispatch overhead, {TITLE[runtime]}",
        unit="µs",
        ours=ns["ours"] / 1000,
        baseline=ns["raw"] / 1000,
        baseline_label=RAW_LABEL[runtime],
        judge="overhead",
        limit=3,
    )
