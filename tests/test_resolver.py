"""What the resolver picks from an index, and how it refuses: naming parties, never hanging."""

from __future__ import annotations

import time

import pytest

from engine.errors import DependencyError
from engine.loading.semver import parse_range
from engine.registry.index import Release
from engine.registry.resolve import Requirement, resolve


def release(pid: str, version: str, engine: str | None = None, yanked: bool = False, **deps: str) -> Release:
    deps = {k.replace("_", "-"): v for k, v in deps.items()}
    return Release(pid, version, f"https://x/{pid}-{version}.zip", "0" * 64, 1, "test", engine, deps, yanked)


def index(*releases: Release) -> dict[str, list[Release]]:
    found: dict[str, list[Release]] = {}
    for r in releases:
        found.setdefault(r.id, []).append(r)
    return {pid: sorted(rs, key=lambda r: r.semver, reverse=True) for pid, rs in found.items()}


def ask(*specs: str) -> list[Requirement]:
    return [Requirement(pid, parse_range(text)) for pid, _, text in (s.partition("@") for s in specs)]


def picked(result: dict[str, Release]) -> dict[str, str]:
    return {pid: r.version for pid, r in result.items()}


def test_it_backtracks_to_versions_that_agree() -> None:
    releases = index(
        release("app", "2.0.0", lib="^2"),
        release("app", "1.0.0", lib="^1"),
        release("lib", "2.0.0", engine=">=9"),  # needs an engine that does not exist yet
        release("lib", "1.4.0"),
        release("lib", "1.5.0-beta.1"),
    )
    assert picked(resolve(ask("app@*"), releases, "0.1.0")) == {"app": "1.0.0", "lib": "1.4.0"}


def test_prereleases_only_when_allowed() -> None:
    releases = index(release("lib", "1.5.0-beta.1"), release("lib", "1.4.0"))
    assert picked(resolve(ask("lib@^1"), releases, "0.1.0")) == {"lib": "1.4.0"}
    assert picked(resolve(ask("lib@^1"), releases, "0.1.0", prerelease=True)) == {"lib": "1.5.0-beta.1"}
    assert picked(resolve(ask("lib@>=1.5.0-beta.0 <2"), releases, "0.1.0")) == {"lib": "1.5.0-beta.1"}


def test_yanked_releases_are_not_picked() -> None:
    releases = index(release("lib", "1.4.0", yanked=True), release("lib", "1.3.0"))
    assert picked(resolve(ask("lib"), releases, "0.1.0")) == {"lib": "1.3.0"}


def test_a_conflict_names_both_parents_and_the_versions_there_are() -> None:
    releases = index(
        release("a", "1.0.0", lib="^1"),
        release("b", "1.0.0", lib="^2"),
        release("lib", "1.0.0"),
        release("lib", "2.0.0"),
    )
    with pytest.raises(DependencyError) as caught:
        resolve(ask("a", "b"), releases, "0.1.0")
    message = str(caught.value)
    assert "no version of `lib`" in message and "`a 1.0.0` needs `lib` ^1" in message
    assert "`b 1.0.0` needs `lib` ^2" in message and "available: 2.0.0, 1.0.0" in message


def test_a_missing_dependency_and_a_too_old_engine_are_named() -> None:
    with pytest.raises(DependencyError, match=r"`a 1\.0\.0` needs `gone` \^1, which no index lists"):
        resolve(ask("a"), index(release("a", "1.0.0", gone="^1")), "0.1.0")
    with pytest.raises(DependencyError, match=r"`a 1\.0\.0` needs `engine` >=2, and this engine is 0\.1\.0"):
        resolve(ask("a"), index(release("a", "1.0.0", engine=">=2")), "0.1.0")


def test_a_cycle_in_the_index_is_refused_naming_it() -> None:
    releases = index(release("a", "1.0.0", b="*"), release("b", "1.0.0", a="*"))
    with pytest.raises(DependencyError, match="a -> b -> a"):
        resolve(ask("a"), releases, "0.1.0")


def test_an_adversarial_index_gives_up_within_its_caps() -> None:
    # Every version of every `pN` pins a different version of `p(N+1)`, and the last ask cannot be met:
    # the resolver must backtrack through all combinations unless its rounds or its time run out.
    releases = []
    for n in range(12):
        for v in range(1, 9):
            releases.append(release(f"p{n}", f"{v}.0.0", **{f"p{n + 1}": f"={(v * 3 + n) % 8 + 1}.0.0"}))
    releases += [release("p12", f"{v}.0.0", never="*") for v in range(1, 9)]
    started = time.monotonic()
    with pytest.raises(DependencyError, match=r"gave up|no version"):
        resolve(ask("p0"), index(*releases), "0.1.0", max_seconds=1.0)
    assert time.monotonic() - started < 5


def test_rounds_and_wall_time_are_capped() -> None:
    chain = index(*(release(f"p{n}", "1.0.0", **{f"p{n + 1}": "*"}) for n in range(20)), release("p20", "1.0.0"))
    with pytest.raises(DependencyError, match="gave up after 3 rounds"):
        resolve(ask("p0"), chain, "0.1.0", max_rounds=3)
    with pytest.raises(DependencyError, match="gave up after 0 s"):
        resolve(ask("p0"), chain, "0.1.0", max_seconds=0)
    assert len(resolve(ask("p0"), chain, "0.1.0")) == 21
