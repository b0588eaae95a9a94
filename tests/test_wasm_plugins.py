"""WebAssembly plugins behind their walls: deadlines, a memory cap, only granted imports, checked pointers.

Each plugin here is a small module written in WAT (compiled with `wasmtime.wat2wasm`) that speaks the ABI
of docs/abi.md and misbehaves in one way; the host must stop it with the right error and keep serving.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from engine import Engine, PluginError, PluginTimeout, ResourceLimitExceeded
from engine.runtimes import wasm

HOST_IMPORT = '(import "foxplug" "host_call" (func $host (param i32 i32 i32 i32) (result i64)))'


def module(call: str, *, imports: str = "", extra: str = "", pages: int = 1) -> bytes:
    """An ABI module whose `foxplug_call` runs `call`; names starting with `o` answer {"ok":42} instead."""
    info = '{\\"id\\":\\"wx\\",\\"exports\\":[\\"run\\",\\"ok\\"]}'
    info_len = len(info.replace("\\", ""))
    return wasmtime.wat2wasm(f"""
    (module
      {imports}
      (memory (export "memory") {pages})
      (global $top (mut i32) (i32.const 4096))
      (data (i32.const 16) "{info}")
      (data (i32.const 512) "{{\\"ok\\":42}}")
      (func (export "foxplug_abi_version") (result i32) (i32.const 1))
      (func (export "foxplug_alloc") (param $n i32) (result i32) (local $p i32)
        (local.set $p (global.get $top))
        (global.set $top (i32.add (global.get $top) (local.get $n)))
        (local.get $p))
      (func (export "foxplug_free") (param i32 i32))
      (func (export "foxplug_info") (result i64)
        (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {info_len})))
      (func (export "foxplug_call") (param $np i32) (param $nl i32) (param $ap i32) (param $al i32) (result i64)
        (if (i32.eq (i32.load8_u (local.get $np)) (i32.const 111))
          (then (return (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 9)))))
        {call})
      {extra}
    )""")


@pytest.fixture
def wasm_plugin(tmp_path: Path) -> Callable[..., Path]:
    def write(data: bytes, *, memory: str = "64MB", plugin_id: str = "wx") -> Path:
        folder = tmp_path / "plugins" / plugin_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plugin.wasm").write_bytes(data)
        (folder / "plugin.yaml").write_text(
            f"id: {plugin_id}\nversion: 1.0.0\nruntime: wasm\nentry: plugin.wasm\nlimits: {{memory: {memory}}}\n"
        )
        return folder

    return write


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]]) -> AsyncIterator[Engine]:
    async with Engine(engine_config()) as engine:
        yield engine


async def test_an_infinite_loop_is_stopped_at_its_deadline_and_the_plugin_keeps_serving(
    fox: Engine, wasm_plugin: Callable[..., Path]
) -> None:
    await fox.load(wasm_plugin(module("(loop $forever (br $forever)) (unreachable)")))

    started = time.monotonic()
    with pytest.raises(PluginTimeout, match=r"exceeded its 0.3 s deadline in run\(\)"):
        await fox.call("wx", "run", timeout=0.3)
    elapsed = time.monotonic() - started

    assert elapsed < 0.3 + 0.5  # the benchmark-grade bound is deadline + 50 ms; this catches a hang
    assert await fox.call("wx", "ok") == 42


async def test_memory_grow_past_the_cap_is_a_resource_limit(fox: Engine, wasm_plugin: Callable[..., Path]) -> None:
    grow_until_refused = """
      (block $refused
        (loop $more
          (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
          (br $more)))
      (unreachable)"""
    await fox.load(wasm_plugin(module(grow_until_refused), memory="1MB"))

    with pytest.raises(ResourceLimitExceeded, match="1048576-byte memory limit in run"):
        await fox.call("wx", "run")
    assert await fox.call("wx", "ok") == 42


async def test_a_result_pointer_outside_memory_is_a_plugin_error_and_harmless(
    fox: Engine, wasm_plugin: Callable[..., Path]
) -> None:
    await fox.load(wasm_plugin(module("(i64.or (i64.shl (i64.const 0xFFFF0000) (i64.const 32)) (i64.const 100))")))

    with pytest.raises(PluginError, match=r"run\(\): the result is bytes 4294901760\.\.4294901860, outside its"):
        await fox.call("wx", "run")
    assert await fox.call("wx", "ok") == 42


async def test_a_host_call_with_pointers_outside_memory_is_refused(
    fox: Engine, wasm_plugin: Callable[..., Path]
) -> None:
    bad_name = "(call $host (i32.const 0xFFFFFF00) (i32.const 64) (i32.const 16) (i32.const 2))"
    await fox.load(wasm_plugin(module(bad_name, imports=HOST_IMPORT)))

    with pytest.raises(PluginError, match=r"host_call\(\): host_call's name is bytes 4294967040\.\."):
        await fox.call("wx", "run")
    assert await fox.call("wx", "ok") == 42


async def test_a_trap_is_a_plugin_error_naming_the_function(fox: Engine, wasm_plugin: Callable[..., Path]) -> None:
    await fox.load(wasm_plugin(module("(i64.extend_i32_u (i32.div_u (i32.const 1) (i32.const 0)))")))

    with pytest.raises(PluginError, match=r"run\(\) trapped: .*divide by zero"):
        await fox.call("wx", "run")


async def test_unbounded_recursion_is_a_stack_limit(fox: Engine, wasm_plugin: Callable[..., Path]) -> None:
    recurse = "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))"
    await fox.load(wasm_plugin(module("(i64.extend_i32_u (call $down (i32.const 0)))", extra=recurse)))

    with pytest.raises(ResourceLimitExceeded, match="stack"):
        await fox.call("wx", "run")


@pytest.mark.parametrize(
    ("imports", "message"),
    [
        ('(import "env" "printf" (func (param i32) (result i32)))', "imports env.printf, which foxplug does not grant"),
        ('(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))', "WASI is not"),
        (
            '(import "foxplug" "host_call" (func (param i32) (result i32)))',
            r"imports foxplug.host_call as \(i32\) -> \(i32\) — it is \(i32, i32, i32, i32\) -> \(i64\)",
        ),
    ],
)
async def test_only_granted_imports_load(
    fox: Engine, wasm_plugin: Callable[..., Path], imports: str, message: str
) -> None:
    with pytest.raises(PluginError, match=message):
        await fox.load(wasm_plugin(module("(i64.const 0)", imports=imports)))


async def test_a_missing_export_fails_the_load_naming_it(fox: Engine, wasm_plugin: Callable[..., Path]) -> None:
    data = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "foxplug_abi_version") (result i32) (i32.const 1)))'
    )

    with pytest.raises(PluginError, match="does not export foxplug_alloc"):
        await fox.load(wasm_plugin(data))


async def test_a_module_needing_more_than_its_memory_limit_does_not_start(
    fox: Engine, wasm_plugin: Callable[..., Path]
) -> None:
    data = module("(i64.const 0)", pages=64)  # 4 MiB to start with

    with pytest.raises(ResourceLimitExceeded, match="memory limit to start"):
        await fox.load(wasm_plugin(data, memory="1MB"))


async def test_a_reload_reuses_the_compiled_module(fox: Engine, wasm_plugin: Callable[..., Path]) -> None:
    folder = wasm_plugin(module("(i64.const 0)", extra="(func $unique (result i32) (i32.const 7))"))

    await fox.load(folder)
    compiled = dict(wasm._runtime().modules)
    await fox.reload("wx")

    assert dict(wasm._runtime().modules) == compiled  # same entry, nothing compiled again
    assert await fox.call("wx", "ok") == 42
