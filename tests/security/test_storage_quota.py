"""`fox.storage` holds at most `security.storage_quota` bytes per plugin, and a key never names anything else.

Usage is the UTF-8 bytes of each key plus its JSON value; keys are opaque strings in the plugin's own namespace,
so `../other/key` is just a key, and no key reaches another plugin's data or the filesystem.
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ResourceLimitExceeded
from engine.config import Config
from script_api.host.storage import Storage

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}
QUOTA = 1024

STORE = {
    "lua": """
        local M = {}
        function M.put(key, size) fox.storage.set(key, string.rep("x", size)); return "stored" end
        function M.try_put(key, size)
          local ok, err = pcall(fox.storage.set, key, string.rep("x", size))
          if ok then return "stored" end
          return "caught: " .. tostring(err)
        end
        function M.set(key, value) fox.storage.set(key, value); return "stored" end
        function M.get(key) return fox.storage.get(key) end
        function M.drop(key) return fox.storage.delete(key) end
        function M.keys(prefix) return fox.storage.keys(prefix) end
        return M
    """,
    "js": """
        module.exports = {
          async put(key, size) { await fox.storage.set(key, "x".repeat(size)); return "stored"; },
          async try_put(key, size) {
            try { await fox.storage.set(key, "x".repeat(size)); return "stored"; }
            catch (e) { return "caught: " + e.name + ": " + e.message; }
          },
          async set(key, value) { await fox.storage.set(key, value); return "stored"; },
          async get(key) { return await fox.storage.get(key); },
          async drop(key) { return await fox.storage.delete(key); },
          async keys(prefix) { return await fox.storage.keys(prefix); },
        };
    """,
    "py": """
        def put(key, size):
            fox.storage.set(key, "x" * size)
            return "stored"

        def try_put(key, size):
            try:
                fox.storage.set(key, "x" * size)
                return "stored"
            except Exception as e:
                return "caught: " + str(e)

        def set(key, value):
            fox.storage.set(key, value)
            return "stored"

        def get(key):
            return fox.storage.get(key)

        def drop(key):
            return fox.storage.delete(key)

        def keys(prefix=None):
            return fox.storage.keys(prefix)
    """,
}


def store_plugin(write_plugin: Callable[[str, str], Path], lang: str, plugin_id: str) -> Path:
    start, end = FENCE[lang]
    manifest = f"id: {plugin_id}\nversion: 1.0.0\npermissions:\n  storage: true"
    body = textwrap.dedent(STORE[lang]).strip()
    return write_plugin(f"{plugin_id}{EXT[lang]}", f"{start}\n{manifest}\n{end}\n{body}\n")


def cost(key: str, size: int) -> int:
    """Bytes a value of `size` x's under `key` counts: the key plus the JSON string (two quotes)."""
    return len(key.encode()) + size + 2


@pytest.mark.parametrize("lang", LANGS)
async def test_a_write_past_the_quota_is_refused_and_stores_nothing(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = store_plugin(write_plugin, lang, f"hoard-{lang}")
    plugin = f"hoard-{lang}"
    async with Engine(engine_config(security={"storage_quota": "1KB"})) as fox:
        await fox.load(path)
        assert await fox.call(plugin, "put", "a", 500) == "stored"
        assert await fox.call(plugin, "put", "b", 500) == "stored"
        used = cost("a", 500) + cost("b", 500)

        with pytest.raises(ResourceLimitExceeded) as caught:
            await fox.call(plugin, "put", "c", 100)
        message = str(caught.value)
        assert f"plugin `{plugin}` would hold {used + cost('c', 100)} bytes" in message
        assert f"storage quota of {QUOTA} bytes (security.storage_quota)" in message
        assert caught.value.plugin == plugin
        assert await fox.call(plugin, "get", "c") is None  # nothing half-written
        assert await fox.call(plugin, "keys") == ["a", "b"]

        caught_inside = await fox.call(plugin, "try_put", "c", 100)  # catchable in the plugin, like any host error
        assert caught_inside.startswith("caught: ")
        assert "storage quota" in caught_inside

        assert await fox.call(plugin, "drop", "a") is True  # deleting frees the space
        assert await fox.call(plugin, "put", "c", 100) == "stored"
        assert await fox.call(plugin, "put", "b", 880) == "stored"  # a replacement counts once, not twice
        assert await fox.call(plugin, "get", "b") == "x" * 880


async def test_the_quota_is_per_plugin_and_survives_a_restart(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    full = store_plugin(write_plugin, "lua", "full")
    other = store_plugin(write_plugin, "js", "other")
    config = engine_config(security={"storage_quota": QUOTA})
    async with Engine(config) as fox:
        await fox.load(full)
        await fox.load(other)
        await fox.call("full", "put", "k", QUOTA - cost("k", 0))
        with pytest.raises(ResourceLimitExceeded):
            await fox.call("full", "put", "one-more", 1)
        assert await fox.call("other", "put", "k", 900) == "stored"  # a full neighbour costs it nothing

    async with Engine(config) as fox:
        await fox.load(full)
        with pytest.raises(ResourceLimitExceeded):
            await fox.call("full", "put", "one-more", 1)
        assert await fox.call("full", "get", "k") == "x" * (QUOTA - cost("k", 0))


async def test_multibyte_text_counts_in_bytes(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = store_plugin(write_plugin, "py", "wide")
    async with Engine(engine_config(security={"storage_quota": 100})) as fox:
        await fox.load(path)
        assert await fox.call("wide", "set", "k", "é" * 47) == "stored"  # 1 + 2 * 47 + 2 = 97 bytes, 50 characters
        with pytest.raises(ResourceLimitExceeded, match="would hold 102 bytes"):
            await fox.call("wide", "set", "ké", "")  # 3 + 2 more bytes: over, though only 54 characters in all


@pytest.mark.parametrize("lang", LANGS)
async def test_keys_are_opaque_and_never_reach_another_plugin_or_the_filesystem(
    lang: str, tmp_path: Path, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    owner = store_plugin(write_plugin, "lua", "alpha")
    prober = store_plugin(write_plugin, lang, f"beta-{lang}")
    beta = f"beta-{lang}"
    async with Engine(engine_config()) as fox:
        await fox.load(owner)
        await fox.load(prober)
        await fox.call("alpha", "set", "secret", "alpha's secret")
        before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}

        for key in ("secret", "../alpha/secret", "alpha/secret", "alpha:secret", "alpha.secret", "/alpha/secret"):
            assert await fox.call(beta, "get", key) is None, key
        for prefix in ("", "%", "_", "*", "alpha", "../"):
            assert not await fox.call(beta, "keys", prefix), prefix  # empty (a Lua plugin may give {} for [])

        escapes = ["../alpha/secret", "../../../../../../tmp/foxplug-escape", "/etc/passwd", "..\\alpha\\secret"]
        for key in escapes:
            assert await fox.call(beta, "set", key, "just a value") == "stored"
            assert await fox.call(beta, "get", key) == "just a value"  # a key round-trips as itself
        assert await fox.call(beta, "keys") == sorted(escapes)
        assert await fox.call(beta, "keys", "../") == ["../../../../../../tmp/foxplug-escape", "../alpha/secret"]
        assert await fox.call(beta, "drop", "secret") is False

        assert await fox.call("alpha", "get", "secret") == "alpha's secret"
        assert await fox.call("alpha", "keys") == ["secret"]
    assert not Path("/tmp/foxplug-escape").exists()
    after = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    assert {p for p in after - before if not p.name.startswith("storage.sqlite3")} == set()


def test_a_storage_file_from_before_quotas_counts_what_it_already_holds(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE kv (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key))"
        " WITHOUT ROWID"
    )
    db.execute("INSERT INTO kv VALUES ('p', 'k', ?)", ('"' + "x" * 90 + '"',))
    db.commit()
    db.close()

    storage = Storage(path, quota=100)
    try:
        assert storage.usage("p") == cost("k", 90)
        with pytest.raises(ResourceLimitExceeded):
            storage.set("p", "more", "x" * 10)
        storage.set("p", "k", "x" * 10)  # shrinking a value is always allowed
        assert storage.usage("p") == cost("k", 10)
        storage.delete("p", "k")
        assert storage.usage("p") == 0
    finally:
        storage.close()
    reopened = Storage(path, quota=100)  # counted once, not again on every open
    try:
        reopened.set("p", "k", "x" * 95)
        assert reopened.usage("p") == cost("k", 95)
    finally:
        reopened.close()


def test_the_quota_comes_from_the_config() -> None:
    assert Config().storage_quota == 10 << 20
    assert Config.from_mapping({"plugins": {"security": {"storage_quota": "2MB"}}}).storage_quota == 2 << 20
