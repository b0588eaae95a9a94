"""Restricted-Python plugins: RestrictedPython's compiler, plus a deadline tick and size guards it inserts.

CPython drops a `sys.settrace` tracer once it raises, and `setitimer` only works in the main thread, so the
deadline is a `_tick_()` call the compiler inserts at the top of every `while` body, function and lambda (and
into every iteration through `_getiter_`). Once the deadline has passed it raises on every tick, so a bare
`except:` cannot swallow it for long. Operators that can build huge values are compiled into `_binop_` calls,
and what plugin code may call comes from `python_guards`, which refuses oversized work before it holds the GIL.
"""

from __future__ import annotations

import ast
import importlib
import re
import time
import traceback
import types
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.errors import FoxplugError, PluginError, ResourceLimitExceeded
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.python.fox import build_fox
from engine.runtimes.python.guards import DeadlineExceeded, Guards, SizeRefused
from engine.runtimes.python.modules import MODULES, ModuleView
from script_api.context import PluginContext

_GUARDED_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%", ast.Div: "/", ast.FloorDiv: "//"}  # fmt: skip
MESSAGE_CHARS = 1000
"""An error message from plugin code is cut to this length: it travels to logs, the CLI and the breaker."""


def _call(name: str, at: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, at))


class TickingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus deadline ticks and the guarded operators and f-string fields."""

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", node)), node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", node)), node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(ast.Or(), [_call("_tick_", node), node.body]), node.body)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", node, ast.Constant(symbol), node.left, node.right)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = super().visit_FormattedValue(node)
        spec = node.format_spec or ast.Constant(None)
        field = _call("_format_", node, node.value, ast.Constant(node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(field, -1, None), node)


class PythonInstance:
    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._label = source.label
        result = compile_restricted_exec(source.text, filename=source.label, policy=TickingTransformer)
        if result.errors:
            raise _compile_error(result.errors, ctx, source.label)
        guards = self._guards = Guards(lambda: ctx.deadline, limits.memory)
        self._modules: dict[str, ModuleView] = {}
        self._globals: dict[str, Any] = {
            "__builtins__": guards.builtins(self._import),
            "__name__": ctx.plugin_id,
            "__metaclass__": type,
            "_getattr_": guards.getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": guards.iterate,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": full_write_guard,
            "_inplacevar_": guards.operate,
            "_binop_": guards.operate,
            "_format_": guards.format,
            "_apply_": lambda f, *args, **kwargs: f(*args, **kwargs),
            "_print_": self._printer,
            "_tick_": guards.tick,
            "fox": build_fox(self._link, limits),
        }
        self._run(lambda: exec(result.code, self._globals), "<load>", time.monotonic() + limits.timeout)
        self._functions = {
            name: value
            for name, value in self._globals.items()
            if isinstance(value, types.FunctionType) and not name.startswith("_")
        }

    def _import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        """This instance's own view of an allowed module (so nothing one plugin does to it reaches another)."""
        if type(fromlist) is list:  # PyImport_Import from C (`time` for datetime.strftime): its caller keeps it
            return importlib.import_module(name)
        if level != 0 or name not in MODULES:
            allowed = ", ".join(sorted(MODULES))
            raise ImportError(f"module {name!r} is not available to plugins (allowed: {allowed})")
        if name not in self._modules:
            self._modules[name] = ModuleView(**MODULES[name](self._guards))
        return self._modules[name]

    def _printer(self, _getattr_: Any = None) -> Any:
        link, text = self._link, self._guards.text

        class Printer:
            def _call_print(self, *objects: Any, sep: str = " ", **_: Any) -> None:
                link("log.info", (text(sep).join(text(o) for o in objects),))

        return Printer()

    def _run(self, thunk: Any, name: str, deadline: float) -> Any:
        """Run plugin code. What escapes it is raised as a host error *outside* the handler, so that it carries
        nothing of the plugin (no frames, no plugin values in `__context__`) to the host's thread."""
        self._link.begin(deadline)
        try:
            value = thunk()
        except FoxplugError as error:  # a host function's error, raised through plugin code
            error.__context__ = error.__cause__ = None
            failure: FoxplugError = error.with_traceback(None)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the plugin's own, never the host's
            failure = self._failure(exc, name)
        else:
            if time.monotonic() <= deadline:
                return value
            failure = self._link.timeout(name)  # the tick was swallowed and the code then returned normally
        raise failure

    def _failure(self, exc: BaseException, name: str) -> FoxplugError:
        if isinstance(exc, DeadlineExceeded):
            return self._link.timeout(name)
        if isinstance(exc, RecursionError):
            return self._link.out_of_memory(name, "stack (recursion too deep)")
        frames = self._frames(exc)
        line = frames[-1].lineno if frames else None
        if isinstance(exc, SizeRefused):
            return ResourceLimitExceeded(
                f"plugin `{self._ctx.plugin_id}` exceeded its {self._limits.memory}-byte memory limit in "
                f"{name}(): {exc}",
                plugin=self._ctx.plugin_id,
                file=self._label,
                line=line,
                hint="work on smaller pieces; in-thread Python plugins have no other memory limit",
            )
        if isinstance(exc, MemoryError):
            return self._link.out_of_memory(name, "memory")
        message = f"{type(exc).__name__}: {self._message(exc)}"
        trace = "".join(traceback.format_list(frames)) + message
        return self._link.script_error(message, name, line=line, traceback=trace)

    def _frames(self, exc: BaseException) -> list[traceback.FrameSummary]:
        return [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == self._label]

    def _message(self, exc: BaseException) -> str:
        """str(exc), which runs on plugin-made values: cut short, and never an error of its own."""
        try:
            self._guards.printed(exc.args, "the error message")
            text = str(exc)
        except Exception as failure:  # whatever the message does, the error is still reported
            return f"(its message could not be shown: {type(failure).__name__})"
        return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            raise self._link.missing(name)
        value = self._run(lambda: fn(*args), name, deadline)
        return self._link.plain_result(value, name, self._limits.max_result)

    def exports(self) -> frozenset[str]:
        return frozenset(self._functions)

    def memory_used(self) -> int | None:
        return None

    def close(self) -> None:
        self._functions.clear()
        self._globals.clear()
        self._modules.clear()


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
    family="script",
    isolatable=True,
)
