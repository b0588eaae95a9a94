"""The backend table: one row per plugin language, found by name or file extension."""

from __future__ import annotations

from engine.runtimes import js, lua, python
from engine.runtimes.base import Backend

BACKENDS: dict[str, Backend] = {b.name: b for b in (lua.BACKEND, js.BACKEND, python.BACKEND)}


def backend_for_extension(suffix: str) -> Backend | None:
    return next((b for b in BACKENDS.values() if suffix in b.extensions), None)
