"""The embedding API (ARCHITECTURE §3.3): load plugins, fan out searches, ask for lyrics, deliver events."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import Config, default_config_path
from engine.errors import FoxplugError, PluginError, PluginNotFound
from engine.hot_reload import PluginWatcher
from engine.loader import LoadEnv, Version, discover, fingerprint, load_plugin
from engine.permissions import PermissionGate
from engine.plugin import Plugin, PluginInfo
from engine.state import carry_state
from engine.ui import UIHooks
from script_api.context import HostServices
from script_api.host.http import HttpClient
from script_api.host.storage import Storage
from script_api.player import NullPlayer, Player
from script_api.types import Lyrics, Playlist, Song, songs_from_plugin

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], Any]


@dataclass
class SearchResult:
    """Merged items in provider order, and what went wrong per plugin (never raised)."""

    items: list[Any] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        items = [item.to_dict() if hasattr(item, "to_dict") else item for item in self.items]
        return {"items": items, "errors": dict(self.errors)}


class Engine:
    """`async with Engine.from_config(path) as fox:` — one per player; every method is safe to call concurrently."""

    def __init__(
        self,
        config: Config | Mapping[str, Any] | None = None,
        *,
        player: Player | None = None,
        grants: Iterable[str] = (),
    ) -> None:
        self.config = config if isinstance(config, Config) else Config.from_mapping(config or {})
        self.player: Player = player or NullPlayer()
        self._grants = tuple(grants)
        self._plugins: dict[str, Plugin] = {}
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._services: HostServices | None = None
        self._env: LoadEnv | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._history: dict[str, deque[Version]] = {}
        self._path_locks: dict[Path, asyncio.Lock] = {}
        self._watcher: PluginWatcher | None = None
        self.load_errors: dict[str, FoxplugError] = {}
        """Plugins from the configured directories that failed to load, by path."""
        self.ui = UIHooks(self)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> Engine:
        """From a YAML file; without one, the project's `config/plugins.yaml` or the user's."""
        path = path or default_config_path()
        return cls(Config.load(path) if path else Config(), **kwargs)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open shared services and, with `auto_load`, load every plugin of the configured directories."""
        if self._env is not None:
            return
        loop = asyncio.get_running_loop()

        def later(fn: Callable[..., Any], *args: Any) -> None:
            """From a plugin thread onto the loop; returns None, so no loop Handle reaches plugin code."""
            loop.call_soon_threadsafe(fn, *args)

        self._services = HostServices(
            loop=loop,
            storage=Storage(self.config.storage),
            player=self.player,
            http=HttpClient(self.config.max_response_size),
            notify=lambda plugin, text, level: later(
                self._publish, "notify", {"plugin": plugin, "text": text, "level": level}
            ),
            emit=lambda plugin, event, payload: later(self._deliver, event, payload, plugin),
        )
        self._env = LoadEnv(self.config, self._services, PermissionGate(self.config.policy), self._grants)
        if self.config.auto_load:
            await self.load_directories(self.config.directories)
        if self.config.hot_reload and self.config.directories:
            self.watch(self.config.directories)

    async def load_directories(self, directories: Iterable[Path]) -> list[PluginInfo]:
        """Load every plugin found, concurrently; failures go to `load_errors` and a `load_failed` event."""
        paths = [path for directory in directories for path in discover(Path(directory))]
        limit = asyncio.Semaphore(self.config.max_concurrent_loads)

        async def one(path: Path) -> PluginInfo | None:
            async with limit:
                try:
                    return await self.load(path)
                except FoxplugError as error:
                    self.load_errors[str(path)] = error
                    log.error("%s: %s", type(error).__name__, error)
                    self._publish("load_failed", {"path": str(path), "error": error.to_dict()})
                    return None

        return [info for info in await asyncio.gather(*map(one, paths)) if info is not None]

    async def load(self, path: str | Path, *, config: dict[str, Any] | None = None) -> PluginInfo:
        """Load one plugin file or folder; `config` overrides `plugin_configs.<id>.config`.

        Loading a plugin that is already loaded from the same path replaces it like a hot reload.
        """
        plugin = await load_plugin(Path(path).resolve(), await self._load_env(), config=config)
        return await self._install(plugin, time.perf_counter())

    async def _load_env(self) -> LoadEnv:
        if self._env is None:
            await self.start()
        assert self._env is not None
        return self._env

    async def _install(self, new: Plugin, started: float, *, remember: bool = True) -> PluginInfo:
        """Swap `new` in for the plugin of the same id (carrying its state), or add it."""
        old = self._plugins.get(new.id)
        if old is not None and old.manifest.path != new.manifest.path:
            await new.close()
            raise PluginError(
                f"plugin id `{new.id}` is already used by {old.manifest.path}",
                plugin=new.id,
                file=str(new.manifest.path),
                field="id",
                hint="give each plugin a unique id",
            )
        self.load_errors.pop(str(new.manifest.path), None)
        if old is None:
            self._plugins[new.id] = new
            self._publish("plugin_loaded", new.info.to_dict())
            return new.info
        state = await carry_state(old, new)
        self._plugins[new.id] = new  # the swap: calls from here on go to the new version
        if remember:
            self._history.setdefault(new.id, deque(maxlen=self.config.keep_versions)).append(old.version)
        self._spawn(old.close())  # queued behind its in-flight calls, which finish on the old version
        self._publish(
            "plugin_reloaded",
            {
                "id": new.id,
                "version": new.manifest.version,
                "path": str(new.manifest.path),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "state": state,
            },
        )
        return new.info

    async def reload(self, plugin_id: str) -> PluginInfo:
        """Re-read a plugin from disk and swap it in; on failure the running version keeps serving."""
        return await self._reload(self._get(plugin_id).manifest.path, time.perf_counter(), force=True)

    async def rollback(self, plugin_id: str) -> PluginInfo:
        """Go back to the previous good version of a plugin (kept in memory, `hot_reload.keep_versions`)."""
        current = self._get(plugin_id)
        versions = self._history.get(plugin_id)
        if not versions:
            raise PluginNotFound(
                f"plugin `{plugin_id}` has no previous version to roll back to",
                plugin=plugin_id,
                hint="versions are kept in memory from reloads since the engine started",
            )
        plugin = await load_plugin(current.manifest.path, await self._load_env(), version=versions.pop())
        return await self._install(plugin, time.perf_counter(), remember=False)

    async def _reload(self, root: Path, started: float, *, force: bool = False) -> PluginInfo | None:
        """Bring the plugin at `root` in line with the disk: load, reload, or unload it."""
        async with self._path_locks.setdefault(root, asyncio.Lock()):
            current = next((p for p in self._plugins.values() if p.manifest.path == root), None)
            if not root.exists():
                if current is not None:
                    await self.unload(current.id)
                return None
            if current is not None and not force and fingerprint(root) == current.digest:
                return None
            try:
                plugin = await load_plugin(root, await self._load_env())
            except FoxplugError as error:
                self._publish_failure(root, current, error)
                return None
            return await self._install(plugin, started)

    def _publish_failure(self, root: Path, current: Plugin | None, error: FoxplugError) -> None:
        log.error("%s: %s", type(error).__name__, error)
        if current is None:
            self.load_errors[str(root)] = error
            self._publish("load_failed", {"path": str(root), "error": error.to_dict()})
        else:
            self._publish("reload_failed", {"id": current.id, "path": str(root), "error": error.to_dict()})

    def watch(self, paths: Iterable[Path], *, only: Path | None = None) -> None:
        """Reload on save: watch directories (or, with `only`, one plugin inside its parent directory)."""
        if self._watcher is None:
            self._watcher = PluginWatcher(asyncio.get_running_loop(), self.config.debounce, self._on_change, only=only)
        self._watcher.watch(paths)

    async def _on_change(self, root: Path, first_event: float) -> None:
        await self._reload(root, first_event)

    async def unload(self, plugin_id: str) -> None:
        plugin = self._get(plugin_id)
        del self._plugins[plugin_id]
        await plugin.close()
        self._publish("plugin_unloaded", {"id": plugin_id})

    async def close(self) -> None:
        """Stop every plugin (running `stop()`), then the shared services."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        await asyncio.gather(*(p.close() for p in self._plugins.values()), return_exceptions=True)
        self._plugins.clear()
        for task in list(self._background):
            task.cancel()
        if self._services is not None:
            await self._services.http.close()
            self._services.storage.close()
        self._services = self._env = None

    @property
    def plugins(self) -> list[PluginInfo]:
        return [p.info for p in self._ordered()]

    def plugin(self, plugin_id: str) -> PluginInfo:
        return self._get(plugin_id).info

    def _get(self, plugin_id: str) -> Plugin:
        try:
            return self._plugins[plugin_id]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none loaded"
            raise PluginNotFound(f"no plugin `{plugin_id}` (loaded: {known})", plugin=plugin_id) from None

    def _ordered(self, capability: str | None = None) -> list[Plugin]:
        """Plugins by priority (highest first), then load order; only those providing `capability`."""
        plugins = [p for p in self._plugins.values() if capability is None or capability in p.provides]
        return sorted(plugins, key=lambda p: -p.priority)

    async def call(self, plugin_id: str, method: str, *args: Any, timeout: float | None = None) -> Any:
        """Call any function a plugin exports, within its deadline."""
        return await self._get(plugin_id).call(method, args, timeout)

    async def search(
        self, query: str, *, type: str = "song", limit: int = 20, timeout: float | None = None
    ) -> SearchResult:
        """Ask every `search` provider at once; a slow or failing one costs only its own entry in `errors`."""
        providers = self._ordered("search")
        options = {"type": type, "limit": limit}
        answers = await asyncio.gather(
            *(p.call("search", (query, options), timeout) for p in providers), return_exceptions=True
        )
        result = SearchResult()
        for plugin, answer in zip(providers, answers, strict=True):
            if isinstance(answer, BaseException):
                result.errors[plugin.id] = f"{answer.__class__.__name__}: {answer}"
                continue
            try:
                result.items.extend(_normalise(answer, type, plugin.id)[:limit])
            except ValueError as exc:
                result.errors[plugin.id] = f"PluginError: search() returned {exc}"
        return result

    async def lyrics(self, song: Mapping[str, Any], *, timeout: float | None = None) -> Lyrics | None:
        """The first `lyrics` provider, by priority, that answers with lyrics."""
        for plugin in self._ordered("lyrics"):
            try:
                answer = await plugin.call("get_lyrics", (dict(song),), timeout)
                if answer:
                    return Lyrics.from_plugin(answer, path="get_lyrics()")
            except (FoxplugError, ValueError) as error:
                log.warning("lyrics from %s failed: %s", plugin.id, error, extra={"plugin": plugin.id})
        return None

    async def emit(self, event: str, payload: Any = None) -> None:
        """Deliver an event to every plugin's `on_<event>` and to host listeners; does not wait for plugins."""
        self._deliver(event, payload, None)

    def _deliver(self, event: str, payload: Any, sender: str | None) -> None:
        handler = f"on_{event}"
        for plugin in self._ordered():
            if plugin.id != sender and plugin.instance is not None and handler in plugin.instance.exports():
                self._spawn(self._handle(plugin, handler, payload))
        self._publish(event, {"plugin": sender, "payload": payload} if sender else {"payload": payload})

    async def _handle(self, plugin: Plugin, handler: str, payload: Any) -> None:
        try:
            await plugin.call(handler, (payload,))
        except FoxplugError as error:
            log.warning("%s.%s failed: %s", plugin.id, handler, error, extra={"plugin": plugin.id})

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on(self, event: str, callback: Listener) -> Callable[[], None]:
        """Hear `notify`, engine events (`plugin_loaded`, `plugin_unloaded`, `load_failed`) and plugin events.

        Returns a function that unsubscribes. Async callbacks are scheduled, sync ones called in place.
        """
        self._listeners[event].append(callback)
        return lambda: self._listeners[event].remove(callback)

    def _publish(self, event: str, payload: dict[str, Any]) -> None:
        for callback in list(self._listeners.get(event, ())):
            try:
                result = callback(payload)
                if inspect.isawaitable(result):
                    self._spawn(result)
            except Exception:
                log.exception("listener for %s failed", event)


def _normalise(answer: Any, kind: str, source: str) -> list[Any]:
    if kind == "song":
        return songs_from_plugin(answer, source=source, path="search()")
    items = answer.get("items", []) if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ValueError(f"search(): expected a list of {kind}s, got {type(items).__name__}")
    if kind == "playlist":
        return [Playlist.from_plugin(item, path=f"search()[{i}]") for i, item in enumerate(items)]
    return [{**item, "source": source} if isinstance(item, dict) else item for item in items]


__all__ = ["Engine", "SearchResult", "Song"]
