"""The single entry from plugin code into the host: argument check, permission gate, count, call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import FoxplugError, PluginError, PluginNotFound
from script_api.api import HOST_FUNCTIONS
from script_api.context import PluginContext
from script_api.host.redact import redact


def _describe(name: str, args: Sequence[Any]) -> str:
    shown = ", ".join(repr(a) if isinstance(a, str | int | float) else "…" for a in args[:2])
    shown = redact(shown)  # a URL argument may carry a password or a token
    return f"fox.{name}({shown})"


def dispatch(ctx: PluginContext, name: str, args: Sequence[Any]) -> Any:
    """Run host function `name` for the plugin in `ctx`; every runtime calls this and nothing else."""
    fn = HOST_FUNCTIONS.get(name)
    if fn is None:
        raise PluginNotFound(f"fox.{name} does not exist", plugin=ctx.plugin_id, hint="see docs/api.md")
    while args and args[-1] is None:
        args = args[:-1]
    params = fn.params
    if len(args) > len(params):
        if not (params and params[-1].variadic):
            raise PluginError(
                f"fox.{name} takes at most {len(params)} arguments, got {len(args)}", plugin=ctx.plugin_id
            )
        params = params + (params[-1],) * (len(args) - len(params))  # the variadic one, for each extra argument
    for index, param in enumerate(params):
        value = args[index] if index < len(args) else None
        if not param.accepts(value):
            got = "nothing" if value is None else type(value).__name__
            raise PluginError(
                f"fox.{name}: argument `{param.name}` must be {param.type}, got {got}", plugin=ctx.plugin_id
            )
    ctx.host_calls[name] += 1
    try:
        if fn.scope is not None:  # parsed once: the gate judges and the impl uses the very same value
            scope = fn.scope(tuple(args))
            ctx.authorize(fn.permission or "", scope, _describe(name, args))
            return fn.impl(ctx, *args, scope=scope)
        if fn.permission is not None:
            ctx.authorize(fn.permission, None, _describe(name, args))
        return fn.impl(ctx, *args)
    except FoxplugError as error:  # host code need not know who called it; the error must still say
        error.plugin = error.plugin or ctx.plugin_id
        raise
