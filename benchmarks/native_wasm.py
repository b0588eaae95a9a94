"""Figures 6: native and WebAssembly plugins over the binary ABI (docs/abi.md), with lyrics-tri's C.

- call: `instance.call("echo", (payload,), deadline)` — a ~280-byte JSON argument echoed back — into the
  native library against raw ctypes doing the same ABI round trip (alloc, write, call, read, free, JSON),
  and into the wasm module against wasmtime-py's checked `Func.__call__` doing the same.
- load: `Engine.load` of a wasm plugin with the compiled-module cache emptied first, against wasmtime
  compiling and instantiating the same bytes; reload: `Engine.reload` of it (cache warm), against wasmtime
  instantiating an already compiled module.
- peer: the same wasm instance call against Extism (pip `extism`) calling a hand-written echo plugin
  (benchmarks/peers/extism_echo.wat) with the same JSON, both in this thread.

lyrics-tri is built from source (`make`) into a temporary folder, as `make plugins` would.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import extism
import wasmtime

from benchmarks.common import Figure, per_call_ns, quiet_gc
from engine import Engine
from engine.config import Config
from engine.gate.permissions import PermissionGate
from engine.loading.manifest import read_plugin
from engine.loading.pipeline import limits_for
from engine.runtimes import wasm
from engine.runtimes.base import Instance
from script_api.context import PluginContext

TRI = Path(__file__).resolve().parent.parent / "plugins_lua" / "lyrics-tri"
EXTISM_ECHO = Path(__file__).resolve().parent / "peers" / "extism_echo.wat"
PAYLOAD: dict[str, Any] = {
    "id": "song-42",
    "title": "Hey Jude",
    "artists": [{"id": "beatles", "name": "The Beatles"}],
    "album": {"id": "past-masters", "name": "Past Masters", "cover_url": "https://example.org/c/42.jpg"},
    "duration_ms": 431000,
    "track": 21,
    "year": 1968,
    "explicit": False,
    "rating": 4.5,
    "source": "bench",
    "extra": {"isrc": "GBAYE6800011", "label": "Apple"},
}
"""The argument of `echo`: with the name and the array around it, ~280 bytes of JSON each way."""
_MASK = 0xFFFFFFFF


def run(quick: bool) -> list[Figure]:
    samples, inner = (15, 20) if quick else (300, 50)
    with tempfile.TemporaryDirectory(prefix="foxplug-bench-abi-") as tmp:
        folder = Path(tmp) / "lyrics-tri"
        shutil.copytree(TRI, folder, ignore=shutil.ignore_patterns("build"))
        subprocess.run(["make", "-s", "-C", str(folder)], check=True, capture_output=True, timeout=120)
        return [
            *_calls(folder, samples, inner),
            *_wasm_load(folder, Path(tmp), 5 if quick else 40),
        ]


def _instance(folder: Path, kind: str) -> Instance:
    """The implementation `kind` of lyrics-tri, created on this thread without an actor (as `dispatch` does)."""
    manifest, _ = read_plugin(folder)
    chosen = next(i for i in manifest.implementations if i.kind == kind)
    config = Config()
    ctx = PluginContext(
        plugin_id=manifest.id,
        version=manifest.version,
        path=str(manifest.path),
        config={},
        grants=manifest.grants,
        gate=PermissionGate(config.policy),
        services=None,  # type: ignore[arg-type]
    )
    assert chosen.source is not None
    return chosen.backend.create(chosen.source, ctx, limits_for(manifest, config))


def _call_figure(key: str, title: str, ns: dict[str, float], label: str, judge: str, limit: float) -> Figure:
    return Figure(
        key=key,
        title=title,
        unit="µs",
        ours=ns["ours"] / 1000,
        baseline=ns["raw"] / 1000,
        baseline_label=label,
        judge=judge,  # type: ignore[arg-type]
        limit=limit,
    )


def _raw_native(library: Path) -> Callable[[Any], Any]:
    """The ABI round trip in plain ctypes: what any host must do to call the library with JSON."""
    lib = ctypes.CDLL(str(library), mode=ctypes.RTLD_LOCAL)
    u32, u64 = ctypes.c_uint32, ctypes.c_uint64
    alloc, free, call, memory = lib.foxplug_alloc, lib.foxplug_free, lib.foxplug_call, lib.foxplug_memory
    alloc.restype, alloc.argtypes = u32, (u32,)
    free.restype, free.argtypes = None, (u32, u32)
    call.restype, call.argtypes = u64, (u32, u32, u32, u32)
    memory.restype, memory.argtypes = ctypes.c_void_p, (ctypes.POINTER(u32),)
    base = memory(ctypes.byref(u32()))

    def echo(value: Any) -> Any:
        payload = b"echo" + json.dumps([value], separators=(",", ":")).encode()
        ptr = alloc(len(payload))
        ctypes.memmove(base + ptr, payload, len(payload))
        packed = call(ptr, 4, ptr + 4, len(payload) - 4)
        result, length = packed >> 32, packed & _MASK
        data = ctypes.string_at(base + result, length)
        free(result, length)
        free(ptr, len(payload))
        return json.loads(data)["ok"]

    return echo


def _raw_wasm(data: bytes) -> Callable[[Any], Any]:
    """The same round trip through wasmtime-py's public, checked API (`Func.__call__`, `Memory.read/write`)."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    linker.define_func("foxplug", "host_call", wasmtime.FuncType([i32] * 4, [i64]), lambda *args: 0)
    exports = linker.instantiate(store, wasmtime.Module(engine, data)).exports(store)
    alloc, free, call, memory = (exports[n] for n in ("foxplug_alloc", "foxplug_free", "foxplug_call", "memory"))

    def echo(value: Any) -> Any:
        payload = b"echo" + json.dumps([value], separators=(",", ":")).encode()
        ptr = alloc(store, len(payload))
        memory.write(store, payload, ptr)
        packed = call(store, ptr, 4, ptr + 4, len(payload) - 4) & 0xFFFFFFFFFFFFFFFF
        result, length = packed >> 32, packed & _MASK
        out = memory.read(store, result, result + length)
        free(store, result, length)
        free(store, ptr, len(payload))
        return json.loads(out)["ok"]

    return echo


def _extism_echo() -> Callable[[Any], Any]:
    """The peer: Extism (pip `extism`) calling a hand-written echo plugin with the same JSON, in this thread."""
    plugin = extism.Plugin(bytes(wasmtime.wat2wasm(EXTISM_ECHO.read_text(encoding="utf-8"))), wasi=False)

    def echo(value: Any) -> Any:
        return json.loads(plugin.call("echo", json.dumps([value], separators=(",", ":"))))[0]

    return echo


def _echo_ns(folder: Path, kind: str, baseline: Callable[[Any], Any], samples: int, inner: int) -> dict[str, float]:
    """ns per `echo(PAYLOAD)` of lyrics-tri's `kind` implementation (`ours`) and of `baseline` (`raw`), in turn."""
    instance = _instance(folder, kind)
    deadline = time.monotonic() + 3600
    assert instance.call("echo", (PAYLOAD,), deadline) == baseline(PAYLOAD) == PAYLOAD
    try:
        return per_call_ns(
            {"ours": lambda: instance.call("echo", (PAYLOAD,), deadline), "raw": lambda: baseline(PAYLOAD)},
            samples=samples,
            inner=inner,
            warmup=inner * 5,
        )
    finally:
        instance.close()


def _calls(folder: Path, samples: int, inner: int) -> list[Figure]:
    raw_native = _raw_native(folder / "build" / "lyrics.so")
    raw_wasm = _raw_wasm((folder / "build" / "lyrics.wasm").read_bytes())
    rows = (
        (
            "abi.native.call",
            "native",
            raw_native,
            "engine call into a native library, 280 B JSON",
            "overhead",
            3,
            "ctypes: json.dumps + foxplug_alloc + memmove + foxplug_call + string_at + 2 × foxplug_free + json.loads",
        ),
        (
            "abi.wasm.call",
            "wasm",
            raw_wasm,
            "engine call into a wasm module, 280 B JSON",
            "ours",
            15,
            "wasmtime-py Func.__call__ + Memory.write/read: alloc, write, call, read, 2 × free, JSON",
        ),
        (
            "abi.wasm.extism",
            "wasm",
            _extism_echo(),
            "wasm instance call vs Extism's JSON call, 280 B",
            "ratio",
            0.6,
            "Extism (pip extism): Plugin.call of a hand-written echo wasm, json.dumps/json.loads around it",
        ),
    )
    return [
        _call_figure(key, title, _echo_ns(folder, kind, baseline, samples, inner), label, judge, limit)
        for key, kind, baseline, title, judge, limit, label in rows
    ]


def _wasm_load(folder: Path, tmp: Path, rounds: int) -> list[Figure]:
    plugin = tmp / "plugins" / "wasm-only"
    (plugin / "build").mkdir(parents=True)
    data = (folder / "build" / "lyrics.wasm").read_bytes()
    (plugin / "build" / "lyrics.wasm").write_bytes(data)
    (plugin / "plugin.yaml").write_text("id: lyrics-tri\nversion: 1.0.0\nruntime: wasm\nentry: build/lyrics.wasm\n")
    config = {"plugins": {"storage": str(tmp / "bench.sqlite3"), "hot_reload": {"enabled": False}}}
    cold, warm = asyncio.run(_engine_loads(plugin, config, rounds))

    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    linker.define_func("foxplug", "host_call", wasmtime.FuncType([i32] * 4, [i64]), lambda *args: 0)
    compiled = wasmtime.Module(engine, data)
    compile_times, instantiate_times = [], []
    with quiet_gc():
        for _ in range(rounds):
            started = time.perf_counter()
            linker.instantiate(wasmtime.Store(engine), wasmtime.Module(engine, data))
            compile_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            linker.instantiate(wasmtime.Store(engine), compiled)
            instantiate_times.append(time.perf_counter() - started)
    return [
        Figure(
            key="abi.wasm.load",
            title="load a wasm plugin (Engine.load, module not cached)",
            unit="ms",
            ours=statistics.median(cold) * 1000,
            baseline=statistics.median(compile_times) * 1000,
            baseline_label="wasmtime: Module(bytes) + Linker.instantiate (compile and instantiate)",
            judge="ours",
            limit=50,
        ),
        Figure(
            key="abi.wasm.reload",
            title="reload a wasm plugin (Engine.reload, module cached)",
            unit="ms",
            ours=statistics.median(warm) * 1000,
            baseline=statistics.median(instantiate_times) * 1000,
            baseline_label="wasmtime: Linker.instantiate of a compiled module",
            judge="ours",
            limit=5,
        ),
    ]


async def _engine_loads(plugin: Path, config: dict[str, Any], rounds: int) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    async with Engine(config) as fox:
        await fox.load(plugin)  # wasmtime imported and the engine warm: what is left is this plugin's cost
        for _ in range(rounds):
            await fox.unload("lyrics-tri")
            wasm._runtime().modules.clear()
            started = time.perf_counter()
            await fox.load(plugin)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            await fox.reload("lyrics-tri")
            warm.append(time.perf_counter() - started)
    return cold, warm
