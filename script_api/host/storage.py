"""`fox.storage`: one durable SQLite file for the engine, one namespace per plugin."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from engine.errors import ResourceLimitExceeded
from script_api.context import PluginContext

MAX_VALUE_BYTES = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID
"""


class Storage:
    """Values are stored as JSON; every write commits, so a crash loses nothing acknowledged."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def get(self, plugin: str, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE plugin=? AND key=?", (plugin, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, plugin: str, key: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > MAX_VALUE_BYTES:
            raise ResourceLimitExceeded(
                f"fox.storage.set({key!r}): value is {len(text)} bytes, the limit is {MAX_VALUE_BYTES}",
                plugin=plugin,
            )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv (plugin, key, value) VALUES (?, ?, ?)", (plugin, key, text))

    def delete(self, plugin: str, key: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM kv WHERE plugin=? AND key=?", (plugin, key)).rowcount > 0

    def keys(self, plugin: str, prefix: str = "") -> list[str]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM kv WHERE plugin=? AND key LIKE ? ESCAPE '\\' ORDER BY key", (plugin, pattern)
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def get(ctx: PluginContext, key: str, default: Any = None) -> Any:
    return ctx.services.storage.get(ctx.plugin_id, key, default)


def set_(ctx: PluginContext, key: str, value: Any) -> None:
    ctx.services.storage.set(ctx.plugin_id, key, value)


def delete(ctx: PluginContext, key: str) -> bool:
    return ctx.services.storage.delete(ctx.plugin_id, key)


def keys(ctx: PluginContext, prefix: str = "") -> list[str]:
    return ctx.services.storage.keys(ctx.plugin_id, prefix)
