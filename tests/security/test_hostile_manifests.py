"""A hostile or broken manifest is a one-line `ManifestError` with file, line and field, found quickly and off the
event loop: no exponential schema check, no alias bomb, no raw PyYAML or Python error, no file outside the folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ManifestError

Write = Callable[[str, str], Path]


def nested_all_of(levels: int) -> dict[str, Any]:
    """Each level refers twice to the one below: 2**levels paths through a ~1 KB schema."""
    defs: dict[str, Any] = {"l0": {"type": "string"}}
    for i in range(1, levels + 1):
        defs[f"l{i}"] = {"allOf": [{"$ref": f"#/$defs/l{i - 1}"}, {"$ref": f"#/$defs/l{i - 1}"}]}
    return {"$defs": defs, "type": "object", "properties": {"name": {"$ref": f"#/$defs/l{levels}"}}}


def folder_plugin(root: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    folder = root / "plugins" / "folder"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.yaml").write_bytes(manifest.encode("utf-8", "surrogateescape"))
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


async def test_an_exponential_config_schema_is_refused_at_once(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Write
) -> None:
    schema = json.dumps(nested_all_of(24))
    path = write_plugin("bomb.lua", f"--[[---\nid: bomb\nversion: 1.0.0\nconfig_schema: {schema}\n---]]\nreturn {{}}\n")
    started = time.perf_counter()
    async with Engine(engine_config(plugin_configs={"bomb": {"config": {"name": "x"}}})) as fox:
        with pytest.raises(ManifestError) as caught:
            await fox.load(path)
    assert time.perf_counter() - started < 5  # a 24-level schema took 2**24 steps on the loop before
    assert caught.value.field == "config_schema" and caught.value.line == 4
    assert "once its $refs are followed" in str(caught.value)


async def test_a_small_config_schema_with_refs_still_checks_the_config(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Write
) -> None:
    schema = json.dumps(nested_all_of(3))
    path = write_plugin("fine.lua", f"--[[---\nid: fine\nversion: 1.0.0\nconfig_schema: {schema}\n---]]\nreturn {{}}\n")
    async with Engine(engine_config(plugin_configs={"fine": {"config": {"name": 5}}})) as fox:
        with pytest.raises(Exception, match="5 is not of type 'string'"):
            await fox.load(path)


async def test_a_yaml_alias_bomb_is_refused_with_a_short_message(
    engine_config: Callable[..., dict[str, Any]], write_plugin: Write
) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = write_plugin("aliases.lua", "--[[---\nid: aliases\nversion: 1.0.0\n" + "\n".join(levels) + "\n---]]\n")
    async with Engine(engine_config()) as fox:
        with pytest.raises(ManifestError) as caught:
            await fox.load(path)
    assert "100,000 values" in str(caught.value)
    assert len(str(caught.value)) < 1000  # it was a 34.7 MB message, kept and served by the admin API


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ('id: weird\nversion: 1.0.0\nname: "\x07bell"\n', "invalid YAML"),
        ("id: weird\nversion: 1.0.0\nentry: []\n", "entry"),
        ("id: weird\nversion: 1.0.0\nlimits:\n  timeout: " + "9" * 5000 + "\n", "invalid YAML"),
        ("id: weird\nversion: 1.0.0\nname: caf\udce9\n", "not UTF-8"),
        ("id: weird\nversion: 1.0.0\nlimits: {timeout: 1e400}\n", "limits.timeout"),
        ("id: weird\nversion: 1.0.0\n" + "[" * 5000 + "\n", "invalid YAML"),
    ],
    ids=["control-character", "entry-not-a-string", "huge-int", "not-utf8", "infinite-timeout", "deep-nesting"],
)
async def test_a_broken_manifest_is_a_manifest_error(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]], manifest: str, expected: str
) -> None:
    folder = folder_plugin(tmp_path, manifest, {"main.lua": "return {}\n"})
    async with Engine(engine_config()) as fox:
        with pytest.raises(ManifestError, match=expected) as caught:
            await fox.load(folder)
    assert caught.value.file is not None and caught.value.file.endswith("plugin.yaml")


def test_the_cli_prints_one_line_for_a_broken_manifest(tmp_path: Path) -> None:
    folder = folder_plugin(tmp_path, 'id: weird\nversion: 1.0.0\nname: "\x07bell"\n', {"main.lua": "return {}\n"})
    run = subprocess.run(
        [sys.executable, "-m", "engine", "check", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    assert "ManifestError" in run.stdout + run.stderr


async def test_entry_outside_the_folder_is_refused(
    tmp_path: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.lua").write_text("return {ping = function() return 'escaped' end}\n", encoding="utf-8")
    folder = folder_plugin(tmp_path, "id: escape\nversion: 1.0.0\nentry: ../../outside/x.lua\n")
    async with Engine(engine_config()) as fox:
        with pytest.raises(ManifestError, match="outside the plugin's folder") as caught:
            await fox.load(folder)
    assert caught.value.field == "entry"
