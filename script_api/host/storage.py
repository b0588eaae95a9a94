"""`fox.storage`: one durable SQLite file for the engine, one namespace per plugin, a byte quota per plugin.

Keys are opaque strings: `../other/key` is just a key of this plugin (the plugin's id is a separate column,
never part of the key), so no key can name another plugin's data.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import ResourceLimitExceeded, StorageError
from script_api.context import PluginContext

MAX_VALUE_BYTES = 1 << 20
DEFAULT_QUOTA = 10 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID
"""

# Bytes each plugin holds (UTF-8 key + JSON value), kept by triggers so every writer keeps it right, and so
# checking the quota costs one row read instead of a sum over the plugin's data.
_USAGE = """
CREATE TABLE IF NOT EXISTS usage (plugin TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS kv_usage_insert AFTER INSERT ON kv BEGIN
    INSERT INTO usage (plugin, bytes) VALUES (NEW.plugin, length(CAST(NEW.key AS BLOB)) + length(CAST(NEW.value AS BLOB)))
    ON CONFLICT (plugin) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS kv_usage_update AFTER UPDATE ON kv BEGIN
    UPDATE usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(CAST(OLD.value AS BLOB))
        + length(CAST(NEW.key AS BLOB)) + length(CAST(NEW.value AS BLOB)) WHERE plugin = NEW.plugin;
END;
CREATE TRIGGER IF NOT EXISTS kv_usage_delete AFTER DELETE ON kv BEGIN
    UPDATE usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(CAST(OLD.value AS BLOB))
    WHERE plugin = OLD.plugin;
END;
"""
_BACKFILL = """
INSERT OR IGNORE INTO usage (plugin, bytes)
SELECT plugin, SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))) FROM kv
WHERE NOT EXISTS (SELECT 1 FROM usage) GROUP BY plugin;
"""


class Storage:
    """Values are stored as JSON; every write commits, so a crash loses nothing acknowledged.

    The file is opened on first use, so plugins that never use storage run even when it is damaged; every
    SQLite or OS failure becomes a `StorageError` naming the file and the `plugins.storage` key."""

    def __init__(self, path: str | Path, quota: int = DEFAULT_QUOTA) -> None:
        self.path = Path(path)
        self.quota = quota
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            # One transaction, so a file from before quotas has its existing data counted exactly once.
            db.executescript("BEGIN IMMEDIATE;" + _USAGE + _BACKFILL + "COMMIT;")
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def _database(self, action: str) -> Iterator[sqlite3.Connection]:
        """The open connection, under the lock; a failure of the file is the host's `StorageError`."""
        with self._lock:
            try:
                if self._db is None:
                    self._db = self._open()
                yield self._db
            except (sqlite3.Error, OSError) as exc:
                raise self._failure(action, exc) from None

    def _failure(self, action: str, exc: BaseException) -> StorageError:
        name = getattr(exc, "sqlite_errorname", "")
        disk = name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR")  # a full disk or a file-size limit
        if disk or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            hint = f"free space on the disk holding {self.path} (or check that disk); what was written is intact"
        else:
            hint = (
                "if the file is damaged, move it aside (the engine starts a new one) or restore a backup; "
                "or point plugins.storage at another file"
            )
        return StorageError(
            f"the plugin storage file cannot be {action}: {exc}",
            file=str(self.path),
            field="plugins.storage",
            hint=hint,
        )

    def get(self, plugin: str, key: str, default: Any = None) -> Any:
        with self._database("read") as db:
            row = db.execute("SELECT value FROM kv WHERE plugin=? AND key=?", (plugin, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, plugin: str, key: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_VALUE_BYTES:
            raise ResourceLimitExceeded(
                f"fox.storage.set({key!r}): value is {size} bytes, the limit is {MAX_VALUE_BYTES}",
                plugin=plugin,
            )
        size += len(key.encode("utf-8", "surrogatepass"))
        with self._database("written") as db, db:
            db.execute("BEGIN IMMEDIATE")  # read usage and write under one lock, also against other processes
            used = self._usage(db, plugin)
            old = db.execute(
                "SELECT length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) FROM kv WHERE plugin=? AND key=?",
                (plugin, key),
            ).fetchone()
            after = used - (old[0] if old else 0) + size
            if after > self.quota and size > (old[0] if old else 0):
                raise ResourceLimitExceeded(
                    f"fox.storage.set({key!r}): plugin `{plugin}` would hold {after} bytes, over its storage quota "
                    f"of {self.quota} bytes (security.storage_quota)",
                    plugin=plugin,
                    hint="delete keys it no longer needs (fox.storage.delete), or raise security.storage_quota",
                )
            db.execute(
                "INSERT INTO kv (plugin, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
                (plugin, key, text),
            )

    def usage(self, plugin: str) -> int:
        """Bytes `plugin` holds: its keys (UTF-8) plus its values (JSON, UTF-8)."""
        with self._database("read") as db:
            return self._usage(db, plugin)

    @staticmethod
    def _usage(db: sqlite3.Connection, plugin: str) -> int:
        row = db.execute("SELECT bytes FROM usage WHERE plugin=?", (plugin,)).fetchone()
        return row[0] if row else 0

    def delete(self, plugin: str, key: str) -> bool:
        with self._database("written") as db:
            return db.execute("DELETE FROM kv WHERE plugin=? AND key=?", (plugin, key)).rowcount > 0

    def keys(self, plugin: str, prefix: str = "") -> list[str]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._database("read") as db:
            rows = db.execute(
                "SELECT key FROM kv WHERE plugin=? AND key LIKE ? ESCAPE '\\' ORDER BY key", (plugin, pattern)
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def get(ctx: PluginContext, key: str, default: Any = None) -> Any:
    return ctx.services.storage.get(ctx.plugin_id, key, default)


def set_(ctx: PluginContext, key: str, value: Any) -> None:
    ctx.services.storage.set(ctx.plugin_id, key, value)


def delete(ctx: PluginContext, key: str) -> bool:
    return ctx.services.storage.delete(ctx.plugin_id, key)


def keys(ctx: PluginContext, prefix: str = "") -> list[str]:
    return ctx.services.storage.keys(ctx.plugin_id, prefix)
