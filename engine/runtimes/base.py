"""The small protocol every plugin backend implements, and what they share: limits and host-call plumbing."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Protocol

from engine.errors import FoxplugError, PluginError, PluginNotFound, PluginTimeout, ResourceLimitExceeded
from engine.gate.dispatch import dispatch
from engine.runtimes.marshal import Junk, Oversize, to_plain
from script_api.context import PluginContext

_LOCATION = re.compile(r"^(?:[^:\s]+|[^:\n]*?\.[A-Za-z]{1,4}):\d+:\s*")
"""`file:line: ` at the start of a script's error message (a file name may hold spaces: `My Plugin.lua:3: `)."""
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 5.0
    """Seconds a single call (and `init`) may run."""
    memory: int = 64 << 20
    """Bytes the runtime may allocate (Lua and JS); for restricted Python, the largest value one operation may build."""
    max_result: int = 4 << 20
    """Approximate bytes of data a call may return."""
    max_depth: int = 200
    """Recursion depth for restricted Python and the JS stack (in KiB x 4)."""


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    text: str
    data: bytes = b""
    """The file's bytes, for backends that load binaries (native libraries, wasm); `text` is empty then."""
    entry_point: EntryPoint | None = None
    """The installed distribution's entry point it was discovered through (then always native Python)."""

    @property
    def label(self) -> str:
        return str(self.path)


class Instance(Protocol):
    """A loaded plugin inside one runtime. Only ever touched from its actor's thread."""

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any: ...
    def exports(self) -> frozenset[str]: ...
    def memory_used(self) -> int | None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Backend:
    """A row of the backend table (like mpv's scripting backends): name, file extensions, loader."""

    name: str
    extensions: tuple[str, ...]
    front_matter: re.Pattern[str]
    """Finds the inline manifest in the first block comment / docstring; group `yaml` is the YAML."""
    create: Callable[[Source, PluginContext, Limits], Instance]
    binary: tuple[str, ...] = ()
    """Extensions of entries that are binaries (read into `Source.data`): never one-file plugins, as a
    binary has no front matter; they need a folder with a plugin.yaml."""
    family: str = ""
    """The word `compatibility.prefer` uses for it (`script` for lua, js, python); empty: its name."""
    isolatable: bool = False
    """`isolation: process` can run it in the engine's worker process."""
    package_entry: bool = False
    """Its entry may be a folder (a Python package) rather than a file."""
    manifest_is_source: bool = False
    """The plugin is its plugin.yaml (a program to start, a service to reach): no entry file of its own."""
    needs_one_of: tuple[str, ...] = ()
    """Manifest fields of which it needs at least one (a process plugin: `command`)."""
    needs_hint: str = ""
    """An example of those fields, for the error when none is there."""
    claims: Callable[[str], bool] | None = None
    """For another ecosystem's plugin shape: does this source (a file without front matter) look like one?"""
    metadata: Callable[[Path, str], dict[str, Any]] | None = None
    """With `claims`: the manifest fields read from the plugin's own metadata (name, version, config_schema...)."""
    song_url_takes_song: bool = False
    """`get_song_url` is given the whole Song (its `extra` holds what the plugin needs), not only its id."""


def run_start_hooks(
    exports: frozenset[str], call: Callable[[str, tuple[Any, ...], float], Any], config: dict[str, Any], timeout: float
) -> None:
    """`init(config)` then `start()` where exported, each within the plugin's timeout: on a first start and on
    every restart (after a runaway call, in a worker process, after a process plugin crashed)."""
    for hook, args in (("init", (config,)), ("start", ())):
        if hook in exports:
            call(hook, args, time.monotonic() + timeout)


class HostLink:
    """A runtime's way into `fox.*`: dispatch for its plugin, remembering the error it raised into the script.

    When a script does not catch a host error (say PermissionDenied) the runtime re-raises the original,
    so the caller sees `PermissionDenied`, not a generic script error that merely mentions it.
    """

    __slots__ = ("ctx", "raised", "route", "started")

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.route: Callable[[PluginContext, str, tuple[Any, ...]], Any] = ctx.route or dispatch
        """Where host calls go: the gate's dispatch; in a worker process (isolation), back to its host."""
        self.raised: FoxplugError | None = None
        self.started = 0.0

    def begin(self, deadline: float) -> None:
        """Start a call from the host: arm the deadline every host call and limit check reads."""
        self.ctx.deadline = deadline
        self.raised = None
        self.started = time.monotonic()

    def __call__(self, name: str, args: tuple[Any, ...]) -> Any:
        try:
            return self.route(self.ctx, name, args)
        except FoxplugError as error:
            self.raised = error
            raise
        except Exception as error:  # e.g. RecursionError from fox.json.decode('[[[...'): an error in the script
            log.warning(
                "fox.%s failed in the host: %s: %s",
                name,
                type(error).__name__,
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
                extra={"plugin": self.ctx.plugin_id},
            )
            self.raised = PluginError(f"fox.{name} failed: {type(error).__name__}: {error}", plugin=self.ctx.plugin_id)
            raise self.raised from None

    def script_error(
        self, message: str, function: str, *, line: int | None = None, traceback: str | None = None
    ) -> FoxplugError:
        """The error for a call that failed inside the script: the host's own error if it escaped as it was;
        when the plugin wrapped it in a message of its own, the plugin's message and line, caused by it."""
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        first = _LOCATION.sub("", first, count=1)
        raised = self.raised
        if raised is not None and _escaped_as_is(first, raised):
            return raised
        error = PluginError(
            f"{function}() failed: {first}",
            plugin=self.ctx.plugin_id,
            file=self.ctx.path,
            line=line,
            traceback=traceback,
        )
        if raised is not None and (str(raised) in message or raised.message in message):
            error.__cause__ = raised  # like `raise ... from`: the plugin's words first, the host's error kept
        return error

    def timeout(self, function: str) -> PluginTimeout:
        seconds = self.ctx.budget or round(self.ctx.deadline - self.started, 2)
        return PluginTimeout(
            f"plugin `{self.ctx.plugin_id}` ({self.ctx.path}) exceeded its {seconds:g} s deadline in {function}()",
            plugin=self.ctx.plugin_id,
            hint="make the work smaller or raise limits.timeout in its manifest (capped by performance.call_timeout)",
        )

    def out_of_memory(self, function: str, what: str) -> ResourceLimitExceeded:
        return ResourceLimitExceeded(
            f"plugin `{self.ctx.plugin_id}` ({self.ctx.path}) exceeded its {what} in {function}()",
            plugin=self.ctx.plugin_id,
        )

    def plain_result(self, value: Any, function: str, limit: int) -> Any:
        """A Python value a plugin function returned, copied into plain data or refused with its path."""
        try:
            return to_plain(value, limit)
        except Junk as junk:
            raise self.junk(junk, function) from None

    def junk(self, junk: Junk, function: str) -> FoxplugError:
        if isinstance(junk, Oversize):  # the same error the JS backend gives for a result too large
            return self.out_of_memory(function, f"{junk.limit}-byte result limit")
        return PluginError(
            f"{function}() returned data the host cannot use: {junk.where('result')}",
            plugin=self.ctx.plugin_id,
            file=self.ctx.path,
        )

    def missing(self, function: str) -> PluginNotFound:
        return PluginNotFound(
            f"plugin `{self.ctx.plugin_id}` has no function {function}()",
            plugin=self.ctx.plugin_id,
            file=self.ctx.path,
        )


def _escaped_as_is(first: str, raised: FoxplugError) -> bool:
    """Whether the script's error line is the host error itself — thrown on uncaught, or re-thrown under
    another class name (`Error: ...`, a compatibility layer's `AxiosError: PermissionDenied: ...`), perhaps with
    a location or two in front — rather than a message that adds words of the plugin's own."""
    return _bare(first) == _bare(str(raised))


_CLASS_PREFIX = re.compile(r"^[A-Za-z_][\w.]*: ")


def _bare(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _CLASS_PREFIX.sub("", _LOCATION.sub("", text, count=1), count=1)
    return text
