"""State carried across a reload: the old version's `snapshot()` handed to the new version's `restore(state)`."""

from __future__ import annotations

from engine.errors import FoxplugError
from engine.plugin import Plugin


async def carry_state(old: Plugin, new: Plugin) -> str:
    """Returns what happened, for the `plugin_reloaded` event: carried, fresh, or why it was lost."""
    if old.instance is None or "snapshot" not in old.instance.exports():
        return "fresh"
    try:
        state = await old.call("snapshot", ())
    except FoxplugError as error:
        return f"fresh: snapshot() failed: {error}"
    if new.instance is None or "restore" not in new.instance.exports():
        return "fresh: the new version has no restore()"
    try:
        await new.call("restore", (state,))
    except FoxplugError as error:
        return f"fresh: restore() failed: {error}"
    return "carried"
