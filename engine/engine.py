"""The embedding API (ARCHITECTURE §3.3): load plugins, fan out searches, ask for lyrics, deliver events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from engine.config import Config, default_config_path
from engine.errors import FoxplugError, PluginError, PluginNotFound
from engine.events import EventBus, Listener
from engine.fanout import SearchResult
from engine.gate.permissions import PermissionGate
from engine.loading.dependencies import LoadedManifests, in_dependency_order
from engine.loading.discover import discover, fingerprint
from engine.loading.pipeline import LoadEnv, load_plugin, read_version
from engine.loading.reload import PluginWatcher, carry_state, refuse_lost_manifest
from engine.monitoring.alerts import AlertEvaluator
from engine.monitoring.metrics import Metrics, sample_memory
from engine.monitoring.report import PerformanceReport, performance_report
from engine.monitoring.tracing import Tracing
from engine.players import player_for
from engine.registry.settings import RegistrySettings
from engine.running.plugin import Call, Plugin, PluginInfo
from engine.running.state import IDLE, PluginState
from engine.running.version import PluginVersion
from engine.runtimes.native import discover_installed
from engine.sources import Sources
from engine.ui import UIHooks
from script_api.host.http import HttpClient
from script_api.host.services import HostServices
from script_api.host.storage import Storage
from script_api.lyrics import Lyrics
from script_api.player import Player, PlayerHooks
from script_api.types import Song

log = logging.getLogger(__name__)


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
        self.player: Player = player or player_for(self.config.player)
        self._own_player = player is None
        """The engine made its player (`plugins.player`), so it closes it; a host's player is the host's."""
        self._grants = tuple(grants)
        self._plugins: dict[str, Plugin] = {}
        self._services: HostServices | None = None
        self._env: LoadEnv | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.events = EventBus(self._ordered, self._spawn)
        self._history: dict[str, deque[PluginVersion]] = {}
        self._path_locks: dict[Path, asyncio.Lock] = {}
        self._watcher: PluginWatcher | None = None
        self.load_errors: dict[str, FoxplugError] = {}
        """Plugins from the configured directories that failed to load, by path."""
        self.sources = Sources(self._ordered)
        """Search, lyrics and song URLs, asked of the plugins that provide them."""
        self.ui = UIHooks(self._ordered, self._get)
        self.metrics = Metrics(self._ordered)
        """Per-plugin call metrics, exported through the engine's own registry (`metrics.registry`)."""
        self.on("plugin_reloaded", lambda event: self.metrics.count_reload(event["id"], "ok"))
        self.on("reload_failed", lambda event: self.metrics.count_reload(event["id"], "failed"))
        self.on("plugin_unloaded", lambda event: self.metrics.forget(event["id"]))
        self.tracing: Tracing | None = None
        """OpenTelemetry spans of plugin calls while `monitoring.tracing.enabled` (from `start` on)."""
        self._alerts: AlertEvaluator | None = None

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
        monitoring = self.config.monitoring
        if monitoring.tracing.enabled and self.tracing is None:
            self.tracing = Tracing(monitoring.tracing)

        def later(fn: Callable[..., Any], *args: Any) -> None:
            """From a plugin thread onto the loop; returns None, so no loop Handle reaches plugin code."""
            loop.call_soon_threadsafe(fn, *args)

        self._services = HostServices(
            loop=loop,
            storage=Storage(self.config.storage, self.config.storage_quota),
            player=self.player,
            http=HttpClient(self.config.max_response_size, self.config.http_concurrency),
            notify=lambda plugin, text, level: later(
                self._publish, "notify", {"plugin": plugin, "text": text, "level": level}
            ),
            emit=partial(self.events.queue, later),
            tracer_provider=self.tracing.provider if self.tracing is not None else None,
            plugins=self._get,
        )
        bind = getattr(self.player, "bind", None)
        if callable(bind):
            bind(
                PlayerHooks(
                    resolve=partial(self._url_for_player, loop),
                    emit=lambda event, payload: later(self.events.deliver, event, payload),
                    notify=lambda text, level: later(
                        self._publish, "notify", {"plugin": "player", "text": text, "level": level}
                    ),
                )
            )
        self._env = LoadEnv(
            self.config,
            self._services,
            PermissionGate(self.config.policy),
            self._grants,
            self.metrics if monitoring.enabled else None,
            loaded=LoadedManifests(self._plugins),
        )
        if monitoring.enabled and monitoring.alert_thresholds.watched():
            self._alerts = AlertEvaluator(monitoring, self._ordered, self._publish)
            self._spawn(self._alerts.run())
        directories = self.directories
        if self.config.auto_load:
            await self.load_directories(directories, installed=True)
        if self.config.hot_reload and directories:
            self.watch(directories)

    @property
    def directories(self) -> tuple[Path, ...]:
        """The configured plugin directories, and `registry.install_dir` once something was installed there."""
        install_dir = RegistrySettings.from_config(self.config).install_dir
        return (*self.config.directories, install_dir) if install_dir.is_dir() else self.config.directories

    async def load_directories(self, directories: Iterable[Path], *, installed: bool = False) -> list[PluginInfo]:
        """Load every plugin found, concurrently; failures go to `load_errors` and a `load_failed` event.

        With `installed`, also the plugins of installed distributions (entry points in `foxplug.plugins`).
        """
        paths = [path for directory in directories for path in discover(Path(directory))]
        env = await self._load_env()
        if installed:
            env.installed.clear()
            env.installed.update(await asyncio.to_thread(discover_installed))
            paths += sorted(env.installed)
        limit = asyncio.Semaphore(self.config.max_concurrent_loads)
        versions: dict[Path, PluginVersion] = {}

        async def read(path: Path) -> None:
            async with limit:
                try:
                    versions[path] = await asyncio.to_thread(read_version, path, env.installed.get(path))
                except FoxplugError as error:
                    self._load_failed(path, error)

        await asyncio.gather(*(read(Path(path).resolve()) for path in paths))

        async def one(path: Path) -> PluginInfo:
            async with limit:
                plugin = await load_plugin(path, env, version=versions[path])
                return await self._install(plugin, time.perf_counter())

        found = [(path, version.manifest) for path, version in versions.items()]
        loaded, failed = await in_dependency_order(found, env.loaded, one)
        for path, error in failed.items():
            self._load_failed(path, error)
        return loaded

    def _load_failed(self, path: Path, error: FoxplugError) -> None:
        self.load_errors[str(path)] = error
        log.error("%s: %s", type(error).__name__, error)
        self._publish("load_failed", {"path": str(path), "error": error.to_dict()})

    async def load(self, path: str | Path, *, config: dict[str, Any] | None = None) -> PluginInfo:
        """Load one plugin file or folder; `config` overrides `plugin_configs.<id>.config`.

        Loading a plugin that is already loaded from the same path replaces it like a hot reload.
        """
        plugin = await load_plugin(Path(path).resolve(), await self._load_env(), config=config)
        return await self._install(plugin, time.perf_counter())

    async def attach(self, version: PluginVersion) -> PluginInfo:
        """Run the pipeline for a plugin that did not come from disk: one that connected itself over WebSocket
        (engine.admin.connect), whose handshake gave its manifest."""
        plugin = await load_plugin(version.manifest.path, await self._load_env(), version=version)
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
        new.breaker.listener = partial(self._breaker_event, new)
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
        plugin = await load_plugin(
            current.manifest.path, await self._load_env(), version=versions.pop(), enabled=_kept_off(current)
        )
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
                self._publish("plugin_unchanged", {"id": current.id, "version": current.manifest.version})
                return None
            env = await self._load_env()
            try:
                version = await asyncio.to_thread(read_version, root, env.installed.get(root))
                if current is not None:
                    refuse_lost_manifest(current, version)
                plugin = await load_plugin(root, env, version=version, enabled=_kept_off(current))
                info = await self._install(plugin, started)
            except FoxplugError as error:
                self._publish_failure(root, current, error)
                if force:  # an explicit reload tells its caller why; the running version keeps serving
                    raise
                return None
            if current is not None and current.id != info.id:  # the file now names another plugin
                await self.unload(current.id)
            return info

    def _publish_failure(self, root: Path, current: Plugin | None, error: FoxplugError) -> None:
        log.error("%s: %s", type(error).__name__, error)
        if current is None:
            self.load_errors[str(root)] = error
            self._publish("load_failed", {"path": str(root), "error": error.to_dict()})
        else:
            self._publish(
                "reload_failed",
                {"id": current.id, "path": str(root), "reason": error.message, "error": error.to_dict()},
            )

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

    async def stop_plugin(self, plugin_id: str) -> PluginInfo:
        """Run the plugin's `stop()` and free its runtime; it stays listed and its calls fail fast until started."""
        plugin = self._get(plugin_id)
        if plugin.state not in IDLE:
            await plugin.close()
            self._publish("plugin_stopped", {"id": plugin_id})
        return plugin.info

    async def start_plugin(self, plugin_id: str) -> PluginInfo:
        """Run a stopped (or failed) plugin again, from the version it had; a disabled one needs `enable`."""
        plugin = self._get(plugin_id)
        if plugin.state == PluginState.DISABLED:
            raise PluginError(
                f"plugin `{plugin_id}` is disabled", plugin=plugin_id, hint="enable it, which also starts it"
            )
        if plugin.state not in (PluginState.STOPPED, PluginState.FAILED):
            return plugin.info
        return await self._revive(plugin, "plugin_started")

    async def disable(self, plugin_id: str) -> PluginInfo:
        """Stop a plugin and keep it off, across reloads of its file: its calls fail fast ("plugin `x` is disabled")."""
        plugin = self._get(plugin_id)
        if plugin.state != PluginState.DISABLED:
            await plugin.close()
            plugin.state = PluginState.DISABLED
            self._publish("plugin_disabled", {"id": plugin_id, "state": "disabled", "reason": "disabled by the host"})
        return plugin.info

    async def enable(self, plugin_id: str) -> PluginInfo:
        """Run a disabled plugin (also one the config disables), from the version it had."""
        plugin = self._get(plugin_id)
        if plugin.state != PluginState.DISABLED:
            return plugin.info
        return await self._revive(plugin, "plugin_enabled")

    async def _revive(self, plugin: Plugin, event: str) -> PluginInfo:
        """A fresh instance of `plugin`'s version in its place (no state to carry: the old one is not running)."""
        async with self._path_locks.setdefault(plugin.manifest.path, asyncio.Lock()):
            if self._plugins.get(plugin.id) is not plugin:  # reloaded meanwhile: the newer version stands
                return self._get(plugin.id).info
            new = await load_plugin(plugin.manifest.path, await self._load_env(), version=plugin.version, enabled=True)
            new.breaker.listener = partial(self._breaker_event, new)
            self._plugins[new.id] = new
        self._spawn(plugin.close())  # ends a failed plugin's actor; a no-op for a stopped or disabled one
        self._publish(event, new.info.to_dict())
        return new.info

    async def report(self, plugin_id: str) -> PerformanceReport:
        """How a plugin has performed since the engine started (its memory sampled now)."""
        plugin = self._get(plugin_id)
        await sample_memory([plugin])
        return performance_report(plugin)

    async def reports(self) -> list[PerformanceReport]:
        plugins = self._ordered()
        await sample_memory(plugins)
        return [performance_report(plugin) for plugin in plugins]

    async def metrics_text(self) -> bytes:
        """The Prometheus text exposition of every plugin, memory sampled now."""
        await sample_memory(self._ordered())
        return self.metrics.render()

    def on_close(self, close: Callable[[], Awaitable[None]]) -> None:
        """Have `close()` also await this first (servers standing above the engine, such as the admin API)."""
        self._closers.append(close)

    async def close(self) -> None:
        """Stop the engine's own player (mpv exits), every plugin (running `stop()`), then the shared services."""
        close_player = getattr(self.player, "close", None)
        if self._own_player and callable(close_player):
            await asyncio.to_thread(close_player)
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            await close()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        await asyncio.gather(*(p.close() for p in self._plugins.values()), return_exceptions=True)
        self._plugins.clear()
        for task in list(self._background):
            task.cancel()
        if self._alerts is not None:
            await self._alerts.close()
            self._alerts = None
        if self._services is not None:
            await self._services.http.close()
            self._services.storage.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)
            self.tracing = None
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

    def call(self, plugin_id: str, method: str, *args: Any, timeout: float | None = None) -> Call:
        """Call any function a plugin exports, within its deadline. Returns an awaitable Call: `await` it,
        `gather` it (no Task per call) or `create_task` it."""
        try:
            plugin = self._get(plugin_id)
        except PluginNotFound as error:
            call = Call(loop=asyncio.get_running_loop())
            call.set_exception(error)
            return call
        return plugin.call(method, args, timeout)

    async def search(
        self, query: str, *, type: str = "song", limit: int = 20, timeout: float | None = None
    ) -> SearchResult:
        """Ask every `search` provider at once; a slow or failing one costs only its own entry in `errors`."""
        return await self.sources.search(query, type=type, limit=limit, timeout=timeout)

    async def lyrics(
        self, song: Mapping[str, Any] | Song, *, timeout: float | None = None, failures: dict[str, str] | None = None
    ) -> Lyrics | None:
        """The first `lyrics` provider, by priority, that answers with lyrics (its id in `Lyrics.source`)."""
        return await self.sources.lyrics(song, timeout=timeout, failures=failures)

    async def song_url(
        self, song: Mapping[str, Any] | Song, quality: str | None = None, *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        """`{url, headers, source}` for a song: its own source first, then the other `song_url` providers."""
        return await self.sources.song_url(song, quality, timeout=timeout)

    def _url_for_player(self, loop: asyncio.AbstractEventLoop, song: dict[str, Any]) -> str | None:
        """The player's `resolve` hook, on the player's own thread: `song_url` run on the engine's loop."""
        found = asyncio.run_coroutine_threadsafe(self.song_url(song), loop).result(self.config.call_timeout + 1)
        return found["url"] if found else None

    async def emit(self, event: str, payload: Any = None) -> None:
        """Deliver an event to every plugin's `on_<event>` and to host listeners; does not wait for plugins.

        A `Song` (or any data type with `to_dict`) is sent as its plain data."""
        to_dict = getattr(payload, "to_dict", None)
        self.events.deliver(event, to_dict() if callable(to_dict) else payload)

    def _breaker_event(self, plugin: Plugin, event: str, payload: dict[str, Any]) -> None:
        if self._plugins.get(plugin.id) is plugin:  # an old version winding down after a reload speaks for nobody
            self._publish(event, payload)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on(self, event: str, callback: Listener) -> Callable[[], None]:
        """Hear `notify`, engine events (`plugin_loaded`, `plugin_unloaded`, `load_failed`) and plugin events.

        Returns a function that unsubscribes. Async callbacks are scheduled, sync ones called in place.
        """
        return self.events.on(event, callback)

    def _publish(self, event: str, payload: dict[str, Any]) -> None:
        self.events.publish(event, payload)


def _kept_off(current: Plugin | None) -> bool | None:
    """A disabled plugin's new version stays disabled; otherwise `plugin_configs` decides."""
    return False if current is not None and current.state == PluginState.DISABLED else None


__all__ = ["Engine", "SearchResult", "Song"]
