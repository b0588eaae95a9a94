"""The compatibility manager: one plugin shipped three ways (native library, wasm, Lua); the engine runs the
best that fits this machine, falls back with a reason for every candidate it skips, and says so in
`foxplug doctor`, `foxplug list --json` and PluginInfo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import Engine, IncompatiblePlatform, ManifestError, PermissionDenied, PluginError
from engine.loading.platform_info import detect

REPO = Path(__file__).resolve().parent.parent
TRI = REPO / "plugins_lua" / "lyrics-tri"
SONG = {"title": "Row, Row, Row Your Boat", "artists": [{"id": "trad", "name": "Traditional"}]}
NOT_BUILT = "not built here? `make plugins` builds the bundled ones"


@pytest.fixture(scope="module")
def built_tri(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lyrics-tri built from source in a private folder (gcc → .so, clang → .wasm), as `make plugins` does."""
    missing = [tool for tool in ("make", "gcc", "clang", "wasm-ld") if shutil.which(tool) is None]
    assert not missing, f"needs {', '.join(missing)} (apt-get install gcc clang lld; .ci/run installs them)"
    folder = tmp_path_factory.mktemp("tri") / "lyrics-tri"
    shutil.copytree(TRI, folder, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-s", "-C", str(folder)], check=True, capture_output=True, timeout=120)
    return folder


@pytest.fixture
def tri(built_tri: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built plugin, free to break."""
    folder = tmp_path / "plugins" / "lyrics-tri"
    shutil.copytree(built_tri, folder)
    return folder


def skipped(info: Any) -> dict[str, str]:
    return {skip.implementation: skip.reason for skip in info.skipped}


async def test_this_machine_runs_the_native_library_and_says_why_not_the_others(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        info = await fox.load(tri)
        lyrics = await fox.lyrics(SONG)

    assert (info.implementation, info.runtime) == ("native", "native")
    assert skipped(info) == {
        "wasm": "not needed: native comes first in compatibility.prefer (native, wasm, script) and loaded",
        "lua": "not needed: native comes first in compatibility.prefer (native, wasm, script) and loaded",
    }
    assert lyrics is not None and lyrics.lines[0].text == "Row, row, row your boat,"


async def test_without_the_native_build_the_wasm_module_runs(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    (tri / "build" / "lyrics.so").unlink()

    async with Engine(engine_config()) as fox:
        info = await fox.load(tri)

    assert info.implementation == "wasm"
    assert skipped(info)["native"] == f"build/lyrics.so does not exist ({NOT_BUILT})"
    assert skipped(info)["lua"].startswith("not needed: wasm comes first")


async def test_prefer_script_runs_the_lua_one(tri: Path, engine_config: Callable[..., dict[str, Any]]) -> None:
    async with Engine(engine_config(compatibility={"prefer": ["script"]})) as fox:
        info = await fox.load(tri)

    assert info.implementation == "lua"
    assert skipped(info) == {
        "native": "native is not in compatibility.prefer (script)",
        "wasm": "wasm is not in compatibility.prefer (script)",
    }


CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("get_lyrics", (SONG,)),
    ("get_lyrics", ({"title": "Greensleeves"},)),
    ("echo", ({"title": "Zoë", "n": 3, "x": 2.5, "ok": True, "tags": ["a", "b"], "nested": {"deep": [1, 2]}},)),
    ("echo", ('just a string with "quotes" and \\ and ✓',)),
    ("encode", ({"song": ["x", 1, 2.5, True]},)),
    ("remember", ("favourite", {"song": "twinkle", "plays": 3})),
    ("remember", ("favourite", "changed")),
]


async def answers(tri: Path, config: dict[str, Any], prefer: str) -> tuple[str, list[Any], str]:
    config["plugins"]["compatibility"] = {"prefer": [prefer]}
    async with Engine(config) as fox:
        info = await fox.load(tri)
        results = [await fox.call("lyrics-tri", name, *args) for name, args in CALLS]
        with pytest.raises(PermissionDenied) as denied:
            await fox.call("lyrics-tri", "pause_player")
    return info.implementation, results, str(denied.value)


async def test_the_three_implementations_answer_alike_through_the_same_gate(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    native = await answers(tri, engine_config(), "native")
    wasm = await answers(tri, engine_config(), "wasm")
    lua = await answers(tri, engine_config(), "script")

    assert [native[0], wasm[0], lua[0]] == ["native", "wasm", "lua"]
    assert native[1] == wasm[1] == lua[1]
    assert native[1][0]["lrc"].startswith("[00:00.00]Row, row, row your boat,\n[00:03.00]Gently")
    assert native[1][1] is None
    assert native[1][4] == '{"song":["x",1,2.5,true]}'  # fox.json.encode, through host_call
    assert native[1][5:] == [{"song": "twinkle", "plays": 3}, "changed"]  # fox.storage, granted in plugin.yaml
    assert native[2] == wasm[2] == lua[2]
    assert "fox.player.pause()" in native[2] and "player.control" in native[2]


async def test_a_corrupt_native_library_falls_back_to_wasm_with_the_load_error(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    (tri / "build" / "lyrics.so").write_bytes(b"\x7fELF this is not a shared object")

    async with Engine(engine_config()) as fox:
        info = await fox.load(tri)
        still_answers = await fox.call("lyrics-tri", "echo", "hi")

    assert info.implementation == "wasm" and still_answers == "hi"
    reason = skipped(info)["native"]
    assert reason.startswith("failed to load: PluginError: ") and "cannot load native library" in reason


async def test_a_corrupt_wasm_module_falls_back_to_lua(tri: Path, engine_config: Callable[..., dict[str, Any]]) -> None:
    (tri / "build" / "lyrics.so").unlink()
    (tri / "build" / "lyrics.wasm").write_bytes(b"\0asm\x01\0\0\0garbage")

    async with Engine(engine_config()) as fox:
        info = await fox.load(tri)

    assert info.implementation == "lua"
    assert "is not a valid WebAssembly module" in skipped(info)["wasm"]


def write_manifest(folder: Path, **changes: Any) -> None:
    manifest = yaml.safe_load((folder / "plugin.yaml").read_text(encoding="utf-8"))
    manifest.update(changes)
    (folder / "plugin.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


async def test_a_plugin_for_another_os_is_incompatible_naming_what_it_needs_and_what_this_is(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    write_manifest(tri, compatibility={"os": ["darwin"], "arch": ["arm64"]})

    async with Engine(engine_config()) as fox:
        with pytest.raises(IncompatiblePlatform) as error:
            await fox.load(tri)

    assert "requires os darwin; this machine has linux" in str(error.value)
    assert error.value.field == "compatibility.os" and error.value.plugin == "lyrics-tri"


async def test_a_native_only_plugin_built_for_another_machine_is_incompatible(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    write_manifest(tri, implementations={"native": {"darwin-arm64": "build/lyrics.dylib", "linux-riscv64": "x.so"}})
    here = detect()

    async with Engine(engine_config()) as fox:
        with pytest.raises(IncompatiblePlatform) as error:
            await fox.load(tri)

    assert f"has no implementation that runs here ({here.describe()})" in str(error.value)
    assert [skip.to_dict() for skip in error.value.skipped] == [
        {"implementation": "native", "reason": f"built for darwin-arm64; this machine is {here.key}"},
        {"implementation": "native", "reason": f"built for linux-riscv64; this machine is {here.key}"},
    ]


async def test_with_fallback_off_only_the_first_preference_is_tried(
    tri: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    (tri / "build" / "lyrics.so").unlink()

    async with Engine(engine_config(compatibility={"fallback": False})) as fox:
        with pytest.raises(IncompatiblePlatform) as error:
            await fox.load(tri)

    assert {s.implementation: s.reason for s in error.value.skipped} == {
        "native": f"build/lyrics.so does not exist ({NOT_BUILT})",
        "lua": "not tried: compatibility.fallback is off",
    } | {"wasm": "not tried: compatibility.fallback is off"}


async def test_engine_and_python_version_ranges(tri: Path, engine_config: Callable[..., dict[str, Any]]) -> None:
    here = detect()
    write_manifest(tri, compatibility={"engine": ">=99.0", "python": ">=3.11"})
    async with Engine(engine_config()) as fox:
        with pytest.raises(
            IncompatiblePlatform, match=rf"requires engine >=99.0; this machine has foxplug {here.engine}"
        ):
            await fox.load(tri)

    write_manifest(tri, compatibility={"engine": f"^{here.engine}", "python": f"~{here.python}"})
    async with Engine(engine_config()) as fox:
        assert (await fox.load(tri)).implementation == "native"

    write_manifest(tri, compatibility={"python": "three point eleven"})
    async with Engine(engine_config()) as fox:
        with pytest.raises(ManifestError) as error:
            await fox.load(tri)
    assert error.value.field == "compatibility.python" and error.value.line is not None


async def test_a_plain_plugin_keeps_its_own_load_error(write_plugin: Callable[[str, str], Path]) -> None:
    path = write_plugin("broken.lua", "return {}\nlocal x = = 1\n")

    async with Engine({"plugins": {"auto_load": False}}) as fox:
        with pytest.raises(PluginError) as error:
            await fox.load(path)

    assert error.value.line == 2 and "syntax error" in str(error.value)


def foxplug(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def cli_config(tmp_path: Path, **plugins: Any) -> Path:
    config = tmp_path / "plugins.yaml"
    section = {"directories": [str(tmp_path / "plugins")], "storage": str(tmp_path / "s.sqlite3"), **plugins}
    config.write_text(yaml.safe_dump({"plugins": section}), encoding="utf-8")
    return config


def test_doctor_shows_the_platform_the_runtimes_and_each_choice(tri: Path, tmp_path: Path) -> None:
    config = cli_config(tmp_path)
    (tmp_path / "plugins" / "hello.lua").write_text("return { search = function(q) return {} end }\n")
    here = detect()

    text = foxplug("doctor", config=config)
    report = foxplug("doctor", "--json", config=config)

    assert text.returncode == 0, text.stderr
    assert f"platform  {here.describe()}" in text.stdout
    assert "runtime   wasm" in text.stdout and "runtime   lua" in text.stdout
    tri_line = next(line for line in text.stdout.splitlines() if line.startswith("lyrics-tri"))
    assert tri_line.split()[1] == "native"
    assert "    wasm: not needed: native comes first" in text.stdout
    assert "    lua: not needed: native comes first" in text.stdout
    data = json.loads(report.stdout)
    assert data["platform"]["key"] == here.key and data["platform"]["runtimes"]["wasm"]["usable"] is True
    plugins = {p["id"]: p for p in data["plugins"]}
    assert plugins["lyrics-tri"]["implementation"] == "native"
    assert [s["implementation"] for s in plugins["lyrics-tri"]["skipped"]] == ["wasm", "lua"]
    assert plugins["hello"] == {**plugins["hello"], "implementation": "lua", "skipped": []}


def test_list_json_carries_the_implementation_and_the_skips_also_of_failures(tri: Path, tmp_path: Path) -> None:
    other = tmp_path / "plugins" / "elsewhere"
    shutil.copytree(tri, other)
    write_manifest(other, id="elsewhere", implementations={"native": {"darwin-arm64": "build/lyrics.dylib"}})
    (tri / "build" / "lyrics.so").unlink()

    listed = foxplug("list", "--json", config=cli_config(tmp_path))

    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows["lyrics-tri"]["implementation"] == "wasm"
    assert rows["lyrics-tri"]["runtime"] == "wasm"
    assert rows["lyrics-tri"]["skipped"][0] == {
        "implementation": "native",
        "reason": f"build/lyrics.so does not exist ({NOT_BUILT})",
    }
    assert rows["elsewhere"]["state"] == "failed" and rows["elsewhere"]["implementation"] is None
    assert rows["elsewhere"]["error"].startswith("IncompatiblePlatform: ")
    assert rows["elsewhere"]["skipped"] == [
        {"implementation": "native", "reason": f"built for darwin-arm64; this machine is {detect().key}"}
    ]
