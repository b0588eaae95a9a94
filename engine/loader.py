"""One pipeline from a file to a running plugin (ARCHITECTURE §2.4):

read manifest → validate → pick the backend → admit permissions → check config → start actor →
create the instance → check `provides` → `init(config)` → `start()`. Hot reload reuses it for new versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.actor import Actor
from engine.config import Config
from engine.errors import ConfigError, FoxplugError, ManifestError, PluginError
from engine.manifest import MANIFEST_FILE, Manifest, read_plugin
from engine.permissions import PermissionGate
from engine.plugin import Plugin
from engine.runtimes import backend_for_extension
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


def discover(directory: Path) -> Iterator[Path]:
    """Plugins in a directory: one-file plugins and folders holding a plugin.yaml."""
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if (entry.is_dir() and (entry / MANIFEST_FILE).is_file()) or (
            entry.is_file() and backend_for_extension(entry.suffix)
        ):
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


def _starter(manifest: Manifest, source: Source, ctx: PluginContext, limits: Limits) -> Callable[[], Any]:
    """The part that runs on the actor thread: build the instance, check `provides`, run init and start."""

    def start() -> tuple[Instance, tuple[str, ...]]:
        instance = manifest.backend.create(source, ctx, limits)
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
        return instance, provides

    return start


async def load_plugin(path: Path, env: LoadEnv, *, config: dict[str, Any] | None = None) -> Plugin:
    """Run the whole pipeline for the plugin at `path`; raise the first problem, leaving nothing running."""
    actor = Actor(path.name)
    try:
        manifest, source = await actor.run(read_plugin, path)
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
        plugin = Plugin(
            manifest, source, ctx, limits, settings.priority, actor, _starter(manifest, source, ctx, limits)
        )
        await actor.run(plugin.boot)
        return plugin
    except FoxplugError:
        actor.stop(timeout=0)
        raise
    except Exception as exc:  # a runtime's own failure (lupa, quickjs, OS): still an error with an address
        actor.stop(timeout=0)
        raise PluginError(f"failed to load: {type(exc).__name__}: {exc}", file=str(path)) from exc
