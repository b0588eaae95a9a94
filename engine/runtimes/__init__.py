"""The backend table: one row per plugin language, found by name or file extension."""

from __future__ import annotations

from pathlib import Path

from engine.runtimes import js, lua, native, wasm
from engine.runtimes.base import Backend
from engine.runtimes.compat import lx, musicfree
from engine.runtimes.grpc import backend as grpc
from engine.runtimes.process import backend as process
from engine.runtimes.python import backend as python

BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        lua.BACKEND,
        js.BACKEND,
        python.BACKEND,
        native.BACKEND,
        wasm.BACKEND,
        process.BACKEND,
        grpc.BACKEND,
        lx.BACKEND,
        musicfree.BACKEND,
    )
}
"""Order matters for `.py`: restricted Python unless a manifest says `runtime: native`; and for `.js`: plain
foxplug JavaScript unless another ecosystem's backend claims the source."""

INSTALLED = native.BACKEND
"""What runs plugins that installed distributions declare (entry points in `foxplug.plugins`)."""


def backend_for_extension(suffix: str) -> Backend | None:
    return next((b for b in BACKENDS.values() if suffix in b.extensions), None)


def claiming_backend(path: Path, text: str) -> Backend | None:
    """The backend of another ecosystem whose plugin shape this file (one without front matter) has."""
    return next(
        (b for b in BACKENDS.values() if b.claims is not None and path.suffix in b.extensions and b.claims(text)),
        None,
    )


def script_backend_for(path: Path) -> Backend | None:
    """The backend of a file that can be a plugin on its own (inline front matter), not a binary."""
    backend = backend_for_extension(path.suffix)
    return None if backend is None or path.suffix in backend.binary else backend
