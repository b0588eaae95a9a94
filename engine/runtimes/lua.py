"""Lua 5.4 plugins through lupa, in a fresh environment built by `sandbox.lua`."""

from __future__ import annotations

import re
import sys
import time
from importlib.resources import files
from typing import Any

import lupa.lua54 as lupa

from engine.errors import FoxplugError, PluginError
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.marshal import MAX_DEPTH, Budget, Junk, check_key, check_scalar, to_plain
from script_api.api import host_values, namespaces
from script_api.context import PluginContext

_SANDBOX = files("engine.runtimes").joinpath("sandbox.lua").read_text(encoding="utf-8")
_PATTERNS = files("engine.runtimes").joinpath("lua_patterns.lua").read_text(encoding="utf-8")
_NOT_UTF8 = "has a string that is not valid UTF-8"
_RESULT_NOT_UTF8 = "foxplug: result is not valid UTF-8"  # from sandbox.lua


def _deny_attributes(obj: Any, name: str, is_setting: bool) -> str:
    """lupa's attribute filter: plugin code never reaches Python attributes of anything."""
    raise AttributeError(f"Lua plugins cannot access Python attribute {name!r}")


_SCALARS = frozenset({str, int, float, bool, type(None)})
_lua_type = lupa.lua_type


def from_lua(value: Any, budget: Budget, depth: int = 0) -> Any:
    """Copy a Lua value into plain data: sequences become lists, string-keyed tables objects."""
    if type(value) in _SCALARS:  # lupa hands Lua strings, numbers, booleans and nil over as Python values
        return check_scalar(value, budget)
    kind = _lua_type(value)
    if kind != "table":
        raise Junk(f"a Lua {kind or type(value).__name__} is not data")
    if depth >= MAX_DEPTH:
        raise Junk(f"nested deeper than {MAX_DEPTH} levels (or cyclic)")
    try:
        items = list(value.items())  # lupa decodes the strings here
    except UnicodeDecodeError:
        raise Junk(_NOT_UTF8) from None
    budget.spend(2 + 2 * len(items))
    depth += 1
    if not items or type(items[0][0]) is int:  # an empty table is an empty list, as before
        keys = [k for k, _ in items]
        if all(type(k) is int for k in keys) and sorted(keys) == list(range(1, len(items) + 1)):
            out_list: list[Any] = [None] * len(items)
            for key, sub in items:
                try:
                    out_list[key - 1] = from_lua(sub, budget, depth)
                except Junk as junk:
                    raise junk.inside(key) from None
            return out_list
    out: dict[str, Any] = {}
    for key, sub in items:
        if type(key) is not str:
            if type(key) is int:
                raise Junk(_array_problem([k for k, _ in items]))
            check_key(key)
        try:
            out[key] = from_lua(sub, budget, depth)
        except Junk as junk:
            raise junk.inside(key) from None
    out.pop(OBJECT, None)
    return out


OBJECT = "\0foxplug:object"
"""The key `fox.json.object()` marks a table with: it is an object even when empty (`{}`, not `[]`)."""


def _array_problem(keys: list[Any]) -> str:
    """Why a table with integer keys is neither a list nor an object, and what to return instead."""
    numbers = sorted(k for k in keys if type(k) is int)
    if len(numbers) < len(keys):
        named = next(k for k in keys if type(k) is not int)
        return (
            f"a table mixing list items (1..{numbers[-1]}) with the key {_short(named)}: return a list "
            "{a, b} or an object {key = value}, or put the list under a key of the object ({items = {a, b}})"
        )
    missing = next(n for n in range(1, numbers[-1] + 1) if n not in set(numbers))
    return (
        f"a list with a hole (no item {missing}, but items up to {numbers[-1]}): Lua lists are 1..n without "
        "nil; build them with table.insert, and put false or a placeholder where an item is missing"
        if numbers[0] >= 1
        else f"a table with the integer key {numbers[0]}: lists start at 1; use string keys for an object"
    )


def _short(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:40] + "…"


class LuaInstance:
    reentrant = True
    """A call may run while another of this instance's calls waits in fox.plugins.call (engine.actor)."""

    def __init__(self, source: Source, ctx: PluginContext, limits: Limits) -> None:
        self._link = HostLink(ctx)
        self._ctx = ctx
        self._limits = limits
        # From the first instruction the count hook reads the deadline, which a timed-out predecessor left past.
        self._link.begin(time.monotonic() + limits.timeout)
        self._lua = lupa.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=limits.memory,
        )
        api = self._lua.table_from({group: self._lua.table_from(leaves) for group, leaves in namespaces().items()})
        patterns = self._lua.execute(_PATTERNS, name="=foxplug-patterns")
        self._env, self._invoke, compile_chunk = self._lua.execute(
            _SANDBOX, self._host, self._expired, api, patterns, name="=foxplug-sandbox"
        )
        # The plugin's own lines: Lua shortens a long chunk name to "..." and its tail, and the sandbox's
        # frames (foxplug-sandbox:91:) must not be taken for the plugin's.
        self._line = re.compile(re.escape(source.label[-40:]) + r":(\d+):")
        self._table_from = self._lua.table_from
        fox = self._env.fox
        for name, value in host_values(ctx).items():
            group, _, leaf = name.rpartition(".")
            (fox[group] if group else fox)[leaf] = self._to_lua(value)
        chunk, error = compile_chunk(source.text, "@" + source.label)
        if chunk is False:
            raise self._syntax_error(str(error))
        builtins = set(self._env.keys())
        module = self._run(chunk, (), "<load>", time.monotonic() + limits.timeout, raw=True)
        if lupa.lua_type(module) != "table":  # no `return M`: the functions it defined as globals are its exports
            module = self._lua.table_from({k: v for k, v in self._env.items() if k not in builtins})
        self._functions = {k: v for k, v in module.items() if type(k) is str and lupa.lua_type(v) == "function"}

    def _syntax_error(self, message: str) -> PluginError:
        match = self._line.search(message)
        detail = message.split(": ", 1)[-1]
        return PluginError(
            detail if "syntax error" in detail else f"syntax error: {detail}",
            plugin=self._ctx.plugin_id,
            file=self._ctx.path,
            line=int(match.group(1)) if match else None,
        )

    def _expired(self) -> bool:
        return time.monotonic() > self._ctx.deadline

    def _host(self, name: str, *args: Any) -> tuple[bool, Any]:
        try:
            plain = tuple(from_lua(a, Budget(self._limits.max_result)) for a in args)
        except Junk as junk:
            return False, f"fox.{name}: {junk.where('argument')}"
        try:
            # A copy of plain data: no Python object a host function returns ever reaches Lua code.
            return True, self._to_lua(to_plain(self._link(name, plain), sys.maxsize))
        except FoxplugError as error:
            return False, f"{type(error).__name__}: {error}"
        except Junk as junk:
            return False, f"fox.{name}: the host's answer cannot be handed to Lua: {junk.where('result')}"

    def _to_lua(self, value: Any) -> Any:
        if isinstance(value, dict | list | tuple):
            return self._table_from(value, recursive=True)
        return value

    def _run(self, fn: Any, args: tuple[Any, ...], name: str, deadline: float, raw: bool = False) -> Any:
        self._link.begin(deadline)
        reason = None
        try:
            ok, value, reason = self._invoke(fn, *[self._to_lua(a) for a in args])
        except lupa.LuaMemoryError:
            ok, value = False, "not enough memory"
        except lupa.LuaError as error:  # raised outside the plugin's frames, e.g. by the hook while returning
            ok, value = False, str(error)
        if reason is not None:  # `return nil, "rate limited"`: Lua's way to fail, so an error, not "no result"
            raise PluginError(
                f"{name}() failed: {reason}",
                plugin=self._ctx.plugin_id,
                file=self._ctx.path,
                hint="a Lua function that returns nil and a message is reported as failing with that message",
            )
        if not ok:
            message = str(value)
            if time.monotonic() > deadline:
                raise self._link.timeout(name)
            if message == _RESULT_NOT_UTF8:
                raise self._link.junk(Junk(_NOT_UTF8), name)
            if "not enough memory" in message:
                self._lua.gccollect()
                raise self._link.out_of_memory(name, f"{self._limits.memory}-byte memory limit")
            if "stack overflow" in message:
                raise self._link.out_of_memory(name, "stack (recursion too deep)")
            match = self._line.search(message)
            raise self._link.script_error(message, name, line=int(match.group(1)) if match else None, traceback=message)
        if raw:
            return value
        try:
            return from_lua(value, Budget(self._limits.max_result))
        except Junk as junk:
            raise self._link.junk(junk, name) from None

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            raise self._link.missing(name)
        return self._run(fn, args, name, deadline)

    def exports(self) -> frozenset[str]:
        return frozenset(self._functions)

    def memory_used(self) -> int | None:
        return self._lua.get_memory_used()

    def close(self) -> None:
        self._functions.clear()
        self._env = self._invoke = None
        self._lua = None


BACKEND = Backend(
    name="lua",
    extensions=(".lua",),
    front_matter=re.compile(r"\A(?:#![^\n]*\n)?\s*--\[(=*)\[---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*\]\1\]", re.S),
    create=LuaInstance,
    family="script",
    isolatable=True,
)
