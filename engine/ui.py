"""UI hooks: menus, actions, status segments, themes and keymaps gathered from `ui.*` plugins."""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Callable
from typing import Any

from engine.errors import PluginError
from engine.fanout import ask
from engine.running.plugin import Plugin

log = logging.getLogger(__name__)

Ordered = Callable[[str | None], list[Plugin]]
"""The engine's plugins by priority, only those providing a capability (None: all)."""


class UIHooks:
    """`engine.ui`: every answer is tagged with the plugin it came from; a failing plugin is skipped and logged."""

    def __init__(self, ordered: Ordered, plugin: Callable[[str], Plugin]) -> None:
        self._ordered = ordered
        self._plugin = plugin

    async def _gather(self, plugins: list[Plugin], function: str, accept: Accept, *args: Any) -> list[Any]:
        """Every plugin's answer read by `accept` (off the loop); a plugin whose call or answer fails is skipped."""
        found: list[Any] = []
        for reply in await ask(plugins, function, args, accept=accept):
            if reply.error is not None:
                log.warning(
                    "%s.%s failed: %s: %s",
                    reply.plugin.id,
                    function,
                    type(reply.error).__name__,
                    reply.error,
                    extra={"plugin": reply.plugin.id},
                )
            elif reply.value:
                found.extend(reply.value)
        return found

    async def menus(self, ctx: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Menu entries `{id, label, ...}` from every `ui.menu` plugin, each with `plugin`."""
        return await self._gather(self._ordered("ui.menu"), "menus", _menu_entries, ctx or {})

    async def action(self, plugin_id: str, action_id: str, ctx: dict[str, Any] | None = None) -> Any:
        """Run a menu action of one plugin (its `on_action(action_id, ctx)`)."""
        return await self._plugin(plugin_id).call("on_action", (action_id, ctx or {}))

    async def status(self, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Status-line segments `{text, style?, plugin}`; a plugin may answer a string or a list of segments."""
        return await self._gather(self._ordered("ui.status"), "status", _status_segments, state or {})

    async def themes(self) -> list[dict[str, Any]]:
        """Themes `{name, colors: {...}}` from every `ui.theme` plugin."""
        return await self._gather(self._ordered("ui.theme"), "themes", _themes)

    async def keymap(self) -> dict[str, dict[str, str]]:
        """`{key: {action, plugin}}` from plugins exporting `keymap()`; the higher-priority plugin wins a key."""
        merged: dict[str, dict[str, str]] = {}
        plugins = [p for p in self._ordered(None) if p.instance and "keymap" in p.instance.exports()]
        for key, binding in await self._gather(plugins, "keymap", _bindings):
            merged.setdefault(key, binding)
        return merged


Accept = Callable[[Plugin, Any], list[Any]]
"""Reads one plugin's answer into the items it contributes (run off the event loop by `ask`)."""


def _menu_entries(plugin: Plugin, answer: Any) -> list[dict[str, Any]]:
    return [
        {**entry, "label": str(entry.get("label", entry["id"])), "plugin": plugin.id}
        for entry in (answer if isinstance(answer, list) else [])
        if isinstance(entry, dict) and "id" in entry
    ]


def _status_segments(plugin: Plugin, answer: Any) -> list[dict[str, Any]]:
    segments = []
    for item in answer if isinstance(answer, list) else [answer]:
        segment = {"text": item} if isinstance(item, str) else item
        if not isinstance(segment, dict) or not isinstance(segment.get("text"), str):
            log.warning("%s.status() returned a segment without text: %s", plugin.id, reprlib.repr(item))
            continue
        segments.append({**segment, "plugin": plugin.id})
    return segments


def _themes(plugin: Plugin, answer: Any) -> list[dict[str, Any]]:
    return [
        {**theme, "plugin": plugin.id}
        for theme in (answer if isinstance(answer, list) else [answer])
        if isinstance(theme, dict) and "name" in theme
    ]


def _bindings(plugin: Plugin, answer: Any) -> list[tuple[str, dict[str, str]]]:
    if not isinstance(answer, dict):
        raise PluginError(f"keymap() must return {{key: action_id}}, got {reprlib.repr(answer)}", plugin=plugin.id)
    return [(key, {"action": str(action), "plugin": plugin.id}) for key, action in answer.items()]
