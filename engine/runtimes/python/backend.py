"""Restricted-Python plugins: source compiled by `compiler`, run against the guards it calls into.

The deadline is the `_tick_()` the compiler inserts (and every iteration, through `_getiter_`): once it has
passed it raises on every tick, so a bare `except:` cannot swallow it for long. What plugin code may call comes
from `guards` (sizes checked before the GIL is held), `classes` (what it may change) and `modules`.
"""

from __future__ import annotations

import importlib
import re
import threading
import time
import traceback
import types
from typing import Any

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.errors import FoxplugError, PluginError, ResourceLimitExceeded
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.python.classes import PluginClasses
from engine.runtimes.python.compiler import PluginTransformer, problems
from engine.runtimes.python.fox import build_fox
from engine.runtimes.python.guards import DeadlineExceeded, Guards, SizeRefused
from engine.runtimes.python.modules import MODULES, ModuleView
from script_api.context import PluginContext

_COMPILING = threading.Lock()
"""One compile at a time: CPython 3.11 keeps the AST converter's recursion depth per interpreter, not per thread, so
two actors compiling at once can fail with `SystemError: AST constructor recursion depth mismatch`."""
MESSAGE_CHARS = 1000
"""An error message from plugin code is cut to this length: it travels to logs, the CLI and the breaker."""


class PythonInstance:
    reentrant = True
    """A call may run while another of this instance's calls waits in fox.plugins.call (engine.actor)."""

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._label = source.label
        with _COMPILING:
            result = compile_restricted_exec(source.text, filename=source.label, policy=PluginTransformer)
        if result.errors:
            raise _compile_error(result.errors, ctx, source.label)
        guards = self._guards = Guards(lambda: ctx.deadline, limits.memory)
        classes = self._classes = PluginClasses(guards)
        self._modules: dict[str, ModuleView] = {}
        self._globals: dict[str, Any] = {
            "__builtins__": {**guards.builtins(self._import), **classes.builtins()},
            "__name__": ctx.plugin_id,
            "__metaclass__": classes.make,
            "_getattr_": guards.getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": guards.iterate,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": classes.write,
            "_augitem_": classes.augment_item,
            "_augattr_": classes.augment_attribute,
            "_super_": classes.super_attribute,
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
            allowed = ", ".join(sorted(m for m in MODULES if not m.startswith("_")))
            raise ImportError(f"module {name!r} is not available to plugins (allowed: {allowed})")
        if name not in self._modules:
            self._modules[name] = ModuleView(name, MODULES[name](self._guards, self._classes))
        view = self._modules[name]
        for wanted in fromlist or ():
            view.offer(wanted)
        return view

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
            self._guards.printed(exc, "the error message")
            text = str(exc)
        except BaseException as failure:  # whatever the message does (a plugin __str__ past the deadline too)
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
    """Every refusal at once, each as `file:line: message — hint`, so one check shows the author all of them."""
    found = problems(errors)
    first_line, first, hint = found[0]
    if len(found) == 1:
        return PluginError(first, plugin=ctx.plugin_id, file=label, line=first_line, hint=hint)
    listed = "\n".join(f"  {label}:{line}: {message}" + (f" — {hint}" if hint else "") for line, message, hint in found)
    return PluginError(
        f"{len(found)} problems the restricted-Python sandbox refuses:\n{listed}",
        plugin=ctx.plugin_id,
        file=label,
        line=first_line,
    )


BACKEND = Backend(
    name="python",
    extensions=(".py",),
    front_matter=re.compile(r'\A(?:#![^\n]*\n)?\s*(?P<q>"""|\'\'\')---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?P=q)', re.S),
    create=PythonInstance,
    family="script",
    isolatable=True,
)
