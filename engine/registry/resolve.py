"""Which versions to install: resolvelib (pip's backtracking resolver) over the releases of the indexes.

The engine takes part as a pseudo-plugin `engine` with exactly one version, the running one, so an index
entry's `engine: ">=0.2"` is one more requirement that backtracking honours. Highest versions are tried first;
yanked releases only when pinned by the lockfile; prereleases only when allowed or named by a range (npm's
rule, engine.semver). resolvelib accepts cycles and can backtrack for a very long time on adversarial graphs,
so the resolved set is checked for cycles by the load step's own rule and both rounds and wall time are capped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver
from resolvelib.providers import AbstractProvider

from engine.errors import DependencyError
from engine.loading.dependencies import plan
from engine.loading.semver import Range, Version, parse_range, parse_version
from engine.registry.index import Release

ENGINE = "engine"
MAX_ROUNDS = 2000
MAX_SECONDS = 2.0


@dataclass(frozen=True)
class Requirement:
    id: str
    range: Range
    parent: str | None = None
    """`id version` of the release that asks, or None for the user's own request."""
    pinned: bool = False
    """Comes from the lockfile: may keep a yanked release."""

    def describe(self) -> str:
        who = f"`{self.parent}` needs" if self.parent else "the lockfile pins" if self.pinned else "you asked for"
        return f"{who} `{self.id}` {self.range.text.strip() or '*'}"


@dataclass(frozen=True)
class Candidate:
    id: str
    version: Version
    release: Release | None
    """None for the engine pseudo-plugin."""


class _OutOfTime(Exception):
    pass


class _Provider(AbstractProvider):  # type: ignore[type-arg]
    def __init__(
        self, releases: Mapping[str, Sequence[Release]], engine: Version, prerelease: bool, deadline: float
    ) -> None:
        self._releases = releases
        self._engine = Candidate(ENGINE, engine, None)
        self._prerelease = prerelease
        self._deadline = deadline
        self.unusable: dict[tuple[str, str], str] = {}
        """(id, version) -> why no choice of the others can make it fit, found once per release."""

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.id

    def get_preference(
        self, identifier: str, resolutions: Any, candidates: Any, information: Any, backtrack_causes: Any
    ) -> Any:
        # The engine first (one candidate), then what caused backtracking, then the fewest releases: a plugin
        # with one release that cannot fit fails the whole request at once instead of after a long backtrack.
        causes = {cause.requirement.id for cause in backtrack_causes}
        return (identifier != ENGINE, identifier not in causes, len(self._releases.get(identifier, ())), identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        if time.monotonic() > self._deadline:
            raise _OutOfTime
        wanted = list(requirements[identifier])
        refused = {c.version for c in incompatibilities[identifier]}
        if identifier == ENGINE:
            pool: Iterable[Candidate] = [self._engine]
        else:
            pinned = any(r.pinned for r in wanted)
            pool = (
                Candidate(identifier, release.semver, release)
                for release in self._releases.get(identifier, ())
                if pinned or not release.yanked
            )
        return [
            c
            for c in pool
            if c.version not in refused
            and all(r.range.allows(c.version, prerelease=self._prerelease) for r in wanted)
            and not self._unusable(c)
        ]

    def _unusable(self, candidate: Candidate) -> str | None:
        """Why a release can never fit, whatever else is chosen: a dependency (or engine range) that no release
        satisfies. Pruned here, it costs no backtracking to find out."""
        release = candidate.release
        if release is None:
            return None
        key = (release.id, release.version)
        if key not in self.unusable:
            self.unusable[key] = next(
                (
                    f"`{release.id} {release.version}` needs `{r.id}` {r.range}, "
                    + (f"and this engine is {self._engine.version}" if r.id == ENGINE else self._listed(r.id))
                    for r in self.get_dependencies(candidate)
                    if not any(r.range.allows(c.version, prerelease=self._prerelease) for c in self._pool(r.id))
                ),
                "",
            )
        return self.unusable[key] or None

    def _listed(self, identifier: str) -> str:
        versions = [r.version for r in self._releases.get(identifier, ()) if not r.yanked]
        return f"which no index has (`{identifier}`: {', '.join(versions)})" if versions else "which no index lists"

    def _pool(self, identifier: str) -> Iterable[Candidate]:
        if identifier == ENGINE:
            return [self._engine]
        return (Candidate(identifier, r.semver, r) for r in self._releases.get(identifier, ()) if not r.yanked)

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return requirement.range.allows(candidate.version, prerelease=self._prerelease)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        release = candidate.release
        if release is None:
            return []
        parent = f"{release.id} {release.version}"
        found = [Requirement(dep, parse_range(text), parent) for dep, text in release.dependencies.items()]
        if release.engine:
            found.append(Requirement(ENGINE, parse_range(release.engine), parent))
        return found


def resolve(
    requirements: Sequence[Requirement],
    releases: Mapping[str, Sequence[Release]],
    engine_version: str,
    *,
    prerelease: bool = False,
    max_rounds: int = MAX_ROUNDS,
    max_seconds: float = MAX_SECONDS,
) -> dict[str, Release]:
    """The release to install for every plugin needed, or a DependencyError naming who asked for what."""
    provider = _Provider(releases, parse_version(engine_version), prerelease, time.monotonic() + max_seconds)
    resolver: Resolver[Requirement, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve(requirements, max_rounds=max_rounds)
    except ResolutionImpossible as error:
        raise _impossible(error.causes, releases, engine_version, provider.unusable) from None
    except ResolutionTooDeep:
        raise DependencyError(
            f"the resolver gave up after {max_rounds} rounds of backtracking",
            hint="pin the plugins you ask for to narrower ranges (ID@RANGE)",
        ) from None
    except _OutOfTime:
        raise DependencyError(
            f"the resolver gave up after {max_seconds:g} s of backtracking",
            hint="pin the plugins you ask for to narrower ranges (ID@RANGE)",
        ) from None
    chosen = {pid: c.release for pid, c in result.mapping.items() if c.release is not None}
    _refuse_cycles(chosen)
    return chosen


def _impossible(
    causes: Sequence[Any],
    releases: Mapping[str, Sequence[Release]],
    engine: str,
    unusable: Mapping[tuple[str, str], str],
) -> DependencyError:
    by_id: dict[str, list[Requirement]] = {}
    for cause in causes:
        by_id.setdefault(cause.requirement.id, []).append(cause.requirement)
    pid, asked = next(iter(by_id.items()))
    blocked = [why for (rid, _), why in unusable.items() if rid == pid and why]
    if pid == ENGINE:
        have = f"this engine is {engine}"
    elif pid not in releases:
        have = "no configured index lists it"
    else:
        have = "available: " + ", ".join(r.version for r in releases[pid] if not r.yanked)
        if blocked:
            have += f"; none can fit: {blocked[0]}"
    return DependencyError(
        f"no version of `{pid}` satisfies {'; '.join(r.describe() for r in asked)} ({have})",
        plugin=pid,
        hint="ask for versions whose dependencies agree, or wait for a release that fits",
    )


def _refuse_cycles(chosen: Mapping[str, Release]) -> None:
    manifests = {pid: _Pseudo(r) for pid, r in chosen.items()}
    errors = plan(manifests).errors
    if errors:
        raise next(iter(errors.values()))


@dataclass(frozen=True)
class _Pseudo:
    """A release seen as the load step sees a manifest, so both refuse cycles by the same rule."""

    release: Release

    @property
    def id(self) -> str:
        return self.release.id

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def path(self) -> Path:
        return Path(self.release.url)

    @property
    def dependencies(self) -> dict[str, str]:
        return self.release.dependencies
