"""JavaScript plugins in QuickJS (quickjs-ng): CommonJS or ES module, sync or async functions."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import quickjs

from engine.errors import FoxplugError, PluginError
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.marshal import Junk, Oversize, check_unicode, from_json
from script_api.api import host_values, namespaces
from script_api.context import PluginContext

_SANDBOX = files("engine.runtimes").joinpath("sandbox.js").read_text(encoding="utf-8")
_WEB = files("engine.runtimes").joinpath("web.js").read_text(encoding="utf-8")
WEB_PIECES: dict[str, re.Pattern[str]] = {
    "url": re.compile(r"\bURL(?:SearchParams)?\b"),
    "web-text": re.compile(r"\bText(?:En|De)coder\b"),
    "web-crypto": re.compile(r"\bcrypto\b"),
    "web-clone": re.compile(r"\bstructuredClone\b"),
    "web-events": re.compile(r"\b(?:Event|EventTarget|AbortController|AbortSignal)\b"),
}
"""Web globals beyond web.js's core, each parsed into a context only when the plugin's source names one of
them (or its flavour's glue or a library it loads uses it): parsing is what they cost, and most plugins use none."""
LIBRARY_PIECES = {"crypto-js": ("web-crypto",)}
"""The web pieces an npm library itself uses (crypto-js draws on crypto.getRandomValues)."""
_PIECE_FILES = {
    "web-text": "web_text.js",
    "web-crypto": "web_crypto.js",
    "web-clone": "web_clone.js",
    "web-events": "web_events.js",
}
_EXPORT = re.compile(r"^\s*export\s", re.M)
_EXPORT_DECL = re.compile(
    r"^\s*export\s+(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)", re.M
)
_EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}", re.M)
_EXPORT_DEFAULT = re.compile(r"^(\s*)export\s+default\s", re.M)
_OUT_OF_MEMORY = ("out of memory", "Failed obtaining QuickJS error string")
_SANDBOX_FRAME = re.compile(r"^\s+at __fox_\w* ")
_NATIVE_FRAME = re.compile(r"^\s+at \S+ \(native\)$")


def _plugin_frames(trace: str) -> str:
    """Drop the sandbox's frames (its functions are named __fox_*) and the built-ins they called."""
    lines = trace.split("\n")
    return "\n".join(
        line
        for line, caller in zip(lines, [*lines[1:], ""], strict=True)
        if not _SANDBOX_FRAME.match(line) and not (_NATIVE_FRAME.match(line) and _SANDBOX_FRAME.match(caller))
    )


def _out_of_memory(message: str) -> bool:
    # Out of memory, QuickJS may throw `null`, or lose the exception (its internal `uninitialized` value);
    # through the sandbox's describe() those read "Error: null" and "Error: [uninitialized]".
    return message.strip() in ("", "null", "Error: null", "Error: [uninitialized]") or any(
        s in message for s in _OUT_OF_MEMORY
    )


def _module_source(text: str) -> str:
    """Make an ES module hand its exports to the host: names are collected and assigned at the end."""
    names = {name: name for name in _EXPORT_DECL.findall(text)}
    for group in _EXPORT_LIST.findall(text):
        for item in filter(None, (part.strip() for part in group.split(","))):
            local, _, public = item.partition(" as ")
            names[(public or local).strip()] = local.strip()
    pairs = ", ".join(f"{json.dumps(public)}: {local}" for public, local in names.items())
    tail = f"\n;globalThis.__fox_module_exports = Object.assign({{}}, {{{pairs}}}"
    if _EXPORT_DEFAULT.search(text):
        text = _EXPORT_DEFAULT.sub(r"\1const __fox_default = ", text, count=1)
        tail += ", __fox_default"
    return text + tail + ");\n"


@cache
def library_source(name: str) -> str:
    """A web piece, or a bundled npm library (`make plugins` builds them with esbuild from
    engine/runtimes/compat/npm)."""
    if name in _PIECE_FILES:
        return files("engine.runtimes").joinpath(_PIECE_FILES[name]).read_text(encoding="utf-8")
    bundle = files("engine.runtimes").joinpath("compat", "bundles", f"{name}.js")
    try:
        return bundle.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PluginError(
            f"the npm library `{name}` has not been built",
            hint="run `make plugins` (needs node and npm: it installs engine/runtimes/compat/npm and bundles it)",
        ) from None


@dataclass(frozen=True, slots=True)
class Flavour:
    """What a kind of JavaScript plugin gets around its source: plain foxplug JS, or another ecosystem's
    plugin shape (engine/runtimes/compat) over the same backend."""

    libraries: Callable[[str], tuple[str, ...]] = lambda text: ()
    """npm bundles (by name) the source needs in its context, evaluated before it; with the web pieces they
    use (`crypto-js` → `web-crypto`)."""
    glue: Callable[[str], str] = lambda text: ""
    """JavaScript (for this source) evaluated after the web globals and the libraries, before the plugin."""
    pieces: tuple[str, ...] = ()
    """Web pieces (WEB_PIECES) the glue itself uses."""
    wrap: Callable[[str, Source], str] | None = None
    """The script actually evaluated for the plugin's text (None: the text itself, as script or ES module)."""
    ready: str | None = None
    """An exported function run once the source has been evaluated, within the load deadline (LX sources
    finish initialising asynchronously); the exports are read after it settled."""
    unready: str = "the plugin never finished initialising"
    """The load error when `ready` never settles."""


PLAIN = Flavour()


class JsInstance:
    reentrant = True
    """A call may run while another of this instance's calls waits in fox.plugins.call (engine.running.actor)."""

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits, flavour: Flavour = PLAIN) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        self._label = source.label
        self._unsettled = flavour.unready
        glue = flavour.glue(source.text)
        libraries = flavour.libraries(source.text)
        pieces = [name for name, names in WEB_PIECES.items() if names.search(source.text)]
        pieces += [*flavour.pieces, *(piece for library in libraries for piece in LIBRARY_PIECES.get(library, ()))]
        bundles = [library_source(name) for name in dict.fromkeys((*pieces, *libraries))]
        self._js = quickjs.Context()
        self._js.set_memory_limit(limits.memory)
        self._js.set_max_stack_size(limits.max_depth * 4096)
        self._js.eval(_SANDBOX)(json.dumps(namespaces()), json.dumps(host_values(ctx)))
        self._js.eval(_WEB)(os.urandom(32).hex())  # the key of the context's crypto.getRandomValues stream
        self._invoke = self._js.get("__fox_invoke")
        self._poll = self._js.get("__fox_poll")
        self._take = self._js.get("__fox_take")
        self._settle = self._js.get("__fox_settle")
        self._timers_next = self._js.get("__fox_timers_next")
        self._timers_run = self._js.get("__fox_timers_run")
        self._link.begin(time.monotonic() + limits.timeout)
        try:
            self._arm("<load>")
            for bundle in bundles:
                self._js.eval(bundle)
            if glue:
                self._js.eval(glue)
            if flavour.wrap is not None:
                self._js.eval(flavour.wrap(source.text, source))
            elif _EXPORT.search(source.text):
                self._js.module(_module_source(source.text))
            else:
                self._js.eval(source.text)
            self._serve(None, "<load>", wait_timers=False)
            self._arm("<load>")
            self._functions = self._read_exports()
            if flavour.ready is not None:
                self._run(flavour.ready, (), self._ctx.deadline, "<load>")
                self._functions = self._read_exports() - {flavour.ready}
        except quickjs.JSException as exc:
            raise self._classify(str(exc), "<load>") from None

    def _read_exports(self) -> frozenset[str]:
        return frozenset(filter(None, self._js.get("__fox_exports")().split("\n")))

    def _arm(self, name: str) -> None:
        """Give the next JS slice what is left of the deadline (QuickJS counts process CPU time per entry)."""
        left = self._ctx.deadline - time.monotonic()
        if left <= 0:
            raise self._link.timeout(name)
        self._js.set_time_limit(left)

    def _serve(self, out: str | None, name: str, call: int = 0, *, wait_timers: bool = True) -> str | None:
        """Run jobs and service host calls until call number `call` has settled and no host call is left queued;
        while it waits on nothing but a timer, sleep until the timer is due (never past the deadline) and run it."""
        js = self._js
        while True:
            while js.execute_pending_job():
                self._arm(name)
            batch = self._take()
            if batch is not None:
                for request_id, function, args_json in json.loads(batch):
                    self._answer(request_id, function, args_json)
                    self._arm(name)
                continue
            if out is None:
                out = self._poll(call)
            if out is None and wait_timers and (due := self._timers_next()) >= 0:
                left = self._ctx.deadline - time.monotonic()
                if due / 1000 >= left:
                    time.sleep(max(left, 0))
                    raise self._link.timeout(name)
                time.sleep(due / 1000)
                self._arm(name)
                self._timers_run()
                continue
            return out

    def _answer(self, request_id: int, function: str, args_json: str) -> None:
        try:
            if len(args_json) > self._limits.max_result:  # as for Lua: the host copies no more than a result
                raise Oversize(self._limits.max_result)
            args = from_json(args_json)
            check_unicode(args, args_json)
            payload, ok = json.dumps(self._link(function, tuple(args))), True
        except FoxplugError as error:
            payload, ok = json.dumps({"name": type(error).__name__, "message": str(error)}), False
        except Junk as junk:
            payload, ok = (
                json.dumps({"name": "TypeError", "message": f"fox.{function}: {junk.where('argument')}"}),
                False,
            )
        except (TypeError, ValueError, RecursionError) as error:  # the host's answer is not JSON
            payload, ok = json.dumps({"name": "TypeError", "message": f"fox.{function}: {error}"}), False
        self._arm(function)
        self._settle(request_id, ok, payload)

    def _classify(self, message: str, name: str) -> FoxplugError:
        message = _plugin_frames(message).replace("<input>", self._label)
        if "interrupted" in message.split("\n", 1)[0] or time.monotonic() > self._ctx.deadline:
            return self._link.timeout(name)
        if _out_of_memory(message):
            return self._link.out_of_memory(name, f"{self._limits.memory}-byte memory limit")
        if "stack overflow" in message or "call stack size exceeded" in message:
            return self._link.out_of_memory(name, "stack (recursion too deep)")
        match = re.search(re.escape(self._label) + r":(\d+)", message)
        first = message.split("\n", 1)[0]
        if name == "<load>" and first.startswith("SyntaxError"):
            return PluginError(first, plugin=self._ctx.plugin_id, file=self._label, line=_line(match))
        return self._link.script_error(message, name, line=_line(match), traceback=message)

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        if name not in self._functions:
            raise self._link.missing(name)
        return self._run(name, args, deadline, name)

    def _run(self, name: str, args: tuple[Any, ...], deadline: float, label: str) -> Any:
        """Call exported `name`; errors and timeouts speak of `label` (the function, or `<load>`)."""
        self._link.begin(deadline)
        try:
            self._arm(label)
            out = self._invoke(name, json.dumps(args))
            if out == "?":
                raise self._link.missing(name)
            if out[0] in "~+":  # a Promise (with its call number), or a value with host calls still queued
                out = self._serve(None, label, int(out[1:])) if out[0] == "~" else self._serve(out[1:], label)
                if out is None:
                    raise PluginError(
                        self._unsettled
                        if label == "<load>"
                        else f"{name}() returned a Promise that never settles (it awaits nothing the host can answer)",
                        plugin=self._ctx.plugin_id,
                        file=self._label,
                    )
            else:
                out = out[1:]
                if self._js.execute_pending_job():  # jobs it queued still belong to this call and its deadline
                    self._arm(label)
                    out = self._serve(out, label)
        except quickjs.JSException as exc:
            raise self._classify(str(exc), label) from None
        if len(out) > self._limits.max_result:
            raise self._link.out_of_memory(label, f"{self._limits.max_result}-byte result limit")
        try:
            result = from_json(out)
            if result["ok"]:
                check_unicode(result["value"], out)
                return result["value"]
        except Junk as junk:
            raise self._link.junk(junk, label) from None
        error = result["error"]
        if result.get("junk"):
            if _out_of_memory(error["message"]):
                raise self._link.out_of_memory(label, f"{self._limits.memory}-byte memory limit")
            raise PluginError(
                f"{label}() returned data the host cannot use: {error['message']}",
                plugin=self._ctx.plugin_id,
                file=self._label,
            )
        raise self._classify(f"{error['name']}: {error['message']}\n{error['stack']}", label)

    def exports(self) -> frozenset[str]:
        return self._functions

    def memory_used(self) -> int | None:
        return self._js.memory()["memory_used_size"]

    def close(self) -> None:
        self._invoke = self._poll = self._take = self._settle = self._timers_next = self._timers_run = None
        self._js = None


def _line(match: re.Match[str] | None) -> int | None:
    return int(match.group(1)) if match else None


BACKEND = Backend(
    name="js",
    extensions=(".js", ".mjs", ".cjs"),
    front_matter=re.compile(r"\A(?:#![^\n]*\n)?\s*/\*---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*\*/", re.S),
    create=JsInstance,
    family="script",
    isolatable=True,
)
