"""The `fox` object for plugins written in Python (restricted and native), built from the API table."""

from __future__ import annotations

import types
from typing import Any

from engine.errors import PluginError
from engine.runtimes.base import HostLink, Limits
from engine.runtimes.marshal import Junk, to_plain
from script_api.api import host_values, namespaces


def build_fox(link: HostLink, limits: Limits) -> types.SimpleNamespace:
    """`fox.http.get(...)` etc.: each function copies its arguments to plain data and calls `link`."""
    ctx = link.ctx

    def function(name: str) -> Any:
        def call(*args: Any) -> Any:
            try:
                plain = tuple(to_plain(a, limits.max_result) for a in args)
            except Junk as junk:
                raise PluginError(f"fox.{name}: {junk.where('argument')}", plugin=ctx.plugin_id) from None
            return link(name, plain)

        call.__name__ = name
        return call

    groups = {
        group: types.SimpleNamespace(**{leaf: function(f"{group}.{leaf}") for leaf in leaves})
        for group, leaves in namespaces().items()
    }
    fox = types.SimpleNamespace(**groups)
    for name, value in host_values(ctx).items():
        group, _, leaf = name.rpartition(".")
        setattr(getattr(fox, group) if group else fox, leaf, to_plain(value, 1 << 30))
    return fox
