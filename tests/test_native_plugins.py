"""Native plugins: trusted Python modules, packages and installed entry points, and C libraries over the ABI —
in-process, yet behind the same `fox` object and the same permission gate as every sandboxed runtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import Engine, IncompatiblePlatform, PermissionDenied, PluginError

REPO = Path(__file__).resolve().parent.parent


def folder_plugin(root: Path, name: str, manifest: dict[str, Any], files: dict[str, str]) -> Path:
    folder = root / "plugins" / name
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (folder / "plugin.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]]) -> AsyncIterator[Engine]:
    async with Engine(engine_config()) as engine:
        yield engine


MODULE = """
import os  # trusted: any module, unlike restricted Python

LOADED_AS = fox.plugin.id  # `fox` is there before the module's own code runs


def search(query, opts=None):
    return [{"id": str(os.getpid() > 0), "title": query.upper()}]


def count(key):
    n = (fox.storage.get(key) or 0) + 1
    fox.storage.set(key, n)
    return n


def whoami():
    return LOADED_AS


def pause():
    fox.player.pause()


def broken():
    return {"a": 1}["b"]
"""


async def test_a_native_python_module_gets_fox_and_the_gate(fox: Engine, tmp_path: Path) -> None:
    manifest = {"id": "native-mod", "version": "1.0.0", "runtime": "native", "entry": "plugin_module.py"}
    path = folder_plugin(
        tmp_path, "native-mod", {**manifest, "permissions": {"storage": True}}, {"plugin_module.py": MODULE}
    )

    info = await fox.load(path)

    assert (info.runtime, info.implementation, info.provides) == ("native", "native", ("search",))
    assert set(info.exports) == {"search", "count", "whoami", "pause", "broken"}  # not `os`, not imports
    assert [s.title for s in (await fox.search("abc")).items] == ["ABC"]
    assert [await fox.call("native-mod", "count", "k") for _ in range(2)] == [1, 2]
    assert await fox.call("native-mod", "whoami") == "native-mod"
    with pytest.raises(PermissionDenied, match=r"fox\.player\.pause\(\) without the `player.control` permission"):
        await fox.call("native-mod", "pause")
    with pytest.raises(PluginError) as error:
        await fox.call("native-mod", "broken")
    assert error.value.file == str(path / "plugin_module.py") and error.value.line == 25
    assert "broken() failed: KeyError: 'b'" in str(error.value)


async def test_a_native_package_with_relative_imports_reloads_fresh(fox: Engine, tmp_path: Path) -> None:
    files = {
        "lyricpkg/__init__.py": "from .words import line\n\ndef get_lyrics(song):\n    return {'lrc': line(song['title'])}\n",
        "lyricpkg/words.py": "def line(title):\n    return f'[00:01.00]{title}'\n",
    }
    manifest = {"id": "native-pkg", "version": "1.0.0", "runtime": "native", "entry": "lyricpkg"}
    path = folder_plugin(tmp_path, "native-pkg", manifest, files)

    await fox.load(path)
    first = await fox.lyrics({"title": "Hi"})
    (path / "lyricpkg" / "words.py").write_text("def line(title):\n    return f'[00:02.00]{title}!'\n")
    await fox.reload("native-pkg")
    second = await fox.lyrics({"title": "Hi"})

    assert first is not None and first.lrc == "[00:01.00]Hi"
    assert second is not None and second.lrc == "[00:02.00]Hi!"


async def test_native_code_can_be_kept_out_by_policy(
    engine_config: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    manifest = {"id": "native-mod", "version": "1.0.0", "runtime": "native", "entry": "plugin_module.py"}
    path = folder_plugin(tmp_path, "native-mod", manifest, {"plugin_module.py": MODULE})

    async with Engine(engine_config(compatibility={"prefer": ["wasm", "script"]})) as fox:
        with pytest.raises(
            IncompatiblePlatform, match=r"native: native is not in compatibility.prefer \(wasm, script\)"
        ):
            await fox.load(path)


def test_an_installed_distribution_advertising_an_entry_point_is_loaded(tmp_path: Path) -> None:
    site = tmp_path / "site"
    package = site / "fox_lyrics_extra"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        '"""---\nprovides: [lyrics]\npermissions: {storage: true}\n---"""\nfrom .source import get_lyrics, remember\n'
    )
    (package / "source.py").write_text(
        "def get_lyrics(song):\n    return {'lrc': '[00:00.00]installed ' + song['title']}\n\n"
        "def remember(value):\n    fox.storage.set('v', value)\n    return fox.storage.get('v')\n"
    )
    dist_info = site / "fox_lyrics_extra-2.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: fox-lyrics-extra\nVersion: 2.1\n")
    (dist_info / "entry_points.txt").write_text("[foxplug.plugins]\nextra-lyrics = fox_lyrics_extra\n")
    config = tmp_path / "plugins.yaml"
    config.write_text(yaml.safe_dump({"plugins": {"directories": [], "storage": str(tmp_path / "s.sqlite3")}}))
    env = {**os.environ, "PYTHONPATH": str(site)}

    def foxplug(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "engine", "--config", str(config), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=REPO)

    listed = foxplug("list", "--json")
    called = foxplug("call", "extra-lyrics", "remember", '{"x": 1}')
    lyrics = foxplug("lyrics", "Hello", "--json")

    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["id"] == "extra-lyrics" and row["version"] == "2.1.0" and row["runtime"] == "native"
    assert row["path"] == str(package) and row["provides"] == ["lyrics"]
    assert json.loads(called.stdout) == {"x": 1}, called.stderr
    assert json.loads(lyrics.stdout)["lrc"] == "[00:00.00]installed Hello", lyrics.stderr


BAD_LIBRARY = r"""
typedef unsigned int u32; typedef unsigned long long u64;
#define EXPORT __attribute__((visibility("default")))
static unsigned char heap[4096]; static u32 top = 8;
EXPORT unsigned char *foxplug_memory(u32 *size) { *size = sizeof heap; return heap; }
EXPORT int foxplug_abi_version(void) { return ABI; }
EXPORT u32 foxplug_alloc(u32 n) { u32 p = top; top += (n + 7) & ~7u; if (top > sizeof heap) top = 8, p = 8; return p; }
EXPORT void foxplug_free(u32 p, u32 n) { (void)p; (void)n; }
static const char info[] = "{\"exports\":[\"wild\",\"fine\"]}";
EXPORT u64 foxplug_info(void) {
    u32 p = foxplug_alloc(sizeof info - 1);
    for (u32 i = 0; i < sizeof info - 1; i++) heap[p + i] = info[i];
    return ((u64)p << 32) | (sizeof info - 1);
}
EXPORT u64 foxplug_call(u32 np, u32 nl, u32 ap, u32 al) {
    (void)nl; (void)ap; (void)al;
    if (heap[np] == 'w') return ((u64)0x7fffff00 << 32) | 64;  /* far outside its 4 KiB */
    u32 p = foxplug_alloc(8);
    for (u32 i = 0; i < 8; i++) heap[p + i] = "{\"ok\":1}"[i];
    return ((u64)p << 32) | 8;
}
"""


@pytest.fixture
def native_library(tmp_path: Path) -> Callable[..., Path]:
    assert shutil.which("gcc"), "needs gcc (apt-get install gcc; .ci/run installs it)"

    def build(abi: int = 1) -> Path:
        folder = tmp_path / "plugins" / "bad-lib"
        (folder / "build").mkdir(parents=True, exist_ok=True)
        (folder / "bad.c").write_text(BAD_LIBRARY)
        library = folder / "build" / "bad.so"
        command = ["gcc", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", f"-DABI={abi}", "-o", str(library)]
        subprocess.run([*command, str(folder / "bad.c")], check=True, capture_output=True, timeout=60)
        manifest = {"id": "bad-lib", "version": "1.0.0", "runtime": "native", "entry": "build/bad.so"}
        (folder / "plugin.yaml").write_text(yaml.safe_dump(manifest))
        return folder

    return build


async def test_a_native_library_returning_a_wild_pointer_gets_a_plugin_error_and_the_host_is_unharmed(
    fox: Engine, native_library: Callable[..., Path]
) -> None:
    await fox.load(native_library())

    with pytest.raises(PluginError, match=r"wild\(\): the result is bytes 2147483392\.\.2147483456, outside its 4096"):
        await fox.call("bad-lib", "wild")
    assert await fox.call("bad-lib", "fine") == 1


async def test_a_native_library_of_another_abi_version_does_not_load(
    fox: Engine, native_library: Callable[..., Path]
) -> None:
    with pytest.raises(PluginError, match="native library speaks foxplug ABI 7, this engine speaks 1"):
        await fox.load(native_library(abi=7))


async def test_a_binary_is_not_a_one_file_plugin(fox: Engine, native_library: Callable[..., Path]) -> None:
    library = native_library() / "build" / "bad.so"

    with pytest.raises(Exception, match="a native binary is not a plugin on its own") as error:
        await fox.load(library)
    assert type(error.value).__name__ == "ManifestError"
