"""Mistakes a new author makes, each answered with what to write instead: a manifest field typo, an unquoted
version, a URL where a host belongs, a file name that gives no id; and lyrics as authors return them (plain
text, the plugin that answered, the provider's own error)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ManifestError, PermissionDenied

LUA = "--[[---\n{manifest}\n---]]\nreturn {{}}\n"


@pytest.mark.parametrize(
    ("manifest", "error", "expected"),
    [
        (
            'id: typo\nversion: "1.0.0"\nprovide: [search]',
            ManifestError,
            ":4: field `provide`: unknown field — did you mean `provides`? known fields: author,",
        ),
        ("id: unquoted\nversion: 1.0", ManifestError, ":3: field `version`: 1.0 is a number, not a version — quote it"),
        (
            'id: url\nversion: "1.0.0"\npermissions:\n  network: ["https://api.example.com:443/v1"]',
            PermissionDenied,
            "is a URL, not a host: write the host only (api.example.com)",
        ),
        (
            'id: port\nversion: "1.0.0"\npermissions:\n  network: ["127.0.0.1:8080"]',
            PermissionDenied,
            "'127.0.0.1:8080' is a URL, not a host: write the host only (127.0.0.1)",
        ),
        ('version: "1.0.0"', ManifestError, ":2: 'id' is a required property — add `id: my-plugin` to the manifest"),
    ],
)
async def test_a_manifest_mistake_says_what_to_write_instead(
    manifest: str, error: type[Exception], expected: str, write_plugin, engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = write_plugin("mistake.lua", LUA.format(manifest=manifest))
    async with Engine(engine_config()) as fox:
        with pytest.raises(error) as caught:
            await fox.load(path)
    assert expected in str(caught.value), str(caught.value)


async def test_a_file_name_that_gives_no_id_says_to_add_one(write_plugin, engine_config) -> None:
    path = write_plugin("Ä.lua", "return {}\n")
    async with Engine(engine_config()) as fox:
        with pytest.raises(ManifestError, match="the file name 'Ä' gives no valid id: add a manifest with `id:`"):
            await fox.load(path)


async def test_hosts_cidr_and_ipv6_grants_are_still_hosts(write_plugin, engine_config) -> None:
    manifest = 'id: fine\nversion: "1.0.0"\npermissions:\n  network: ["10.0.0.0/8", "::1", "[::1]", "*.example.com"]'
    async with Engine(engine_config(security={"network_allow": ["*"]})) as fox:
        info = await fox.load(write_plugin("fine.lua", LUA.format(manifest=manifest)))
    assert info.id == "fine"


PLAIN = """--[[---
id: plain-lyrics
version: 1.0.0
provides: [lyrics]
---]]
local M = {}
function M.get_lyrics(song) return {plain = "first line\\nsecond line"} end
return M
"""
BROKEN = """--[[---
id: broken-lyrics
version: 1.0.0
provides: [lyrics]
---]]
local M = {}
function M.get_lyrics(song) return nil, "the lyrics service answered 503" end
return M
"""


def _lyrics(tmp_path: Path, *plugins: Path, json_output: bool = False) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "plugins.yaml"
    directory = plugins[0].parent
    config.write_text(f"plugins:\n  directories: [{directory}]\n  storage: {tmp_path / 's.sqlite3'}\n")
    command = [sys.executable, "-m", "engine", "--config", str(config), "lyrics", "Song", *(["--json"] * json_output)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=tmp_path)


def test_plain_lyrics_are_shown_with_the_plugin_that_answered(write_plugin, tmp_path: Path) -> None:
    path = write_plugin("plain.lua", PLAIN)

    shown, as_json = _lyrics(tmp_path, path), _lyrics(tmp_path, path, json_output=True)

    assert shown.returncode == 0 and shown.stdout == "first line\nsecond line\n"
    data = json.loads(as_json.stdout)
    assert (data["plain"], data["source"], data["lines"]) == ("first line\nsecond line", "plain-lyrics", [])


def test_lyrics_reports_the_providers_own_error(write_plugin, tmp_path: Path) -> None:
    path = write_plugin("broken.lua", BROKEN)

    result = _lyrics(tmp_path, path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "broken-lyrics: PluginError: "
        f"{path}: get_lyrics() failed: the lyrics service answered 503 — a Lua function that returns nil and a "
        "message is reported as failing with that message",
        "no lyrics for 'Song': every provider that was asked failed",
    ]
