"""A plugin author's manifest mistakes are reported with the file, the line, the field and what to do."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ManifestError, PermissionDenied, PluginError, PluginTimeout, ResourceLimitExceeded

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}
SEARCH = {
    "lua": "local M = {}\nfunction M.search(q) return {{id = '1', title = q}} end\nreturn M",
    "js": "module.exports = { search(q) { return [{id: '1', title: q}]; } };",
    "py": "def search(q, opts=None):\n    return [{'id': '1', 'title': q}]",
}


def plugin_text(lang: str, manifest: str, body: str | None = None) -> str:
    start, end = FENCE[lang]
    code = SEARCH[lang] if body is None else textwrap.dedent(body).strip()
    return f"{start}\n{textwrap.dedent(manifest).strip()}\n{end}\n{code}\n"


Write = Callable[[str, str], Path]
Config = Callable[..., dict[str, Any]]


async def load_error(path: Path, config: dict[str, Any]) -> Exception:
    async with Engine(config) as fox:
        with pytest.raises(Exception) as caught:
            await fox.load(path)
        assert fox.plugins == []  # nothing half-loaded stays behind
    return caught.value


@pytest.mark.parametrize("lang", LANGS)
async def test_a_version_that_is_not_semver_names_the_field_and_its_line(
    lang: str, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin(f"bad{EXT[lang]}", plugin_text(lang, "id: bad-version\nname: Bad\nversion: abc"))
    error = await load_error(path, engine_config())

    assert isinstance(error, ManifestError)
    assert error.field == "version"
    assert error.line == 4  # line 1 opens the comment, then id, name, version
    assert error.file == str(path)
    assert str(error).startswith(f"{path}:4: field `version`: 'abc' is not a semantic version (expected e.g. 1.2.0)")


@pytest.mark.parametrize("lang", LANGS)
async def test_an_unknown_field_is_rejected_with_the_known_ones_as_hint(
    lang: str, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin(f"odd{EXT[lang]}", plugin_text(lang, "id: odd-field\nversion: 1.0.0\ncolour: red"))
    error = await load_error(path, engine_config())

    assert isinstance(error, ManifestError)
    assert error.field == "colour"
    assert error.line == 4
    assert "unknown field" in str(error)
    assert "known fields:" in str(error) and "permissions" in str(error)


async def test_an_unknown_permission_names_its_path(write_plugin: Write, engine_config: Config) -> None:
    manifest = "id: odd-perm\nversion: 1.0.0\npermissions:\n  storage: true\n  filesystem: true"
    path = write_plugin("odd.lua", plugin_text("lua", manifest))
    error = await load_error(path, engine_config())

    assert isinstance(error, ManifestError)
    assert error.field == "permissions.filesystem"
    assert error.line == 6


@pytest.mark.parametrize(
    ("manifest", "line"),
    [
        ("id: broken\nversion: 1.0.0\nprovides: [search\npermissions: {}", 5),
        ("id: broken\nversion: 1.0.0\n  name: indented", 4),
        ("id: broken\nversion: 1.0.0\ndescription: 'unterminated", 4),
    ],
)
async def test_broken_yaml_is_reported_with_file_and_line(
    manifest: str, line: int, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin("broken.lua", plugin_text("lua", manifest))
    error = await load_error(path, engine_config())

    assert isinstance(error, ManifestError)
    assert error.file == str(path)
    assert error.line == line
    assert f"{path}:{line}: invalid YAML" in str(error)


async def test_a_manifest_that_is_not_a_mapping_is_refused(write_plugin: Write, engine_config: Config) -> None:
    path = write_plugin("list.js", plugin_text("js", "- id: listed\n- version: 1.0.0"))
    error = await load_error(path, engine_config())
    assert isinstance(error, ManifestError)
    assert "must be a YAML mapping" in str(error)


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ("version: 1.0.0", None),  # id missing
        ("id: Not Valid!\nversion: 1.0.0", "id"),
        ("id: x\nversion: 1.0.0", "id"),  # too short
        ("id: fine\nversion: 1.0.0\nprovides: [teleport]", "provides[0]"),
        ("id: fine\nversion: 1.0.0\npermissions:\n  network: true", "permissions.network"),
        ("id: fine\nversion: 1.0.0\nlimits:\n  timeout: soon", "limits.timeout"),
    ],
)
async def test_schema_violations_name_the_field(
    manifest: str, field: str | None, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin("fine.py", plugin_text("py", manifest))
    error = await load_error(path, engine_config())
    assert isinstance(error, ManifestError)
    assert error.field == field
    if field is None:
        assert "'id' is a required property" in str(error)


SYNTAX_ERRORS = {
    "lua": ("local M = {}\nfunction M.search(q)\n  return {\nend\nreturn M", 8),
    "js": ("module.exports = {\n  search(q) {\n    return [;\n  }\n};", 7),
    "py": ("def search(q):\n    return [\n\ndef other():\n    pass", 6),
}


@pytest.mark.parametrize("lang", LANGS)
async def test_a_syntax_error_fails_the_load_with_file_and_line(
    lang: str, write_plugin: Write, engine_config: Config
) -> None:
    body, line = SYNTAX_ERRORS[lang]
    path = write_plugin(f"typo{EXT[lang]}", plugin_text(lang, "id: typo\nversion: 1.0.0", body))
    error = await load_error(path, engine_config())

    assert type(error) is PluginError
    assert error.file == str(path)
    assert error.line == line
    assert str(error).startswith(f"{path}:{line}: ")
    assert "syntax" in str(error).lower()


@pytest.mark.parametrize("lang", LANGS)
async def test_an_error_while_loading_names_the_line(lang: str, write_plugin: Write, engine_config: Config) -> None:
    body = {
        "lua": "local M = {}\nerror('cannot start')\nreturn M",
        "js": "const M = {};\nthrow new Error('cannot start');",
        "py": "x = 1\nraise ValueError('cannot start')",
    }[lang]
    path = write_plugin(f"crash{EXT[lang]}", plugin_text(lang, "id: crash\nversion: 1.0.0", body))
    error = await load_error(path, engine_config())

    assert isinstance(error, PluginError)
    assert "cannot start" in str(error)
    assert error.line == 6
    assert error.plugin == "crash"


@pytest.mark.parametrize("lang", LANGS)
async def test_provides_without_the_function_is_refused(lang: str, write_plugin: Write, engine_config: Config) -> None:
    path = write_plugin(f"liar{EXT[lang]}", plugin_text(lang, "id: liar\nversion: 1.0.0\nprovides: [search, lyrics]"))
    error = await load_error(path, engine_config())

    assert isinstance(error, ManifestError)
    assert error.field == "provides"
    assert error.plugin == "liar"
    assert "declares `lyrics` in provides but does not export get_lyrics()" in str(error)
    assert "export get_lyrics or remove `lyrics` from provides" in str(error)


NO_MANIFEST = {
    "lua": """
        local M = {}
        function M.search(q) return {{id = "1", title = q}} end
        function M.get_lyrics(song) return {lrc = "[00:01.00]hi"} end
        function M.on_song_changed(song) end
        function M.save() fox.storage.set("k", 1) end
        return M
    """,
    "js": """
        module.exports = {
          search(q) { return [{id: "1", title: q}]; },
          get_lyrics(song) { return {lrc: "[00:01.00]hi"}; },
          on_song_changed(song) {},
          async save() { await fox.storage.set("k", 1); },
        };
    """,
    "py": """
        def search(q, opts=None):
            return [{"id": "1", "title": q}]

        def get_lyrics(song):
            return {"lrc": "[00:01.00]hi"}

        def on_song_changed(song):
            pass

        def save():
            fox.storage.set("k", 1)
    """,
}


@pytest.mark.parametrize("lang", LANGS)
async def test_without_a_manifest_the_defaults_apply(lang: str, write_plugin: Write, engine_config: Config) -> None:
    path = write_plugin(f"My Quick_Source{EXT[lang]}", textwrap.dedent(NO_MANIFEST[lang]).strip() + "\n")
    async with Engine(engine_config()) as fox:
        info = await fox.load(path)
        assert info.id == "my-quick_source"
        assert info.version == "0.0.0"
        assert info.runtime == {"lua": "lua", "js": "js", "py": "python"}[lang]
        assert set(info.provides) == {"search", "lyrics", "events"}
        assert info.permissions == {}
        assert info.path == str(path)
        result = await fox.search("abc")
        assert [(song.title, song.source) for song in result.items] == [("abc", "my-quick_source")]
        with pytest.raises(PermissionDenied):  # no manifest, no permissions
            await fox.call("my-quick_source", "save")


@pytest.mark.parametrize("lang", LANGS)
async def test_a_folder_plugin_reads_plugin_yaml_and_infers_its_entry(
    lang: str, tmp_path: Path, engine_config: Config
) -> None:
    folder = tmp_path / "plugins" / "folder-source"
    folder.mkdir(parents=True)
    (folder / "plugin.yaml").write_text("id: folder-source\nversion: 2.1.0\nprovides: [search]\nname: Folder\n")
    (folder / f"main{EXT[lang]}").write_text(SEARCH[lang] + "\n")
    (folder / "README.md").write_text("not code\n")
    async with Engine(engine_config(directories=[tmp_path / "plugins"])) as fox:
        [info] = fox.plugins
        assert (info.id, info.version, info.name, info.provides) == ("folder-source", "2.1.0", "Folder", ("search",))
        assert info.path == str(folder)
        assert (await fox.search("x")).items[0].source == "folder-source"


async def test_a_folder_plugin_names_its_entry(tmp_path: Path, engine_config: Config) -> None:
    folder = tmp_path / "named"
    folder.mkdir()
    (folder / "plugin.yaml").write_text("id: named\nversion: 1.0.0\nentry: source.js\n")
    (folder / "source.js").write_text(SEARCH["js"] + "\n")
    (folder / "other.lua").write_text("return {}\n")
    async with Engine(engine_config()) as fox:
        info = await fox.load(folder)
        assert info.runtime == "js"
        assert info.provides == ("search",)


async def test_a_folder_with_several_scripts_and_no_entry_asks_for_one(tmp_path: Path, engine_config: Config) -> None:
    folder = tmp_path / "unclear"
    folder.mkdir()
    (folder / "plugin.yaml").write_text("id: unclear\nversion: 1.0.0\n")
    (folder / "one.lua").write_text("return {}\n")
    (folder / "two.lua").write_text("return {}\n")
    error = await load_error(folder, engine_config())
    assert isinstance(error, ManifestError)
    assert error.field == "entry"
    assert error.file == str(folder / "plugin.yaml")
    assert "entry: main.lua" in str(error)


async def test_a_folder_entry_that_does_not_exist(tmp_path: Path, engine_config: Config) -> None:
    folder = tmp_path / "missing"
    folder.mkdir()
    (folder / "plugin.yaml").write_text("id: missing\nversion: 1.0.0\nentry: gone.lua\n")
    error = await load_error(folder, engine_config())
    assert isinstance(error, ManifestError)
    assert error.field == "entry"
    assert "'gone.lua' does not exist" in str(error)


async def test_a_folder_without_plugin_yaml_is_not_a_plugin(tmp_path: Path, engine_config: Config) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "main.lua").write_text("return {}\n")
    error = await load_error(folder, engine_config())
    assert isinstance(error, ManifestError)
    assert "needs a plugin.yaml" in str(error)


async def test_a_bad_plugin_yaml_names_its_line(tmp_path: Path, engine_config: Config) -> None:
    folder = tmp_path / "badyaml"
    folder.mkdir()
    (folder / "plugin.yaml").write_text("id: badyaml\nversion: 1.0.0\nlicense: MIT\nversion2: x\n")
    (folder / "main.lua").write_text("return {}\n")
    error = await load_error(folder, engine_config())
    assert isinstance(error, ManifestError)
    assert (error.file, error.line, error.field) == (str(folder / "plugin.yaml"), 4, "version2")


async def test_an_unknown_file_type_is_refused(write_plugin: Write, engine_config: Config) -> None:
    path = write_plugin("notes.txt", "hello\n")
    error = await load_error(path, engine_config())
    assert isinstance(error, ManifestError)
    assert "unknown plugin file type '.txt'" in str(error)


@pytest.mark.parametrize(("lang", "runtime"), [("lua", "js"), ("js", "python"), ("py", "lua"), ("lua", "wasm")])
async def test_a_runtime_that_does_not_match_the_entry_is_refused(
    lang: str, runtime: str, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin(f"mixed{EXT[lang]}", plugin_text(lang, f"id: mixed\nversion: 1.0.0\nruntime: {runtime}"))
    error = await load_error(path, engine_config())
    assert isinstance(error, ManifestError)
    assert error.field == "runtime"
    assert error.line == 4
    assert f"runtime '{runtime}' cannot run mixed{EXT[lang]}" in str(error)


async def test_a_matching_runtime_is_accepted(write_plugin: Write, engine_config: Config) -> None:
    path = write_plugin("explicit.py", plugin_text("py", "id: explicit\nversion: 1.0.0\nruntime: python"))
    async with Engine(engine_config()) as fox:
        assert (await fox.load(path)).runtime == "python"


SPIN_AND_BOMB = """
    local M = {}
    function M.spin() while true do end end
    function M.bomb() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end
    function M.ping() return "pong" end
    return M
"""


@pytest.mark.parametrize(
    ("requested", "policy", "effective"),
    [("10s", "300ms", 0.3), ("200ms", "5s", 0.2)],
)
async def test_a_requested_timeout_is_capped_by_the_policy(
    requested: str, policy: str, effective: float, write_plugin: Write, engine_config: Config
) -> None:
    manifest = f"id: limited\nversion: 1.0.0\nlimits:\n  timeout: {requested}"
    path = write_plugin("limited.lua", plugin_text("lua", manifest, SPIN_AND_BOMB))
    async with Engine(engine_config(performance={"call_timeout": policy})) as fox:
        await fox.load(path)
        started = time.monotonic()
        with pytest.raises(PluginTimeout, match=f"exceeded its {effective:g} s deadline"):
            await fox.call("limited", "spin")
        assert time.monotonic() - started < effective + 1.0


@pytest.mark.parametrize(("requested", "effective"), [("1GB", 16 << 20), ("8MB", 8 << 20)])
async def test_a_requested_memory_limit_is_capped_by_the_policy(
    requested: str, effective: int, write_plugin: Write, engine_config: Config
) -> None:
    manifest = f"id: limited\nversion: 1.0.0\nlimits:\n  memory: {requested}"
    path = write_plugin("limited.lua", plugin_text("lua", manifest, SPIN_AND_BOMB))
    async with Engine(engine_config(performance={"memory_limit": "16MB"})) as fox:
        await fox.load(path)
        with pytest.raises(ResourceLimitExceeded, match=f"exceeded its {effective}-byte memory limit"):
            await fox.call("limited", "bomb")
        assert await fox.call("limited", "ping") == "pong"


async def test_the_manifest_must_be_the_first_block_comment(write_plugin: Write, engine_config: Config) -> None:
    source = "local M = {}\n--[[---\nid: late\nversion: 1.0.0\n---]]\nfunction M.ping() end\nreturn M\n"
    path = write_plugin("late-manifest.lua", source)
    async with Engine(engine_config()) as fox:
        info = await fox.load(path)
    assert (info.id, info.version) == ("late-manifest", "0.0.0")


ES_MODULE = """
/*---
id: es-module
version: 1.0.0
provides: [search, lyrics]
---*/
const PREFIX = "es:";
export async function search(q) { return [{id: "1", title: PREFIX + q}]; }
function lyrics(song) { return "[00:01.00]" + song.title; }
export { lyrics as get_lyrics };
export default { unused: true };
"""
LUA_GLOBALS = """
--[[---
id: lua-globals
version: 1.0.0
provides: [search]
---]]
local prefix = "lua:"
function search(q) return {{id = "1", title = prefix .. q}} end
"""


@pytest.mark.parametrize(("name", "source", "title"), [("es.mjs", ES_MODULE, "es:q"), ("g.lua", LUA_GLOBALS, "lua:q")])
async def test_es_modules_and_lua_globals_are_plugins_too(
    name: str, source: str, title: str, write_plugin: Write, engine_config: Config
) -> None:
    path = write_plugin(name, source)
    async with Engine(engine_config()) as fox:
        info = await fox.load(path)
        assert [song.title for song in (await fox.search("q")).items] == [title]
        if info.id == "es-module":
            assert set(info.exports) == {"search", "get_lyrics"}
            lyrics = await fox.lyrics({"title": "Song"})
            assert lyrics is not None and lyrics.lines[0].text == "Song"
        else:
            assert info.exports == ("search",)
