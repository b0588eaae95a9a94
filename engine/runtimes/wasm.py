"""WebAssembly plugins through wasmtime: epoch deadlines, a store memory cap, and only the imports foxplug grants.

Calls take wasmtime's unchecked path (`wasmtime_func_call_unchecked` through ctypes, arguments in a raw value
array): `Func.__call__` spends ~50 µs per call re-reading the function type and boxing values, the unchecked
call ~1 µs. It is safe here because every export's signature is checked against the ABI once, at load, and
the store, instance and value arrays live as long as the instance that uses them, on its actor's thread.

wasmtime is imported on first use: its import alone costs ~80 ms, which a host without wasm plugins should
not pay.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import Any

from engine.errors import FoxplugError, PluginError, ResourceLimitExceeded
from engine.runtimes.abi import AbiInstance
from engine.runtimes.base import Backend, Limits, Source
from script_api.context import PluginContext

TICK = 0.005
"""Seconds per epoch tick: a runaway call stops within its deadline plus about this."""
MODULE_CACHE_SIZE = 64
PAGE = 65536

_I32, _I64 = "i32", "i64"
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "foxplug_abi_version": ((), (_I32,)),
    "foxplug_alloc": ((_I32,), (_I32,)),
    "foxplug_free": ((_I32, _I32), ()),
    "foxplug_call": ((_I32, _I32, _I32, _I32), (_I64,)),
    "foxplug_info": ((), (_I64,)),
}
HOST_IMPORT = ("foxplug", "host_call")
HOST_SIGNATURE = ((_I32, _I32, _I32, _I32), (_I64,))
_WASI = re.compile(r"^wasi")
_U64 = 0xFFFFFFFFFFFFFFFF


class _Ticker:
    """Advances the engine's epoch every TICK while some call may be running; sleeps when none can be."""

    def __init__(self, increment: Any) -> None:
        self._increment = increment
        self._until = 0.0
        self._sleeping = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="foxplug:wasm-epoch", daemon=True).start()

    def arm(self, deadline: float) -> None:
        if deadline > self._until:  # checked again under the lock: two actors must not lose the later one
            with self._lock:
                if deadline > self._until:
                    self._until = deadline
        if self._sleeping:
            self._wake.set()

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            self._sleeping = True  # before the re-check, so an `arm` in between is never missed
            if time.monotonic() > self._until + TICK:
                self._wake.wait()
                self._wake.clear()
                last = time.monotonic()
            self._sleeping = False
            time.sleep(TICK)
            # a loaded machine wakes this thread late: count the ticks that passed, not the wake-ups, so the
            # epoch keeps to the clock and a deadline is missed by one late wake-up at most, not a fraction
            passed = max(int((time.monotonic() - last) / TICK), 1)
            for _ in range(passed):
                self._increment()
            last += passed * TICK


@dataclass(frozen=True)
class _Runtime:
    """Process-wide: the wasmtime module, one engine (compiled modules belong to it), the ticker, the C calls."""

    wasmtime: Any
    engine: Any
    ticker: _Ticker
    call: Any
    set_deadline: Any
    memory_data: Any
    memory_size: Any
    caller_context: Any
    define_unchecked: Any
    callback_type: Any
    modules: OrderedDict[str, Any]
    lock: threading.Lock
    stable_memory: bool
    """Linear memories never move: their address is read once per instance."""


_runtime_lock = threading.Lock()


def _runtime() -> _Runtime:
    """The one runtime; two actors loading the first wasm plugins at once must not make two engines."""
    with _runtime_lock:
        return _make_runtime()


@cache
def _make_runtime() -> _Runtime:
    import wasmtime
    from wasmtime import _bindings

    config = wasmtime.Config()
    config.epoch_interruption = True
    stable = hasattr(wasmtime.Config, "memory_may_move")  # wasmtime-py >= 26
    if stable:
        config.memory_may_move = False  # so a memory's address can be kept between calls; only its size grows
    engine = wasmtime.Engine(config)
    dll, vp, size = _bindings.dll, ctypes.c_void_p, ctypes.c_size_t

    def c(name: str, restype: Any, *argtypes: Any) -> Any:
        """Our own prototype of a C function: plain integers in and out, no per-call type wrapping."""
        return ctypes.CFUNCTYPE(restype, *argtypes)((name, dll))

    modules: OrderedDict[str, Any] = OrderedDict()
    atexit.register(modules.clear)  # before interpreter teardown pulls wasmtime's ffi out from under them
    return _Runtime(
        wasmtime=wasmtime,
        engine=engine,
        ticker=_Ticker(engine.increment_epoch),
        call=c("wasmtime_func_call_unchecked", vp, vp, vp, vp, size, vp),
        set_deadline=c("wasmtime_context_set_epoch_deadline", None, vp, ctypes.c_uint64),
        memory_data=c("wasmtime_memory_data", vp, vp, vp),
        memory_size=c("wasmtime_memory_data_size", size, vp, vp),
        caller_context=c("wasmtime_caller_context", vp, vp),
        define_unchecked=c(
            "wasmtime_linker_define_func_unchecked",
            vp,
            vp,
            ctypes.c_char_p,
            size,
            ctypes.c_char_p,
            size,
            vp,
            vp,
            vp,
            vp,
        ),
        callback_type=ctypes.CFUNCTYPE(size, vp, vp, vp, size),
        modules=modules,
        lock=threading.Lock(),
        stable_memory=stable,
    )


def compile_module(data: bytes, ctx: PluginContext) -> Any:
    """The compiled module for these bytes: from the cache keyed by their hash, else compiled and cached."""
    runtime = _runtime()
    key = hashlib.sha256(data).hexdigest()
    with runtime.lock:
        module = runtime.modules.get(key)
        if module is not None:
            runtime.modules.move_to_end(key)
            return module
    try:
        module = runtime.wasmtime.Module(runtime.engine, data)
    except runtime.wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise PluginError(
            f"is not a valid WebAssembly module: {first}",
            plugin=ctx.plugin_id,
            file=ctx.path,
            hint="rebuild it (e.g. `make plugins`); a wasm plugin is compiled with clang --target=wasm32",
        ) from None
    with runtime.lock:
        runtime.modules[key] = module
        while len(runtime.modules) > MODULE_CACHE_SIZE:
            runtime.modules.popitem(last=False)
    return module


def _signature(kind: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A function type as ((param types), (result types)); None for anything that is not a function."""
    if not hasattr(kind, "params"):
        return None
    return tuple(str(t) for t in kind.params), tuple(str(t) for t in kind.results)


def _describe(kind: Any) -> str:
    signature = _signature(kind)
    if signature is None:
        return f"a {type(kind).__name__.removesuffix('Type').lower()}"
    params, results = signature
    return f"({', '.join(params)}) -> ({', '.join(results)})"


class WasmInstance(AbiInstance):
    kind = "wasm module"

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        super().__init__(ctx, limits)
        rt = self._rt = _runtime()
        wasmtime = rt.wasmtime
        module = compile_module(source.data, ctx)
        self._check_module(module)
        self._store = wasmtime.Store(rt.engine)
        self._store.set_limits(memory_size=limits.memory, table_elements=100_000, instances=1, tables=4, memories=1)
        self._context: int = ctypes.cast(self._store._context(), ctypes.c_void_p).value or 0
        self._trap = ctypes.c_void_p()
        self._trap_at = ctypes.addressof(self._trap)
        self._linker = wasmtime.Linker(rt.engine)
        self._callback = rt.callback_type(self._host_trampoline)
        if any((i.module, i.name) == HOST_IMPORT for i in module.imports):
            self._define_host_call()
        deadline = time.monotonic() + limits.timeout
        self._link.begin(deadline)
        self._arm(deadline)
        try:
            instance = self._linker.instantiate(self._store, module)
        except wasmtime.Trap as trap:
            raise self._trapped(trap, "<start>") from None
        except wasmtime.WasmtimeError as exc:
            message = str(exc).strip().splitlines()[0]
            if "memory" in message and "limit" in message:
                raise ResourceLimitExceeded(
                    f"plugin `{ctx.plugin_id}` ({ctx.path}) needs more than its {limits.memory}-byte memory "
                    f"limit to start: {message}",
                    plugin=ctx.plugin_id,
                ) from None
            raise PluginError(f"cannot instantiate: {message}", plugin=ctx.plugin_id, file=ctx.path) from None
        exports = instance.exports(self._store)
        self._instance = instance
        self._memory_handle = exports["memory"]._memory
        self._memory_at = ctypes.addressof(self._memory_handle)
        self._funcs = {name: exports[name] for name in SIGNATURES}  # kept alive: the addresses below point in
        at = {name: ctypes.addressof(func._func) for name, func in self._funcs.items()}
        self._alloc_at, self._free_at, self._call_at = at["foxplug_alloc"], at["foxplug_free"], at["foxplug_call"]
        self._info_at, self._version_at = at["foxplug_info"], at["foxplug_abi_version"]
        # one raw value array (4 slots of 16 bytes) per function, so that a host_call → foxplug_alloc inside
        # foxplug_call clobbers nothing of the outer call
        self._alloc_raw, self._free_raw, self._call_raw, self._small_raw = ((ctypes.c_uint64 * 8)() for _ in range(4))
        self._alloc_raw_at, self._free_raw_at, self._call_raw_at, self._small_raw_at = (
            ctypes.addressof(raw) for raw in (self._alloc_raw, self._free_raw, self._call_raw, self._small_raw)
        )
        self._region = (0, 0)
        self._memory(fresh=True)
        self._start(deadline)

    def _check_module(self, module: Any) -> None:
        """Only the ABI's exports with the ABI's signatures, and no import foxplug does not grant."""
        wasmtime = self._rt.wasmtime
        for imported in module.imports:
            where = f"{imported.module}.{imported.name}"
            if (imported.module, imported.name) != HOST_IMPORT:
                hint = (
                    "WASI is not granted to plugins: build with -nostdlib (clang --target=wasm32) and reach the "
                    "host through foxplug.host_call"
                    if _WASI.match(imported.module)
                    else "a wasm plugin may import only foxplug.host_call (docs/abi.md)"
                )
                raise self._refuse(f"imports {where}, which foxplug does not grant", hint)
            if _signature(imported.type) != HOST_SIGNATURE:
                raise self._refuse(
                    f"imports {where} as {_describe(imported.type)}", "it is (i32, i32, i32, i32) -> (i64): docs/abi.md"
                )
        exported = {e.name: e.type for e in module.exports}
        if not isinstance(exported.get("memory"), wasmtime.MemoryType):
            raise self._refuse("does not export its memory as `memory`", "see docs/abi.md")
        for name, signature in SIGNATURES.items():
            kind = exported.get(name)
            if kind is None:
                raise self._refuse(f"does not export {name}", "see docs/abi.md for the five ABI functions")
            if _signature(kind) != signature:
                params, results = signature
                raise self._refuse(
                    f"exports {name} as {_describe(kind)}",
                    f"it is ({', '.join(params)}) -> ({', '.join(results)}): docs/abi.md",
                )

    def _refuse(self, message: str, hint: str) -> PluginError:
        return PluginError(f"wasm module {message}", plugin=self._ctx.plugin_id, file=self._ctx.path, hint=hint)

    def _define_host_call(self) -> None:
        wasmtime = self._rt.wasmtime
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        self._host_type = wasmtime.FuncType([i32, i32, i32, i32], [i64])
        module, name = (part.encode() for part in HOST_IMPORT)
        error = self._rt.define_unchecked(
            ctypes.cast(self._linker.ptr(), ctypes.c_void_p),
            module,
            len(module),
            name,
            len(name),
            ctypes.cast(self._host_type.ptr(), ctypes.c_void_p),
            ctypes.cast(self._callback, ctypes.c_void_p),
            None,
            None,
        )
        if error:
            raise PluginError(f"cannot define foxplug.host_call: {self._error(error)}", plugin=self._ctx.plugin_id)

    def _host_trampoline(self, _env: int, caller: int, raw_at: int, _count: int) -> int:
        """wasmtime calls this for `foxplug.host_call`; the plugin's own functions are re-entered through
        the caller's context. Returns a trap (stopping the plugin) when the host must, else 0."""
        raw = (ctypes.c_uint64 * 8).from_address(raw_at)
        outer, self._context = self._context, self._rt.caller_context(caller)
        try:
            raw[0] = self.host_call(raw[0] & 0xFFFFFFFF, raw[2] & 0xFFFFFFFF, raw[4] & 0xFFFFFFFF, raw[6] & 0xFFFFFFFF)
        finally:
            self._context = outer
        if self._pending is None:
            return 0
        message = b"foxplug: the host stopped this call"
        trap = self._rt.wasmtime._ffi.wasmtime_trap_new(ctypes.create_string_buffer(message), len(message))
        return ctypes.cast(trap, ctypes.c_void_p).value or 0

    # -- primitives ------------------------------------------------------------------------------------------
    def _arm(self, deadline: float) -> None:
        self._rt.ticker.arm(deadline)
        self._rt.set_deadline(self._context, max(int((deadline - time.monotonic()) / TICK), 0) + 2)

    def _memory(self, fresh: bool = False) -> tuple[int, int]:
        if fresh:
            context, at = self._context, self._memory_at
            base = self._region[0] if self._rt.stable_memory and self._region[0] else None
            self._region = (base or self._rt.memory_data(context, at) or 0, self._rt.memory_size(context, at))
        elif not self._rt.stable_memory:
            return self._memory(fresh=True)
        return self._region

    # Each primitive inlines the unchecked call: this is the hot path (docs/abi.md, benchmarks/native_wasm.py).
    def _alloc(self, size: int) -> int:
        self._alloc_raw[0] = size
        error = self._rt.call(self._context, self._alloc_at, self._alloc_raw_at, 4, self._trap_at)
        if error or self._trap.value:
            self._fail(error, "foxplug_alloc")
        return self._alloc_raw[0] & 0xFFFFFFFF

    def _free(self, ptr: int, size: int) -> None:
        raw = self._free_raw
        raw[0], raw[2] = ptr, size
        error = self._rt.call(self._context, self._free_at, self._free_raw_at, 4, self._trap_at)
        if error or self._trap.value:
            self._fail(error, "foxplug_free")

    def _call(self, function: str, name_ptr: int, name_len: int, args_ptr: int, args_len: int) -> int:
        raw = self._call_raw
        raw[0], raw[2], raw[4], raw[6] = name_ptr, name_len, args_ptr, args_len
        error = self._rt.call(self._context, self._call_at, self._call_raw_at, 4, self._trap_at)
        if error or self._trap.value:
            self._fail(error, function)
        return raw[0]

    def _info(self) -> int:
        error = self._rt.call(self._context, self._info_at, self._small_raw_at, 4, self._trap_at)
        if error or self._trap.value:
            self._fail(error, "foxplug_info")
        return self._small_raw[0]

    def _abi_version(self) -> int:
        error = self._rt.call(self._context, self._version_at, self._small_raw_at, 4, self._trap_at)
        if error or self._trap.value:
            self._fail(error, "foxplug_abi_version")
        return self._small_raw[0] & 0xFFFFFFFF

    # -- failures --------------------------------------------------------------------------------------------
    def _error(self, error: int) -> str:
        ffi = self._rt.wasmtime._ffi
        pointer = ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t))
        return str(self._rt.wasmtime.WasmtimeError._from_ptr(pointer))

    def _fail(self, error: int | None, function: str) -> None:
        trap_at, self._trap.value = self._trap.value, None
        if self._pending is not None:  # the host stopped it from inside host_call: that error, not the trap
            if trap_at:
                self._take_trap(trap_at)
            pending, self._pending = self._pending, None
            raise pending
        if error:
            raise PluginError(f"{function}() failed: {self._error(error)}", plugin=self._ctx.plugin_id)
        raise self._trapped(self._take_trap(trap_at), function)

    def _take_trap(self, trap_at: int) -> Any:
        ffi = self._rt.wasmtime._ffi
        return self._rt.wasmtime.Trap._from_ptr(ctypes.cast(trap_at, ctypes.POINTER(ffi.wasm_trap_t)))

    def _trapped(self, trap: Any, function: str) -> FoxplugError:
        codes = self._rt.wasmtime.TrapCode
        code, message = trap.trap_code, trap.message
        if code == codes.INTERRUPT:
            return self._link.timeout(function)
        if code == codes.STACK_OVERFLOW:
            return self._link.out_of_memory(function, "stack (recursion too deep)")
        if code == codes.UNREACHABLE and self._memory_exhausted():
            # memory.grow returns -1 at the cap rather than trapping; the ABI asks a plugin to trap
            # (`unreachable`) when it cannot get memory, and this is how the host tells that trap apart
            return self._link.out_of_memory(function, f"{self._limits.memory}-byte memory limit")
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        # wasmtime puts the backtrace first and the cause ("wasm trap: integer divide by zero") last
        cause = lines[-1].removeprefix("wasm trap: ") if lines else "trap"
        return PluginError(
            f"{function}() trapped: {cause}",
            plugin=self._ctx.plugin_id,
            file=self._ctx.path,
            traceback=message,
        )

    def _memory_exhausted(self) -> bool:
        try:
            _, size = self._memory(fresh=True)
        except AttributeError:  # trapped before the instance existed
            return False
        return size + PAGE > self._limits.memory

    def memory_used(self) -> int | None:
        return self._memory(fresh=True)[1]

    def close(self) -> None:
        # the store owns the instance and its functions; drop it first, the callback it may call last
        self._funcs = {}
        self._instance = None
        store, self._store = self._store, None
        if store is not None:
            store.close()
        self._linker = None
        self._context = 0


BACKEND = Backend(
    name="wasm",
    extensions=(".wasm",),
    front_matter=re.compile(r"(?!)"),
    create=WasmInstance,
    binary=(".wasm",),
)
