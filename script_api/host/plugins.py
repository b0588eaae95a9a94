"""`fox.plugins.call`: one plugin asks another, in any language, for an answer.

The callee runs the function on its own actor, within its own limits and permissions (never the caller's);
the call may take only what is left of the caller's deadline; and the callee's failure comes back as a
`PluginError` in the caller that names both. Only declared dependencies may be called: the dependency step
of the load pipeline has already checked they are present at a version in range, so a call never meets a
plugin its author did not ask for.
"""

from __future__ import annotations

from typing import Any

from engine.errors import FoxplugError, PermissionDenied, PluginError, PluginTimeout
from script_api.context import PluginContext


def call(ctx: PluginContext, plugin_id: str, function: str, *args: Any) -> Any:
    if plugin_id not in ctx.dependencies:
        ctx.denied += 1
        declared = ", ".join(sorted(ctx.dependencies)) or "none"
        raise PermissionDenied(
            f"plugin `{ctx.plugin_id}` called fox.plugins.call({plugin_id!r}, {function!r}) but `{plugin_id}` is "
            f"not among its dependencies (declared: {declared})",
            plugin=ctx.plugin_id,
            hint=f'add `{plugin_id}: "<range>"` under dependencies in its manifest',
        )
    timeout = ctx.remaining(f"fox.plugins.call({plugin_id!r}, {function!r})")
    try:
        return ctx.services.plugins(plugin_id).ask(function, args, timeout)
    except TimeoutError:
        raise PluginTimeout(
            f"plugin `{ctx.plugin_id}` ran out of time waiting for `{plugin_id}`.{function}()",
            plugin=ctx.plugin_id,
            file=ctx.path,
            hint=f"`{plugin_id}` did not answer within what was left of `{ctx.plugin_id}`'s deadline",
        ) from None
    except FoxplugError as error:
        raise PluginError(
            f"`{plugin_id}`.{function}() failed when called by `{ctx.plugin_id}`: {type(error).__name__}: {error}",
            plugin=ctx.plugin_id,
            file=ctx.path,
            hint=error.hint,
        ) from None
