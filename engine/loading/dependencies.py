"""The dependencies step of the pipeline: a plugin starts only when what it declares in `dependencies`
({id: range}) is loaded at a version inside the range. It runs after the policy and before the actor, so a
plugin whose dependency is missing never runs code."""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import DependencyError
from engine.loading.semver import satisfies
from engine.running.version import Manifest


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
