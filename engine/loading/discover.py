"""Finding plugins on disk: which entries of a directory are plugins, and a fingerprint of each."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from engine.loading.manifest import MANIFEST_FILE
from engine.runtimes import script_backend_for

_EDITOR_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".orig")


def is_editor_artifact(name: str) -> bool:
    """Backup, swap and temp files editors write beside the real one (vim's `4913`, JetBrains `___jb_tmp___`)."""
    return (
        name.startswith((".", "#"))
        or name.endswith(_EDITOR_SUFFIXES)
        or name == "4913"
        or "___jb_" in name
        or name == "__pycache__"
    )


def fingerprint(path: Path) -> str:
    """A hash of the plugin's bytes (every file of a folder plugin), so unchanged saves cause no reload."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if not any(is_editor_artifact(part) for part in file.relative_to(path.parent).parts):
            digest.update(str(file.relative_to(path.parent)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def discover(directory: Path) -> Iterator[Path]:
    """Plugins in a directory: one-file plugins and folders holding a plugin.yaml."""
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("_") or is_editor_artifact(entry.name):
            continue
        if (entry.is_dir() and (entry / MANIFEST_FILE).is_file()) or (entry.is_file() and script_backend_for(entry)):
            yield entry
