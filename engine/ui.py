"""UI hooks: menus, actions, status segments, themes and keymaps gathered from `ui.*` plugins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from engine.errors import FoxplugError, PluginError
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

    async def _gather(self, plugins: list[Plugin], function: str, *args: Any) -> list[tuple[Plugin, Any]]:
        found = []
        for reply in await ask(plugins, function, args):
            if isinstance(reply.error, FoxplugError):
                log.warning(
                    "%s.%s failed: %s", reply.plugin.id, function, reply.error, extra={"plugin": reply.plugin.id}
                )
            elif reply.error is not None:
                raise reply.error
            elif reply.value:
                found.append((reply.plugin, reply.value))
        return found

    async def menus(self, ctx: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Menu entries `{id, label, ...}` from every `ui.menu` plugin, each with `plugin`."""
        entries = []
        for plugin, answer in await self._gather(self._ordered("ui.menu"), "menus", ctx or {}):
            for entry in answer if isinstance(answer, list) else []:
                if isinstance(entry, dict) and "id" in entry:
                    entries.append({**entry, "label": str(entry.get("label", entry["id"])), "plugin": plugin.id})
        return entries

    async def action(self, plugin_id: str, action_id: str, ctx: dict[str, Any] | None = None) -> Any:
        """Run a menu action of one plugin (its `on_action(action_id, ctx)`)."""
        return await self._plugin(plugin_id).call("on_action", (action_id, ctx or {}))

    async def status(self, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Status-line segments `{text, style?, plugin}`; a plugin may answer a string or a list of segments."""
        segments = []
        for plugin, answer in await self._gather(self._ordered("ui.status"), "status", state or {}):
            for item in answer if isinstance(answer, list) else [answer]:
                segment = {"text": item} if isinstance(item, str) else item
                if not isinstance(segment, dict) or not isinstance(segment.get("text"), str):
                    log.warning("%s.status() returned a segment without text: %r", plugin.id, item)
                    continue
                segments.append({**segment, "plugin": plugin.id})
        return segments

    async def themes(self) -> list[dict[str, Any]]:
        """Themes `{name, colors: {...}}` from every `ui.theme` plugin."""
        themes = []
        for plugin, answer in await self._gather(self._ordered("ui.theme"), "themes"):
            for theme in answer if isinstance(answer, list) else [answer]:
                if isinstance(theme, dict) and "name" in theme:
                    themes.append({**theme, "plugin": plugin.id})
        return themes

    async def keymap(self) -> dict[str, dict[str, str]]:
        """`{key: {action, plugin}}` from plugins exporting `keymap()`; the higher-priority plugin wins a key."""
        merged: dict[str, dict[str, str]] = {}
        plugins = [p for p in self._ordered(None) if p.instance and "keymap" in p.instance.exports()]
        for plugin, answer in await self._gather(plugins, "keymap"):
            if not isinstance(answer, dict):
                raise PluginError(f"keymap() must return {{key: action_id}}, got {answer!r}", plugin=plugin.id)
            for key, action in answer.items():
                merged.setdefault(key, {"action": str(action), "plugin": plugin.id})
        return merged
