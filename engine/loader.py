"""One pipeline from a file to a running plugin (ARCHITECTURE §2.4):

read manifest → validate → admit permissions → check config → start actor → check compatibility and
create the first implementation that fits and loads (`engine.compat`) → check `provides` → `init(config)` → `start()`. Hot reload reuses it for new versions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.actor import Actor
from engine.compat import Choice
from engine.compat import start as start_implementation
from engine.config import CompatibilityPolicy, Config
from engine.errors import ConfigError, FoxplugError, ManifestError, PluginError
from engine.manifest import MANIFEST_FILE, Manifest, read_plugin
from engine.metrics import Metrics
from engine.permissions import PermissionGate
from engine.plugin import Plugin
from engine.runtimes import script_backend_for
from engine.runtimes.base import Instance, Limits, Source
from engine.validation import problems
from engine.yamldoc import dotted
from script_api.capabilities import infer_provides, missing_functions
from script_api.context import HostServices, PluginContext


@dataclass(frozen=True)
class LoadEnv:
    """What the pipeline needs from the engine."""

    config: Config
    services: HostServices
    gate: PermissionGate
    grants: tuple[str, ...] = ()
    """Extra permissions (CLI `--grant`) given to every plugin loaded with this env."""
    metrics: Metrics | None = None
    """Where plugins record their calls; None when monitoring is off."""


_EDITOR_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".orig")


def is_editor_artifact(name: str) -> bool:
    """Backup, swap and temp files editors write beside the real one (vim's `4913`, JetBrains `___jb_tmp___`)."""
    return (
        name.startswith((".", "#"))
        or name.endswith(_EDITOR_SUFFIXES)
        or name == "4913"
        or "___jb_" in name
        or name == "__pycache__"
    )


def fingerprint(path: Path) -> str:
    """A hash of the plugin's bytes (every file of a folder plugin), so unchanged saves cause no reload."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if not any(is_editor_artifact(part) for part in file.relative_to(path.parent).parts):
            digest.update(str(file.relative_to(path.parent)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def discover(directory: Path) -> Iterator[Path]:
    """Plugins in a directory: one-file plugins and folders holding a plugin.yaml."""
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("_") or is_editor_artifact(entry.name):
            continue
        if (entry.is_dir() and (entry / MANIFEST_FILE).is_file()) or (entry.is_file() and script_backend_for(entry)):
            yield entry


def limits_for(manifest: Manifest, config: Config) -> Limits:
    """What the manifest requests, capped by the policy."""
    timeout = min(manifest.timeout or config.call_timeout, config.call_timeout)
    memory = min(manifest.memory or config.memory_limit, config.memory_limit)
    return Limits(timeout=timeout, memory=memory, max_result=config.max_result_size)


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


def _starter(
    manifest: Manifest,
    source: Source,
    ctx: PluginContext,
    limits: Limits,
    policy: CompatibilityPolicy,
    isolation: str = "thread",
) -> Callable[[], Any]:
    """The part that runs on the actor thread: pick and create the implementation, check `provides`, run
    init and start."""

    def start() -> tuple[Instance, tuple[str, ...], Choice]:
        instance, choice = start_implementation(manifest, source, ctx, limits, policy, isolation=isolation)
        try:
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
            for hook, args in (("init", (ctx.config,)), ("start", ())):
                if hook in exports:
                    instance.call(hook, args, time.monotonic() + limits.timeout)
        except BaseException:
            instance.close()
            raise
        return instance, provides, choice

    return start


Version = tuple[Manifest, Source, str]
"""A plugin version as read from disk: manifest, entry source and fingerprint (kept for rollback)."""


def read_version(path: Path) -> Version:
    manifest, source = read_plugin(path)
    return manifest, source, fingerprint(path)


async def load_plugin(
    path: Path,
    env: LoadEnv,
    *,
    config: dict[str, Any] | None = None,
    version: Version | None = None,
    enabled: bool | None = None,
) -> Plugin:
    """Run the whole pipeline for the plugin at `path` (or a version read earlier); raise the first problem,
    leaving nothing running. `enabled` overrides `plugin_configs.<id>.enabled` (the admin API's enable/disable)."""
    actor = Actor(path.name)
    try:
        version = version or await actor.run(read_version, path)
        manifest, source, _ = version
        settings = env.config.settings(manifest.id)
        grants = manifest.grants.plus(env.grants)
        env.gate.policy.admit(grants, plugin=manifest.id, file=str(manifest.path))
        plugin_config = dict(settings.config if config is None else config)
        _check_plugin_config(manifest, plugin_config, env.config.source)
        ctx = PluginContext(
            plugin_id=manifest.id,
            version=manifest.version,
            path=str(manifest.path),
            config=plugin_config,
            grants=grants,
            gate=env.gate,
            services=env.services,
        )
        limits = limits_for(manifest, env.config)
        isolation = settings.isolation or env.config.isolation
        starter = _starter(manifest, source, ctx, limits, env.config.compatibility, isolation)
        metrics = env.metrics.plugin(manifest.id) if env.metrics is not None else None
        plugin = Plugin(version, ctx, limits, settings.priority, actor, starter, metrics, breaker=env.config.breaker)
        if not (settings.enabled if enabled is None else enabled):
            plugin.state = "disabled"
            actor.stop(timeout=0)
            return plugin
        await actor.run(plugin.boot)
        return plugin
    except FoxplugError:
        actor.stop(timeout=0)
        raise
    except Exception as exc:  # a runtime's own failure (lupa, quickjs, OS): still an error with an address
        actor.stop(timeout=0)
        raise PluginError(f"failed to load: {type(exc).__name__}: {exc}", file=str(path)) from exc
