"""`plugins.lock.json` beside the config: exactly what is installed, so `restore` can rebuild it anywhere.

Written atomically, and only by install, update, uninstall (and rollback, which is an update to the kept
version): startup and restore never rewrite it, so a read-only config directory keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import ConfigError
from engine.registry.index import Release, write_atomically


def read_lock(path: Path) -> dict[str, Release]:
    """The pinned releases by id; an absent lockfile is an empty one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot read the lockfile: {error}", file=str(path), hint="restore it from a backup"
        ) from None
    try:
        return {
            pid: Release(pid, entry["version"], entry["url"], entry["sha256"], None, entry.get("index"))
            for pid, entry in data["plugins"].items()
        }
    except (KeyError, TypeError) as error:
        raise ConfigError(
            f"the lockfile is malformed: missing {error}", file=str(path), hint='expected {"plugins": {ID: {...}}}'
        ) from None


def write_lock(path: Path, releases: dict[str, Release]) -> None:
    data = {"plugins": {pid: releases[pid].lock_entry() for pid in sorted(releases)}}
    write_atomically(path, (json.dumps(data, indent=2) + "\n").encode())
