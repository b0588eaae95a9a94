"""Hot reload: watch plugin directories and tell the engine which plugin changed, once per burst of editor
writes; carry the old version's state into the new one (`snapshot()` → `restore(state)`).

Editors save in different ways: in place (modified), write-temp-then-rename (only a move whose `dest_path` is
the plugin file), delete-then-create, and backup/swap files on the side. Every event is mapped to the plugin it
belongs to (the file, or the folder directly under the watched directory); editor artifacts are ignored; a
per-plugin debounce coalesces a burst into one `changed(root)` on the engine's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from engine.errors import FoxplugError, ManifestError
from engine.loading.discover import is_editor_artifact
from engine.running.plugin import Plugin
from engine.running.version import PluginVersion

log = logging.getLogger(__name__)

Changed = Callable[[Path, float], Awaitable[None]]
"""changed(plugin_root, first_event_time): called on the loop once the burst has settled."""


class PluginWatcher(FileSystemEventHandler):
    def __init__(
        self, loop: asyncio.AbstractEventLoop, debounce: float, changed: Changed, only: Path | None = None
    ) -> None:
        self._loop = loop
        self._debounce = debounce
        self._changed = changed
        self._only = only.resolve() if only else None
        self._roots: dict[Path, Path] = {}
        self._pending: dict[Path, tuple[asyncio.TimerHandle, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._observer = Observer()

    def watch(self, directories: Iterable[Path]) -> None:
        for directory in directories:
            directory = directory.resolve()
            if directory.is_dir() and directory not in self._roots:
                self._roots[directory] = directory
                self._observer.schedule(self, str(directory), recursive=True)
        if not self._observer.is_alive():
            self._observer.start()

    def stop(self) -> None:
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(5)
        for handle, _ in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in self._tasks:
            task.cancel()

    def _plugin_root(self, path: str) -> Path | None:
        """The plugin a changed path belongs to: the entry directly under a watched directory."""
        changed = Path(path)
        if is_editor_artifact(changed.name):
            return None
        for directory in self._roots:
            if changed.is_relative_to(directory) and changed != directory:
                root = directory / changed.relative_to(directory).parts[0]
                if root.name.startswith("_") or is_editor_artifact(root.name):  # what discover skips, e.g. .versions
                    return None
                if self._only is None or root == self._only:
                    return root
        return None

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Called on watchdog's thread: hand the affected roots to the loop."""
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        now = time.perf_counter()
        for root in {self._plugin_root(p) for p in paths if p} - {None}:
            self._loop.call_soon_threadsafe(self._schedule, root, now)

    def _schedule(self, root: Path, seen: float) -> None:
        first = seen
        if root in self._pending:
            handle, first = self._pending[root]
            handle.cancel()
        handle = self._loop.call_later(self._debounce, self._fire, root)
        self._pending[root] = (handle, first)

    def _fire(self, root: Path) -> None:
        _, first = self._pending.pop(root)
        task = self._loop.create_task(self._changed(root, first))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hot reload failed", exc_info=task.exception())


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


def refuse_lost_manifest(current: Plugin, version: PluginVersion) -> None:
    """A file that had a manifest and now has none is an empty or half-written save, not a new plugin: serving
    a blank default-id plugin in its place would silently drop every function the running version has."""
    if current.manifest.data and not version.manifest.data:
        raise ManifestError(
            "the file has no manifest any more (empty or half-written?); the running version keeps serving",
            plugin=current.id,
            file=str(version.manifest.path),
            hint="save the file again with its manifest",
        )
