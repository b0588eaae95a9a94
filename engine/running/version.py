"""A plugin version as the pipeline read it: its manifest, entry source and fingerprint, and which of its
implementations runs. Defined here, below the loader that builds them, because running plugins hold them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.gate.permissions import Grants
from engine.runtimes.base import Backend, Instance, Limits, Source
from script_api.context import PluginContext


@dataclass(frozen=True, slots=True)
class Implementation:
    """One alternative of `implementations`: what runs it, its file, and for a native build its machine."""

    backend: Backend
    path: Path
    platform: str | None = None
    """`implementations.native` only: the machine it was built for (`linux-x86_64`, `any`)."""
    source: Source | None = None
    """Read with the manifest, so a kept version holds every alternative; None: the file is not there."""

    @property
    def kind(self) -> str:
        return self.backend.name


@dataclass(frozen=True)
class Manifest:
    id: str
    version: str
    path: Path
    """The plugin as the user named it: its file, or its folder."""
    entry: Path
    backend: Backend
    grants: Grants
    provides: tuple[str, ...] | None
    """None when there was no manifest: inferred from the exports once loaded."""
    name: str = ""
    description: str = ""
    dependencies: dict[str, str] = field(default_factory=dict)
    config_schema: dict[str, Any] | None = None
    timeout: float | None = None
    memory: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    implementations: tuple[Implementation, ...] = ()
    """From `implementations`, in the manifest's order; empty: the entry is the only implementation."""

    @property
    def runtime(self) -> str:
        return self.backend.name


@dataclass(frozen=True, slots=True)
class PluginVersion:
    """What a reload compares and a rollback goes back to: read once from disk (or a handshake), never changed."""

    manifest: Manifest
    source: Source
    digest: str
    """A fingerprint of the plugin's bytes, so an unchanged save causes no reload."""


@dataclass(frozen=True, slots=True)
class Skip:
    """A candidate implementation that was not used, and why."""

    implementation: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"implementation": self.implementation, "reason": self.reason}


Create = Callable[[Source, PluginContext, Limits], Instance]


@dataclass(frozen=True, slots=True)
class Choice:
    """The implementation that runs (and how to create it again after a runaway call), and every other
    candidate with the reason it does not."""

    implementation: str
    create: Create
    source: Source
    skipped: tuple[Skip, ...] = ()
