"""Native plugins: trusted code running inside the host process, behind the same `fox` API and gate.

Two forms. A **native Python** plugin is an ordinary module or package (a folder plugin with `runtime: native`,
or an installed distribution advertising an entry point in the group `foxplug.plugins`): it is imported, not
sandboxed — it can do anything the host can, so install only code you trust. A **native library** (`.so`,
`.dylib`, `.dll`) speaks the binary ABI of docs/abi.md through ctypes, like a wasm module but without its walls.

Neither can be interrupted: a call that never returns keeps its actor thread, and the caller gets
PluginTimeout after the deadline plus the engine's grace period.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import inspect
import itertools
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from engine.errors import FoxplugError, PluginError
from engine.runtimes.abi import AbiInstance
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.python.fox import build_fox
from script_api.context import PluginContext

ENTRY_POINT_GROUP = "foxplug.plugins"
LIBRARY_SUFFIXES = (".so", ".dylib", ".dll")

_serial = itertools.count(1)


# -- installed distributions ------------------------------------------------------------------------------
def _module_path(module: str) -> Path | None:
    """Where an importable module lives — its file, or its package folder — found without running it."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None:
        return None
    if not rest:
        if spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations))).resolve()
        return Path(spec.origin).resolve() if spec.origin else None
    folder = Path(next(iter(spec.submodule_search_locations or ()), ""))
    for index, part in enumerate(rest):
        package, file = folder / part, folder / f"{part}.py"
        if (package / "__init__.py").is_file():
            folder = package
        elif file.is_file() and index == len(rest) - 1:
            return file.resolve()
        else:
            return None
    return folder.resolve()


def discover_installed() -> dict[Path, EntryPoint]:
    """Installed plugins (entry points in `foxplug.plugins`), by the path the loader reads each from."""
    found = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        path = _module_path(entry_point.module)
        if path is not None:
            found[path] = entry_point
    return found


# -- native Python ------------------------------------------------------------------------------------------
def _import_file(source: Source, name: str, fox: Any) -> types.ModuleType:
    """A fresh module for every instance (so reloads and rollbacks run the new code), `fox` set first."""
    package = source.path.is_dir()
    location = source.path / "__init__.py" if package else source.path
    spec = importlib.util.spec_from_file_location(
        name, location, submodule_search_locations=[str(source.path)] if package else None
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.fox = fox  # type: ignore[attr-defined]
    sys.modules[name] = module  # relative imports inside a package look their parent up here
    spec.loader.exec_module(module)
    return module


def _share_fox(package: str, fox: Any) -> None:
    """`fox` as a global of every module of the plugin's package that is loaded (the entry module has it
    from the start; its submodules get it once the entry module has imported them)."""
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(package + "."):
            module.fox = fox  # type: ignore[attr-defined]


def _public_functions(target: Any, module_name: str | None) -> dict[str, Callable[..., Any]]:
    """What the host may call: public callables — of a module, only those defined in it (not its imports)."""
    found = {}
    for name, value in vars(target).items() if hasattr(target, "__dict__") else ():
        if name.startswith("_") or not callable(value) or inspect.isclass(value) or inspect.ismodule(value):
            continue
        defined_in = getattr(value, "__module__", None) or ""
        if module_name is None or defined_in == module_name or defined_in.startswith(module_name + "."):
            found[name] = value
    if not inspect.ismodule(target):
        for name in dir(type(target)):
            if not name.startswith("_") and callable(member := getattr(target, name)):
                found.setdefault(name, member)
    return found


class NativeModule:
    """A trusted Python module, package or installed entry point."""

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._root = source.path
        self._module_name: str | None = None
        fox = build_fox(self._link, limits)
        self._link.begin(time.monotonic() + limits.timeout)
        entry_point = source.entry_point
        try:
            if entry_point is not None:
                target = entry_point.load()  # imported once per process, like any installed package
                module = target if inspect.ismodule(target) else sys.modules[entry_point.module]
                package = module.__name__ if hasattr(module, "__path__") else module.__package__ or module.__name__
                _share_fox(package, fox)
                module.fox = fox  # type: ignore[attr-defined]
                owner = package if target is module else None
            else:
                self._module_name = f"_foxplug_native_{re.sub(r'[^a-z0-9_]', '_', ctx.plugin_id)}_{next(_serial)}"
                target = _import_file(source, self._module_name, fox)
                _share_fox(self._module_name, fox)
                owner = self._module_name
        except FoxplugError:
            self._forget()
            raise
        except Exception as exc:
            self._forget()
            raise self._error(exc, "<load>") from None
        self._functions = _public_functions(target, owner)

    def _error(self, exc: BaseException, function: str) -> PluginError:
        """The plugin's own exception, at the plugin's own frame (a module of a package, maybe)."""
        root = str(self._root)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
        file, line = (frames[-1].filename, frames[-1].lineno) if frames else (self._ctx.path, None)
        if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root):
            file, line = exc.filename, exc.lineno
        trace = "".join(traceback.format_list(frames)) + f"{type(exc).__name__}: {exc}"
        return PluginError(
            f"{function}() failed: {type(exc).__name__}: {exc}",
            plugin=self._ctx.plugin_id,
            file=file,
            line=line,
            traceback=trace,
        )

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            raise self._link.missing(name)
        self._link.begin(deadline)
        try:
            value = fn(*args)
        except FoxplugError:
            raise
        except Exception as exc:
            raise self._error(exc, name) from None
        return self._link.plain_result(value, name, self._limits.max_result)

    def exports(self) -> frozenset[str]:
        return frozenset(self._functions)

    def memory_used(self) -> int | None:
        return None

    def _forget(self) -> None:
        if self._module_name is not None:
            prefix = self._module_name + "."
            for name in [n for n in sys.modules if n == self._module_name or n.startswith(prefix)]:
                del sys.modules[name]

    def close(self) -> None:
        self._functions = {}
        self._forget()


# -- native libraries -----------------------------------------------------------------------------------------
_HOST_CALL = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)
_copies: str | None = None


def _private_copy(source: Source) -> str:
    """dlopen a private copy: every instance gets its own globals (as a wasm instance has its own memory),
    and rebuilding the file in place can never change the code under a running plugin."""
    global _copies
    if _copies is None:
        _copies = tempfile.mkdtemp(prefix="foxplug-native-")
        atexit.register(shutil.rmtree, _copies, True)
    digest = hashlib.sha256(source.data).hexdigest()[:16]
    path = os.path.join(_copies, f"{next(_serial)}-{digest}{source.path.suffix}")
    with open(path, "wb") as file:
        file.write(source.data)
    return path


class NativeLibrary(AbiInstance):
    kind = "native library"

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        super().__init__(ctx, limits)
        copy = _private_copy(source)
        try:
            self._lib = ctypes.CDLL(copy, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        except OSError as exc:
            raise PluginError(
                f"cannot load native library: {str(exc).replace(copy, source.path.name)}",
                plugin=ctx.plugin_id,
                file=str(source.path),
                hint="rebuild it for this machine (e.g. `make plugins`)",
            ) from None
        finally:
            with contextlib.suppress(OSError):  # the mapping stays; nothing is left behind
                os.unlink(copy)
        lib, u32, u64 = self._lib, ctypes.c_uint32, ctypes.c_uint64
        self._abi_version = self._function("foxplug_abi_version", ctypes.c_int32)
        self._alloc = self._function("foxplug_alloc", u32, u32)
        self._free = self._function("foxplug_free", None, u32, u32)
        self._raw_call = self._function("foxplug_call", u64, u32, u32, u32, u32)
        self._info = self._function("foxplug_info", u64)
        memory = self._function("foxplug_memory", ctypes.c_void_p, ctypes.POINTER(u32))
        size = u32()
        base = memory(ctypes.byref(size))
        if not base:
            raise PluginError("foxplug_memory() returned no memory", plugin=ctx.plugin_id, file=ctx.path)
        self._region = (base, size.value)
        self._host = _HOST_CALL(self.host_call)
        if hasattr(lib, "foxplug_host"):
            self._function("foxplug_host", None, _HOST_CALL)(self._host)
        self._start(time.monotonic() + limits.timeout)

    def _function(self, name: str, restype: Any, *argtypes: Any) -> Any:
        try:
            function = getattr(self._lib, name)
        except AttributeError:
            raise PluginError(
                f"native library does not export {name}",
                plugin=self._ctx.plugin_id,
                file=self._ctx.path,
                hint="see docs/abi.md for the functions a native plugin exports",
            ) from None
        function.restype, function.argtypes = restype, argtypes
        return function

    def _memory(self, fresh: bool = False) -> tuple[int, int]:
        return self._region  # fixed for the library's lifetime (docs/abi.md)

    def _call(self, function: str, name_ptr: int, name_len: int, args_ptr: int, args_len: int) -> int:
        return self._raw_call(name_ptr, name_len, args_ptr, args_len)

    def memory_used(self) -> int | None:
        return None

    def close(self) -> None:
        lib, self._lib = self._lib, None
        self._alloc = self._free = self._raw_call = self._info = self._abi_version = None  # type: ignore[assignment]
        if lib is not None and os.name == "posix":
            import _ctypes

            _ctypes.dlclose(lib._handle)


def create(source: Source, ctx: PluginContext, limits: Limits) -> AbiInstance | NativeModule:
    if source.path.suffix in LIBRARY_SUFFIXES:
        return NativeLibrary(source, ctx, limits)
    return NativeModule(source, ctx, limits)


BACKEND = Backend(
    name="native",
    extensions=(".py", *LIBRARY_SUFFIXES),
    front_matter=re.compile(r'\A(?:#![^\n]*\n)?\s*(?P<q>"""|\'\'\')---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?P=q)', re.S),
    create=create,
    binary=LIBRARY_SUFFIXES,
    package_entry=True,
)
