"""The dependencies step of the pipeline: a plugin starts only when what it declares in `dependencies`
({id: range}) is loaded at a version inside the range. It runs after the policy and before the actor, so a
plugin whose dependency is missing never runs code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from engine.errors import DependencyError, FoxplugError
from engine.loading.semver import satisfies
from engine.running.plugin import Plugin
from engine.running.version import Manifest

T = TypeVar("T")


def check_dependencies(manifest: Manifest, loaded: Mapping[str, str]) -> None:
    """Raise DependencyError naming both parties when a dependency is itself, absent, or outside its range;
    `loaded` maps the ids of running plugins to their versions."""
    for dependency, wanted in manifest.dependencies.items():
        where = {"plugin": manifest.id, "file": str(manifest.path), "field": f"dependencies.{dependency}"}
        if dependency == manifest.id:
            raise DependencyError(
                f"plugin `{manifest.id}` depends on itself ({manifest.id} -> {manifest.id})",
                **where,
                hint="remove it from dependencies",
            )
        have = loaded.get(dependency)
        if have is None:
            raise DependencyError(
                f"plugin `{manifest.id}` needs `{dependency}` {wanted}, which is not loaded",
                **where,
                hint=f"put plugin `{dependency}` in a plugin directory (or install it), then reload `{manifest.id}`",
            )
        if not satisfies(have, wanted):
            raise DependencyError(
                f"plugin `{manifest.id}` needs `{dependency}` {wanted}, but {dependency} {have} is loaded",
                **where,
                hint=f"use a version of `{dependency}` inside {wanted}, or widen the range",
            )


async def in_dependency_order(
    paths: list[Path], load: Callable[[Path], Awaitable[T]]
) -> tuple[list[T], dict[Path, FoxplugError]]:
    """Load plugins concurrently; those refused for a dependency that was loading beside them are tried again
    each round until a round brings nothing new (what is left: missing dependencies, bad ranges, cycles)."""
    loaded: list[T] = []
    failed: dict[Path, FoxplugError] = {}
    waiting = list(paths)
    while waiting:
        results = await asyncio.gather(*map(load, waiting), return_exceptions=True)
        progress = False
        retry: list[Path] = []
        for path, result in zip(waiting, results, strict=True):
            if isinstance(result, DependencyError):
                retry.append(path)
                failed[path] = result
            elif isinstance(result, FoxplugError):
                failed[path] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                loaded.append(result)
                failed.pop(path, None)
                progress = True
        waiting = retry if progress else []
    return loaded, failed


class LoadedVersions(Mapping[str, str]):
    """The running plugins' versions by id, as the dependencies step reads them (a live view of the engine's)."""

    def __init__(self, plugins: Mapping[str, Plugin]) -> None:
        self._plugins = plugins

    def __getitem__(self, plugin_id: str) -> str:
        return self._plugins[plugin_id].manifest.version

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)
