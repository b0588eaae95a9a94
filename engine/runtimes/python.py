"""Restricted-Python plugins: RestrictedPython's guards, an allow-list of modules, and a deadline tick.

CPython drops a `sys.settrace` tracer once it raises, and `setitimer` only works in the main thread, so the
deadline is a `_tick_()` call the compiler inserts into every `while` body and function entry (and into every
iteration through `_getiter_`). Once the deadline has passed it raises on every tick, so a bare `except:`
cannot swallow it for long. Native stalls (`10**10**10`) need `isolation: process`.
"""

from __future__ import annotations

import ast
import operator
import re
import time
import traceback
import types
from collections.abc import Iterable, Iterator
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec, limited_builtins
from RestrictedPython import safe_builtins as rp_safe_builtins
from RestrictedPython import utility_builtins as rp_utility_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

from engine.errors import FoxplugError, PluginError
from engine.marshal import Junk, to_plain
from engine.runtimes.base import Backend, HostLink, Limits, Source
from script_api.api import host_values, namespaces
from script_api.context import PluginContext

SAFE_MODULES = frozenset(
    {
        "math",
        "json",
        "re",
        "datetime",
        "random",
        "string",
        "itertools",
        "functools",
        "collections",
        "statistics",
    }
)
_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}  # fmt: skip


class DeadlineExceeded(BaseException):
    """Raised by `_tick_`; a BaseException so that `except Exception` in plugin code does not catch it."""


def _tick_call(at: ast.AST) -> ast.Expr:
    call = ast.Expr(ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[]))
    return ast.fix_missing_locations(ast.copy_location(call, at))


class TickingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus a deadline tick at the top of every loop body and function."""

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, _tick_call(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_call(node))
        return node


def _module_view(name: str) -> types.SimpleNamespace:
    """A safe module's public functions and constants only: no submodules it happens to import."""
    module = __import__(name)
    public = {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("_") and not isinstance(value, types.ModuleType) and key != "sleep"
    }
    return types.SimpleNamespace(**public)


_MODULE_VIEWS = {name: _module_view(name) for name in SAFE_MODULES}


def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if level == 0 and name in _MODULE_VIEWS:
        return _MODULE_VIEWS[name]
    raise ImportError(f"module {name!r} is not available to plugins (allowed: {', '.join(sorted(SAFE_MODULES))})")


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


_BUILTINS = {
    **rp_safe_builtins,
    **limited_builtins,
    **rp_utility_builtins,
    "__import__": _import,
    "dict": dict,
    "list": list,
    "enumerate": enumerate,
    "max": max,
    "min": min,
    "sum": sum,
    "any": any,
    "all": all,
    "map": map,
    "filter": filter,
    "reversed": reversed,
    "sorted": sorted,
    "zip": zip,
}
for _module in ("string", "math", "random", "whrandom", "DateTime"):  # modules come through `import` only
    _BUILTINS.pop(_module, None)


class PythonInstance:
    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._label = source.label
        result = compile_restricted_exec(source.text, filename=source.label, policy=TickingTransformer)
        if result.errors:
            raise _compile_error(result.errors, ctx, source.label)
        self._globals: dict[str, Any] = {
            "__builtins__": _BUILTINS,
            "__name__": ctx.plugin_id,
            "__metaclass__": type,
            "_getattr_": safer_getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": self._iterate,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": full_write_guard,
            "_inplacevar_": _inplacevar,
            "_apply_": lambda f, *args, **kwargs: f(*args, **kwargs),
            "_print_": self._printer,
            "_tick_": self._tick,
            "fox": self._fox(),
        }
        self._run(lambda: exec(result.code, self._globals), "<load>", time.monotonic() + limits.timeout)
        self._functions = {
            name: value
            for name, value in self._globals.items()
            if isinstance(value, types.FunctionType) and not name.startswith("_")
        }

    def _fox(self) -> types.SimpleNamespace:
        def function(name: str) -> Any:
            def call(*args: Any) -> Any:
                try:
                    plain = tuple(to_plain(a, self._limits.max_result) for a in args)
                except Junk as junk:
                    raise PluginError(f"fox.{name}: {junk.where('argument')}", plugin=self._ctx.plugin_id) from None
                return self._link(name, plain)

            call.__name__ = name
            return call

        groups = {
            group: types.SimpleNamespace(**{leaf: function(f"{group}.{leaf}") for leaf in leaves})
            for group, leaves in namespaces().items()
        }
        fox = types.SimpleNamespace(**groups)
        for name, value in host_values(self._ctx).items():
            group, _, leaf = name.rpartition(".")
            setattr(getattr(fox, group) if group else fox, leaf, to_plain(value, 1 << 30))
        return fox

    def _printer(self, _getattr_: Any = None) -> Any:
        link = self._link

        class Printer:
            def _call_print(self, *objects: Any, sep: str = " ", **_: Any) -> None:
                link("log.info", (sep.join(str(o) for o in objects),))

        return Printer()

    def _tick(self) -> None:
        if time.monotonic() > self._ctx.deadline:
            raise DeadlineExceeded

    def _iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        tick = self._tick
        for item in iterable:
            tick()
            yield item

    def _run(self, thunk: Any, name: str, deadline: float) -> Any:
        self._link.begin(deadline)
        try:
            value = thunk()
        except DeadlineExceeded:
            raise self._link.timeout(name) from None
        except RecursionError:
            raise self._link.out_of_memory(name, "stack (recursion too deep)") from None
        except MemoryError:
            raise self._link.out_of_memory(name, "memory") from None
        except FoxplugError:
            raise
        except Exception as exc:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == self._label]
            trace = "".join(traceback.format_list(frames)) + f"{type(exc).__name__}: {exc}"
            raise self._link.script_error(
                f"{type(exc).__name__}: {exc}",
                name,
                line=frames[-1].lineno if frames else None,
                traceback=trace,
            ) from None
        if time.monotonic() > deadline:  # the tick was swallowed and the code then returned normally
            raise self._link.timeout(name)
        return value

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            raise self._link.missing(name)
        value = self._run(lambda: fn(*args), name, deadline)
        try:
            return to_plain(value, self._limits.max_result)
        except Junk as junk:
            raise self._link.junk(junk, name) from None

    def exports(self) -> frozenset[str]:
        return frozenset(self._functions)

    def memory_used(self) -> int | None:
        return None

    def close(self) -> None:
        self._functions.clear()
        self._globals.clear()


def _compile_error(errors: tuple[str, ...], ctx: PluginContext, label: str) -> PluginError:
    first = errors[0]
    match = re.search(r"[Ll]ine (\d+)", first)
    return PluginError(
        first,
        plugin=ctx.plugin_id,
        file=label,
        line=int(match.group(1)) if match else None,
        hint="restricted Python forbids names starting with `_`, imports outside the allow-list, and exec/eval"
        if "_" in first or "import" in first
        else None,
    )


BACKEND = Backend(
    name="python",
    extensions=(".py",),
    front_matter=re.compile(r'\A(?:#![^\n]*\n)?\s*(?P<q>"""|\'\'\')---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?P=q)', re.S),
    create=PythonInstance,
)
