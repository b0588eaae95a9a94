"""The dependencies step of the load pipeline: in which order plugins start, and which may not start at all.

It runs after the policy and before the actor, so a plugin whose dependency is missing never runs code. One
pure function of the manifests at hand answers for the directory loader, a single `Engine.load` and a hot
reload alike: `plan(manifests)` -> the ids in dependency order (every plugin after the plugins it depends on)
plus a `DependencyError` per plugin that must not start. The rule, in order:

1. a dependency that is absent, or present at a version outside the range, fails its dependent;
2. every member of a cycle (`a -> b -> a`) fails, naming the whole cycle;
3. a plugin whose dependency failed (by 1, 2 or 3) fails too, saying which dependency and why.

Every error names every party: the dependent, the dependency, the range asked for and the version present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from engine.errors import DependencyError, FoxplugError
from engine.loading.semver import parse_range
from engine.running.plugin import Plugin

T = TypeVar("T")


class Dependent(Protocol):
    """What this step reads of a manifest."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def dependencies(self) -> Mapping[str, str]: ...


@dataclass
class Plan:
    order: list[str] = field(default_factory=list)
    """Ids that may start, each after its dependencies."""
    errors: dict[str, DependencyError] = field(default_factory=dict)
    """Ids that may not start, and why."""


def plan(manifests: Mapping[str, Dependent]) -> Plan:
    """Order `manifests` (by id) by their dependencies and refuse the ones whose dependencies do not hold."""
    result = Plan()
    for manifest in manifests.values():
        if error := _unmet(manifest, manifests):
            result.errors[manifest.id] = error
    for group, cycle in _cycles(manifests):
        path = " -> ".join([*cycle, cycle[0]])
        for member in group:
            result.errors.setdefault(
                member,
                DependencyError(
                    f"plugins `{'`, `'.join(sorted(group))}` depend on each other in a cycle: {path}",
                    plugin=member,
                    file=str(manifests[member].path),
                    field="dependencies",
                    hint="a plugin cannot depend on itself through others; move the shared part into a third plugin",
                ),
            )
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(pid: str) -> None:
        if pid in done or pid in visiting:
            return
        visiting.add(pid)
        for dep in manifests[pid].dependencies:
            if dep in manifests:
                visit(dep)
                if dep in result.errors and pid not in result.errors:
                    result.errors[pid] = blocked(manifests[pid], dep, result.errors[dep])
        visiting.discard(pid)
        done.add(pid)
        if pid not in result.errors:
            result.order.append(pid)

    for pid in manifests:
        visit(pid)
    return result


def check_dependencies(manifest: Dependent, loaded: Mapping[str, Dependent]) -> None:
    """Refuse `manifest` when its dependencies are not loaded at fitting versions, when it closes a cycle, or
    when, as a new version of a loaded plugin, it falls outside the range a loaded dependent asks for (the
    running version then keeps serving). `loaded`: the running plugins' manifests by id."""
    manifests = {**loaded, manifest.id: manifest}
    errors = plan(manifests).errors
    if manifest.id in errors:
        raise errors[manifest.id]
    broken = [errors[pid] for pid in dependents(manifests.values(), manifest.id) if pid in errors]
    if broken:
        raise DependencyError(
            f"plugin `{manifest.id}` {manifest.version} is refused: {broken[0]}",
            plugin=manifest.id,
            file=str(manifest.path),
            hint=f"the running `{manifest.id}` keeps serving; keep its version in the range its dependents ask for",
        )


async def in_dependency_order(
    found: Sequence[tuple[Path, Dependent]],
    loaded: Mapping[str, Dependent],
    load: Callable[[Path], Awaitable[T]],
) -> tuple[list[T], dict[Path, FoxplugError]]:
    """Load the plugins `found` (path, manifest), concurrently, each once the plugins it depends on are up; the
    ones `plan` refuses, and the dependents of any that fail, are not loaded at all."""
    batch: dict[str, Dependent] = {}
    for _, manifest in found:
        batch.setdefault(manifest.id, manifest)  # a second plugin of one id is refused when it is installed
    order = plan({**loaded, **batch})
    loop = asyncio.get_running_loop()
    outcome: dict[str, asyncio.Future[FoxplugError | None]] = {pid: loop.create_future() for pid in batch}
    for pid, error in order.errors.items():
        if pid in outcome:
            outcome[pid].set_result(error)

    async def one(path: Path, manifest: Dependent) -> T | FoxplugError:
        first = batch[manifest.id] is manifest
        if first and manifest.id in order.errors:
            return order.errors[manifest.id]
        try:
            for dep in manifest.dependencies:
                if dep in outcome and (failure := await asyncio.shield(outcome[dep])):
                    raise blocked(manifest, dep, failure)
            result = await load(path)
        except FoxplugError as error:
            if first:
                outcome[manifest.id].set_result(error)
            return error
        if first:
            outcome[manifest.id].set_result(None)
        return result

    results = await asyncio.gather(*(one(path, manifest) for path, manifest in found))
    done = [r for r in results if not isinstance(r, FoxplugError)]
    failed = {path: r for (path, _), r in zip(found, results, strict=True) if isinstance(r, FoxplugError)}
    return done, failed


class LoadedManifests(Mapping[str, Dependent]):
    """The running plugins' manifests by id, as this step reads them (a live view of the engine's)."""

    def __init__(self, plugins: Mapping[str, Plugin]) -> None:
        self._plugins = plugins

    def __getitem__(self, plugin_id: str) -> Dependent:
        return self._plugins[plugin_id].manifest

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)


def blocked(manifest: Dependent, dependency: str, error: FoxplugError) -> DependencyError:
    """The error of a plugin that is not started because its dependency failed."""
    return DependencyError(
        f"plugin `{manifest.id}` is not started: its dependency `{dependency}` "
        f"({manifest.dependencies[dependency]}) failed: {type(error).__name__}: {error}",
        plugin=manifest.id,
        file=str(manifest.path),
        field=f"dependencies.{dependency}",
        hint=f"fix `{dependency}` first; `{manifest.id}` starts with it",
    )


def dependents(manifests: Iterable[Dependent], plugin_id: str) -> list[str]:
    """Ids of the plugins that declare `plugin_id` as a dependency, sorted."""
    return sorted(m.id for m in manifests if plugin_id in m.dependencies)


def _unmet(manifest: Dependent, manifests: Mapping[str, Dependent]) -> DependencyError | None:
    for dep, text in manifest.dependencies.items():
        where = {"plugin": manifest.id, "file": str(manifest.path), "field": f"dependencies.{dep}"}
        present = manifests.get(dep)
        if present is None:
            known = ", ".join(f"{m.id} {m.version}" for m in manifests.values() if m.id != manifest.id) or "none"
            return DependencyError(
                f"plugin `{manifest.id}` needs `{dep}` {text}, which is not loaded (present: {known})",
                hint=f"install it (`foxplug install {dep}`) or put it in a plugin directory",
                **where,
            )
        if not parse_range(text).allows(present.version):
            return DependencyError(
                f"plugin `{manifest.id}` needs `{dep}` {text}, but `{dep}` is {present.version} ({present.path})",
                hint=f"use a `{dep}` version in {text}, or widen the range in `{manifest.id}`'s manifest",
                **where,
            )
    return None


def _cycles(manifests: Mapping[str, Dependent]) -> list[tuple[list[str], list[str]]]:
    """Strongly connected groups of more than one plugin (or one depending on itself), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[list[str], list[str]]] = []

    def connect(pid: str) -> None:
        index[pid] = low[pid] = len(index)
        stack.append(pid)
        on_stack.add(pid)
        for dep in manifests[pid].dependencies:
            if dep not in manifests:
                continue
            if dep not in index:
                connect(dep)
                low[pid] = min(low[pid], low[dep])
            elif dep in on_stack:
                low[pid] = min(low[pid], index[dep])
        if low[pid] == index[pid]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == pid:
                    break
            if len(group) > 1 or pid in manifests[pid].dependencies:
                found.append((group, _walk(group, manifests)))

    for pid in manifests:
        if pid not in index:
            connect(pid)
    return found


def _walk(group: list[str], manifests: Mapping[str, Dependent]) -> list[str]:
    """One cycle in the group as a path a reader can follow, along dependencies inside the group."""
    members, path = set(group), [min(group)]
    while True:
        step = next(d for d in manifests[path[-1]].dependencies if d in members)
        if step in path:
            return path[path.index(step) :]
        path.append(step)
