"""UI hooks: menus, actions, status segments, themes and keymaps gathered from `ui.*` plugins."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from engine.errors import FoxplugError, PluginError

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.plugin import Plugin

log = logging.getLogger(__name__)


class UIHooks:
    """`engine.ui`: every answer is tagged with the plugin it came from; a failing plugin is skipped and logged."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def _gather(self, capability: str, function: str, *args: Any) -> list[tuple[Plugin, Any]]:
        plugins = self._engine._ordered(capability)
        answers = await asyncio.gather(*(p.call(function, args) for p in plugins), return_exceptions=True)
        found = []
        for plugin, answer in zip(plugins, answers, strict=True):
            if isinstance(answer, FoxplugError):
                log.warning("%s.%s failed: %s", plugin.id, function, answer, extra={"plugin": plugin.id})
            elif isinstance(answer, BaseException):
                raise answer
            elif answer:
                found.append((plugin, answer))
        return found

    async def menus(self, ctx: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Menu entries `{id, label, ...}` from every `ui.menu` plugin, each with `plugin`."""
        entries = []
        for plugin, answer in await self._gather("ui.menu", "menus", ctx or {}):
            for entry in answer if isinstance(answer, list) else []:
                if isinstance(entry, dict) and "id" in entry:
                    entries.append({**entry, "label": str(entry.get("label", entry["id"])), "plugin": plugin.id})
        return entries

    async def action(self, plugin_id: str, action_id: str, ctx: dict[str, Any] | None = None) -> Any:
        """Run a menu action of one plugin (its `on_action(action_id, ctx)`)."""
        return await self._engine.call(plugin_id, "on_action", action_id, ctx or {})

    async def status(self, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Status-line segments `{text, style?, plugin}`; a plugin may answer a string or a list of segments."""
        segments = []
        for plugin, answer in await self._gather("ui.status", "status", state or {}):
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
        for plugin, answer in await self._gather("ui.theme", "themes"):
            for theme in answer if isinstance(answer, list) else [answer]:
                if isinstance(theme, dict) and "name" in theme:
                    themes.append({**theme, "plugin": plugin.id})
        return themes

    async def keymap(self) -> dict[str, dict[str, str]]:
        """`{key: {action, plugin}}` from plugins exporting `keymap()`; the higher-priority plugin wins a key."""
        merged: dict[str, dict[str, str]] = {}
        plugins = [p for p in self._engine._ordered() if p.instance and "keymap" in p.instance.exports()]
        for plugin in plugins:
            try:
                answer = await plugin.call("keymap", ())
            except FoxplugError as error:
                log.warning("%s.keymap failed: %s", plugin.id, error)
                continue
            if not isinstance(answer, dict):
                raise PluginError(f"keymap() must return {{key: action_id}}, got {answer!r}", plugin=plugin.id)
            for key, action in answer.items():
                merged.setdefault(key, {"action": str(action), "plugin": plugin.id})
        return merged
