"""One pipeline from a file to a running plugin (ARCHITECTURE §2.4), read top to bottom in `load_plugin`:

discover → read manifest → validate → check compatibility → admit permissions → check dependencies → start actor
→ create the implementation → check `provides` → `init(config)` → `start()`. Hot reload runs it for the new
version and swaps only on success; a plugin that connected itself (a WebSocket handshake) enters with its
version already read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.errors import ConfigError, FoxplugError, ManifestError, PluginError
from engine.gate.permissions import Grants, PermissionGate
from engine.loading import compat
from engine.loading.dependencies import check_dependencies
from engine.loading.discover import fingerprint
from engine.loading.manifest import read_plugin
from engine.running.actor import Actor
from engine.running.plugin import CallRecorder, Plugin
from engine.running.state import PluginState
from engine.running.version import Manifest, PluginVersion
from engine.runtimes.base import Instance, Limits, run_start_hooks
from engine.schemas import dotted, problems
from script_api.capabilities import infer_provides, missing_functions
from script_api.context import PluginContext
from script_api.host.services import HostServices


class Recorders:
    """Where plugins record their calls, by plugin id (monitoring's Metrics); absent when monitoring is off."""

    def plugin(self, plugin_id: str) -> CallRecorder: ...


@dataclass(frozen=True)
class LoadEnv:
    """What the pipeline needs from the engine."""

    config: Config
    services: HostServices
    gate: PermissionGate
    grants: tuple[str, ...] = ()
    """Extra permissions (CLI `--grant`) given to every plugin loaded with this env."""
    metrics: Recorders | None = None
    """Where plugins record their calls; None when monitoring is off."""
    installed: dict[Path, EntryPoint] = field(default_factory=dict)
    """Plugins of installed distributions, by the path they are read from (filled by discovery)."""
    loaded: Mapping[str, Manifest] = field(default_factory=dict)
    """The running plugins' manifests by id, for the dependencies step (a live view of the engine's)."""


def read_version(path: Path, entry_point: EntryPoint | None = None) -> PluginVersion:
    """Read and validate a plugin's manifest and entry source, and fingerprint its bytes."""
    manifest, source = read_plugin(path, entry_point)
    return PluginVersion(manifest, source, fingerprint(path))


def limits_for(manifest: Manifest, config: Config) -> Limits:
    """What the manifest requests, capped by the policy."""
    timeout = min(manifest.timeout or config.call_timeout, config.call_timeout)
    memory = min(manifest.memory or config.memory_limit, config.memory_limit)
    return Limits(timeout=timeout, memory=memory, max_result=config.max_result_size)


async def load_plugin(
    path: Path,
    env: LoadEnv,
    *,
    config: dict[str, Any] | None = None,
    version: PluginVersion | None = None,
    enabled: bool | None = None,
) -> Plugin:
    """Run the whole pipeline for the plugin at `path` (or a version read earlier); raise the first problem,
    leaving nothing running. `enabled` overrides `plugin_configs.<id>.enabled` (the admin API's enable/disable)."""
    try:
        if version is None:  # manifest, validated against its schema (off the loop: it reads files)
            version = await asyncio.to_thread(read_version, path, env.installed.get(path))
        manifest = version.manifest
        settings = env.config.settings(manifest.id)
        plugin_config = dict(settings.config if config is None else config)
        # Off the loop: the work grows with the plugin's schema (bounded when the manifest was read).
        await asyncio.to_thread(_check_plugin_config, manifest, plugin_config, env.config.source)
        plan = compat.plan(manifest, version.source, env.config.compatibility)
        grants = manifest.grants.merged(Grants.from_manifest(settings.permissions)).plus(env.grants)
        env.gate.policy.admit(grants, plugin=manifest.id, file=str(manifest.path))
        check_dependencies(manifest, env.loaded)
    except FoxplugError:
        raise
    except Exception as exc:  # an OS failure while reading: still an error with an address
        raise PluginError(f"failed to load: {type(exc).__name__}: {exc}", file=str(path)) from exc

    ctx = PluginContext(
        plugin_id=manifest.id,
        version=manifest.version,
        path=str(manifest.path),
        config=plugin_config,
        grants=grants,
        gate=env.gate,
        services=env.services,
        dependencies=frozenset(manifest.dependencies),
    )
    limits = limits_for(manifest, env.config)
    actor = Actor(path.name)
    metrics = env.metrics.plugin(manifest.id) if env.metrics is not None else None
    plugin = Plugin(version, ctx, limits, settings.priority, actor, metrics, breaker=env.config.breaker)
    if not (settings.enabled if enabled is None else enabled):
        plugin.state = PluginState.DISABLED
        actor.stop(timeout=0)
        return plugin
    isolation = settings.isolation or env.config.isolation
    try:
        await actor.run(_start, plugin, plan, env.config.compatibility, isolation)
    except FoxplugError:
        actor.stop(timeout=0)
        raise
    except Exception as exc:  # a runtime's own failure (lupa, quickjs, OS): still an error with an address
        actor.stop(timeout=0)
        raise PluginError(f"failed to load: {type(exc).__name__}: {exc}", file=str(path)) from exc
    return plugin


def _start(plugin: Plugin, plan: compat.Plan, policy: compat.CompatibilityPolicy, isolation: str) -> None:
    """On the plugin's actor thread: create the implementation, check `provides`, run init and start."""
    instance, choice = compat.create_first(plan, plugin.ctx, plugin.limits, policy, isolation)
    try:
        provides = _check_provides(plugin.manifest, instance)
        run_start_hooks(instance.exports(), instance.call, plugin.ctx.config, plugin.limits.timeout)
    except BaseException:
        instance.close()
        raise
    plugin.started(instance, provides, choice)


def _check_provides(manifest: Manifest, instance: Instance) -> tuple[str, ...]:
    exports = instance.exports()
    provides = manifest.provides if manifest.provides is not None else infer_provides(exports)
    if missing := missing_functions(provides, exports):
        cap, names = next(iter(missing.items()))
        raise ManifestError(
            f"declares `{cap}` in provides but does not export {', '.join(names)}()",
            plugin=manifest.id,
            file=str(manifest.path),
            field="provides",
            hint=f"export {', '.join(names)} or remove `{cap}` from provides",
        )
    return provides


def _check_plugin_config(manifest: Manifest, config: dict[str, Any], source: Path | None) -> None:
    if not manifest.config_schema:
        return
    for problem in problems(config, manifest.config_schema):
        raise ConfigError(
            f"config for plugin `{manifest.id}`: {problem.message}",
            plugin=manifest.id,
            file=str(source) if source else None,
            field=dotted(("plugin_configs", manifest.id, "config", *problem.path)),
            hint=problem.hint or "see the plugin's config_schema",
        )
