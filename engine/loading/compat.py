"""The compatibility manager: which of a plugin's implementations runs on this machine (ARCHITECTURE §2.4).

From the manifest's `compatibility` and `implementations` and the policy's `prefer` / `fallback` it orders the
candidates, then tries each in turn — first whether it fits this machine, then whether it actually loads —
and records why every candidate it did not use was skipped. `plan` runs before anything is created; the pipeline
runs `create_first` on the plugin's actor thread in place of a bare `backend.create`, so a plugin with one
implementation takes the same path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.config import CompatibilityPolicy
from engine.errors import IncompatiblePlatform
from engine.loading.platform_info import Platform, detect, normalise_arch, normalise_os
from engine.loading.semver import satisfies
from engine.running.version import Choice, Implementation, Manifest, Skip
from engine.runtimes.base import Backend, Instance, Limits, Source
from engine.runtimes.process.isolation import isolated
from script_api.context import PluginContext

log = logging.getLogger(__name__)


def kind_class(backend: Backend) -> str:
    """The word `compatibility.prefer` uses for an implementation: its backend's family (lua, js and python are
    `script`), else its name."""
    return backend.family or backend.name


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
        built = " (not built here? `make plugins` builds the bundled ones)" if candidate.backend.binary else ""
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
        cls = kind_class(candidate.backend)
        if cls in governed and cls not in rank:
            skipped.append(Skip(candidate.kind, f"{cls} is not in compatibility.prefer ({', '.join(prefer)})"))
        else:
            kept.append(candidate)
    kept.sort(key=lambda c: rank.get(kind_class(c.backend), len(rank)))
    return kept, skipped


def _why_not_needed(chosen: Implementation, other: Implementation, prefer: tuple[str, ...]) -> str:
    if kind_class(chosen.backend) != kind_class(other.backend):
        return f"not needed: {chosen.kind} comes first in compatibility.prefer ({', '.join(prefer)}) and loaded"
    return f"not needed: {chosen.kind} is listed before it in implementations and loaded"


@dataclass(frozen=True, slots=True)
class Plan:
    """The candidates that may run here, best first, and those already ruled out (with why)."""

    manifest: Manifest
    candidates: tuple[tuple[Implementation, str | None], ...]
    """In the order to try them, each with why it cannot run here (None: it may)."""
    skipped: tuple[Skip, ...]
    """Ruled out by the policy before any check of this machine."""
    here: Platform


def plan(manifest: Manifest, source: Source, policy: CompatibilityPolicy, here: Platform | None = None) -> Plan:
    """Check the plugin's requirements and order its implementations; nothing is created yet (that needs the
    plugin's own thread: `create_first`). Raises IncompatiblePlatform when the plugin as a whole cannot run."""
    here = here or detect()
    check_requirements(manifest, here)
    candidates = manifest.implementations or (Implementation(manifest.backend, manifest.entry, None, source),)
    folder = manifest.path if manifest.path.is_dir() else manifest.path.parent
    ordered, skipped = _ordered(candidates, policy.prefer)
    if not policy.fallback:
        skipped += [Skip(c.kind, "not tried: compatibility.fallback is off") for c in ordered[1:]]
        ordered = ordered[:1]
    checked = tuple((candidate, _unfit(candidate, here, folder)) for candidate in ordered)
    if all(reason is not None for _, reason in checked):
        raise _nothing_fits(manifest, here, (*skipped, *(Skip(c.kind, str(reason)) for c, reason in checked)))
    return Plan(manifest, checked, tuple(skipped), here)


def create_first(
    plan: Plan, ctx: PluginContext, limits: Limits, policy: CompatibilityPolicy, isolation: str = "thread"
) -> tuple[Instance, Choice]:
    """On the plugin's actor thread: create the first candidate that loads, falling back to the next; raise
    IncompatiblePlatform when none does — or, when only one was tried, its own failure (its file:line says more)."""
    skipped = list(plan.skipped)
    tried: list[Exception] = []
    for index, (candidate, unfit) in enumerate(plan.candidates):
        if unfit is not None:
            skipped.append(Skip(candidate.kind, unfit))
            continue
        assert candidate.source is not None
        create = candidate.backend.create
        if isolation == "process" and candidate.backend.isolatable:
            create = isolated(candidate.backend)
        try:
            instance = create(candidate.source, ctx, limits)
        except Exception as exc:
            tried.append(exc)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            skipped.append(Skip(candidate.kind, f"failed to load: {type(exc).__name__}: {message}"))
            log.info(
                "plugin %s: %s failed to load: %s", ctx.plugin_id, candidate.kind, exc, extra={"plugin": ctx.plugin_id}
            )
            continue
        later = [c for c, _ in plan.candidates[index + 1 :]]
        skipped += [Skip(c.kind, _why_not_needed(candidate, c, policy.prefer)) for c in later]
        return instance, Choice(candidate.kind, create, candidate.source, tuple(skipped))
    if len(tried) == 1:  # the one implementation that could run here: its own error (file:line) says most
        raise tried[0]
    raise _nothing_fits(plan.manifest, plan.here, tuple(skipped))


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
