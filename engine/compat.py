"""The compatibility manager: which of a plugin's implementations runs on this machine (ARCHITECTURE §2.4).

From the manifest's `compatibility` and `implementations` and the policy's `prefer` / `fallback` it orders the
candidates, then tries each in turn — first whether it fits this machine, then whether it actually loads —
and records why every candidate it did not use was skipped. The loader calls `start` on the plugin's actor
thread in place of a bare `backend.create`, so a plugin with one implementation takes the same path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.config import CompatibilityPolicy
from engine.errors import IncompatiblePlatform
from engine.isolation import ISOLATED_RUNTIMES, isolated
from engine.manifest import Implementation, Manifest
from engine.platform_info import Platform, detect, normalise_arch, normalise_os
from engine.runtimes.base import Instance, Limits, Source
from engine.semver import satisfies
from script_api.context import PluginContext

log = logging.getLogger(__name__)

SCRIPT_KINDS = frozenset({"lua", "js", "python"})


def kind_class(kind: str) -> str:
    """The word `compatibility.prefer` uses for an implementation kind: lua, js and python are `script`."""
    return "script" if kind in SCRIPT_KINDS else kind


@dataclass(frozen=True, slots=True)
class Skip:
    """A candidate that was not used, and why."""

    implementation: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"implementation": self.implementation, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Choice:
    """The implementation that runs, and every other candidate with the reason it does not."""

    implementation: str
    skipped: tuple[Skip, ...] = ()


def check_requirements(manifest: Manifest, here: Platform) -> None:
    """`compatibility: {os, arch, engine, python}`: the plugin as a whole, whichever implementation runs."""
    wanted = manifest.data.get("compatibility", {})
    checks = (
        ("os", here.os, lambda: here.os in {normalise_os(o) for o in wanted["os"]}),
        ("arch", here.arch, lambda: here.arch in {normalise_arch(a) for a in wanted["arch"]}),
        ("engine", f"foxplug {here.engine}", lambda: satisfies(here.engine, wanted["engine"])),
        ("python", f"Python {here.python}", lambda: satisfies(here.python, wanted["python"])),
    )
    for key, have, fits in checks:
        if key in wanted and not fits():
            need = ", ".join(wanted[key]) if isinstance(wanted[key], list) else wanted[key]
            raise IncompatiblePlatform(
                f"plugin `{manifest.id}` requires {key} {need}; this machine has {have}",
                plugin=manifest.id,
                file=str(manifest.path),
                field=f"compatibility.{key}",
                hint=f"this machine: {here.describe()}",
            )


def _unfit(candidate: Implementation, here: Platform, folder: Path) -> str | None:
    """Why a candidate cannot run here before even trying it, or None."""
    if candidate.platform is not None and candidate.platform not in ("any", *here.native_keys()):
        return f"built for {candidate.platform}; this machine is {here.key}"
    if candidate.source is None:
        name = candidate.path.relative_to(folder) if candidate.path.is_relative_to(folder) else candidate.path
        built = (
            " (not built here? `make plugins` builds the bundled ones)" if candidate.kind in ("native", "wasm") else ""
        )
        return f"{name} does not exist{built}"
    runtime = here.usable(candidate.kind)
    if not runtime.usable:
        return f"the {candidate.kind} runtime is not usable here: {runtime.reason}"
    return None


def _ordered(
    candidates: tuple[Implementation, ...], prefer: tuple[str, ...]
) -> tuple[list[Implementation], list[Skip]]:
    """Candidates by the policy's order of kinds (the manifest's order within a kind); kinds it leaves out
    are skipped. Runtimes `prefer` does not speak of (process, grpc) keep their place after the others."""
    governed = {"native", "wasm", "script"}
    rank = {kind: index for index, kind in enumerate(prefer)}
    kept, skipped = [], []
    for candidate in candidates:
        cls = kind_class(candidate.kind)
        if cls in governed and cls not in rank:
            skipped.append(Skip(candidate.kind, f"{cls} is not in compatibility.prefer ({', '.join(prefer)})"))
        else:
            kept.append(candidate)
    kept.sort(key=lambda c: rank.get(kind_class(c.kind), len(rank)))
    return kept, skipped


def _why_not_needed(chosen: Implementation, other: Implementation, prefer: tuple[str, ...]) -> str:
    if kind_class(chosen.kind) != kind_class(other.kind):
        return f"not needed: {chosen.kind} comes first in compatibility.prefer ({', '.join(prefer)}) and loaded"
    return f"not needed: {chosen.kind} is listed before it in implementations and loaded"


def start(
    manifest: Manifest,
    source: Source,
    ctx: PluginContext,
    limits: Limits,
    policy: CompatibilityPolicy,
    here: Platform | None = None,
    isolation: str = "thread",
) -> tuple[Instance, Choice]:
    """Create the instance of the first candidate that fits and loads; raise IncompatiblePlatform when none
    does — or, when only one could run here and it failed, that failure (a script's file:line says more)."""
    here = here or detect()
    check_requirements(manifest, here)
    candidates = manifest.implementations or (Implementation(manifest.backend, manifest.entry, None, source),)
    folder = manifest.path if manifest.path.is_dir() else manifest.path.parent
    ordered, skipped = _ordered(candidates, policy.prefer)
    if not policy.fallback:
        skipped += [Skip(c.kind, "not tried: compatibility.fallback is off") for c in ordered[1:]]
        ordered = ordered[:1]
    tried: list[tuple[Implementation, Exception]] = []
    for index, candidate in enumerate(ordered):
        reason = _unfit(candidate, here, folder)
        if reason is not None:
            skipped.append(Skip(candidate.kind, reason))
            continue
        assert candidate.source is not None
        try:
            create = candidate.backend.create
            if isolation == "process" and candidate.kind in ISOLATED_RUNTIMES:
                create = isolated(candidate.backend)
            instance = create(candidate.source, ctx, limits)
        except Exception as exc:
            tried.append((candidate, exc))
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            skipped.append(Skip(candidate.kind, f"failed to load: {type(exc).__name__}: {message}"))
            log.info(
                "plugin %s: %s failed to load: %s", manifest.id, candidate.kind, exc, extra={"plugin": manifest.id}
            )
            continue
        skipped += [Skip(c.kind, _why_not_needed(candidate, c, policy.prefer)) for c in ordered[index + 1 :]]
        return instance, Choice(candidate.kind, tuple(skipped))
    if len(tried) == 1:  # the one implementation that could run here: its own error (file:line) says most
        raise tried[0][1]
    raise _nothing_fits(manifest, here, tuple(skipped))


def _nothing_fits(manifest: Manifest, here: Platform, skipped: tuple[Skip, ...]) -> IncompatiblePlatform:
    reasons = "; ".join(f"{s.implementation}: {s.reason}" for s in skipped)
    return IncompatiblePlatform(
        f"plugin `{manifest.id}` has no implementation that runs here ({here.describe()}): {reasons}",
        plugin=manifest.id,
        file=str(manifest.path),
        field="implementations",
        hint=f"add one built for {here.key}, or a portable one (wasm, lua, js, python)",
        skipped=skipped,
    )
