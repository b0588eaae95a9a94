"""The operator's `plugins.yaml`: environment expansion, units, strict keys, per-plugin config and priorities."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Config, ConfigError, Engine, FoxplugError, PluginError

Write = Callable[[str, str], Path]
Build = Callable[..., dict[str, Any]]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "plugins.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_environment_variables_expand_with_and_without_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOX_PLUGINS", str(tmp_path / "mine"))
    monkeypatch.setenv("FOX_TIMEOUT", "250ms")
    monkeypatch.delenv("FOX_UNSET", raising=False)
    config = Config.from_mapping(
        {
            "plugins": {
                "directories": ["${FOX_PLUGINS}", "${FOX_UNSET:-fallback}/extra"],
                "storage": "${FOX_UNSET:-}store.db",
                "performance": {"call_timeout": "${FOX_TIMEOUT}", "memory_limit": "${FOX_UNSET:-32MB}"},
            }
        },
        base=tmp_path,
    )
    assert config.directories == (tmp_path / "mine", tmp_path / "fallback" / "extra")
    assert config.storage == tmp_path / "store.db"
    assert config.call_timeout == 0.25
    assert config.memory_limit == 32 << 20


def test_an_unset_variable_without_default_names_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOX_NOT_THERE", raising=False)
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"plugins": {"directories": ["a", "${FOX_NOT_THERE}/b"]}})
    assert caught.value.field == "plugins.directories[1]"
    assert "environment variable FOX_NOT_THERE is not set" in str(caught.value)
    assert "${FOX_NOT_THERE:-value}" in str(caught.value)


@pytest.mark.parametrize(
    ("performance", "timeout", "memory"),
    [
        ({"call_timeout": "250ms", "memory_limit": "64MB"}, 0.25, 64 << 20),
        ({"call_timeout": "30s", "memory_limit": "512KB"}, 30.0, 512 << 10),
        ({"call_timeout": "2m", "memory_limit": "1GB"}, 120.0, 1 << 30),
        ({"call_timeout": 1.5, "memory_limit": 1000}, 1.5, 1000),
        ({"call_timeout": "0.5s", "memory_limit": "16MiB"}, 0.5, 16 << 20),
    ],
)
def test_durations_and_sizes_parse(performance: dict[str, Any], timeout: float, memory: int) -> None:
    config = Config.from_mapping({"plugins": {"performance": performance}})
    assert config.call_timeout == timeout
    assert config.memory_limit == memory


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"performance": {"call_timeout": "soon"}}, "plugins.performance.call_timeout"),
        ({"performance": {"memory_limit": "lots"}}, "plugins.performance.memory_limit"),
        ({"hot_reload": {"debounce": "-1s"}}, "plugins.hot_reload.debounce"),
    ],
)
def test_a_bad_duration_or_size_names_its_path(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"plugins": section})
    assert caught.value.field == field
    assert "is not a duration or size" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"plugin": {}}, "plugin"),
        ({"plugins": {"directory": ["x"]}}, "plugins.directory"),
        ({"plugins": {"performance": {"speed": "fast"}}}, "plugins.performance.speed"),
        ({"plugins": {"security": {"allowed_permissions": ["root"]}}}, "plugins.security.allowed_permissions[0]"),
        ({"plugins": {"plugin_configs": {"one": {"enable": False}}}}, "plugins.plugin_configs.one.enable"),
    ],
)
def test_unknown_or_invalid_keys_are_rejected_with_their_path(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(data)
    assert caught.value.field == field


def test_a_config_file_error_names_file_line_and_path(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        plugins:
          directories: []
          performance:
            call_timeout: 5s
            speed: fast
        """,
    )
    with pytest.raises(ConfigError) as caught:
        Config.load(path)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), 5, "plugins.performance.speed")
    assert str(error).startswith(f"{path}:5: field `plugins.performance.speed`: unknown field")
    assert "call_timeout" in str(error)  # the hint lists the known keys

    with pytest.raises(ConfigError, match=r"plugins\.yaml:5: field `plugins\.performance\.speed`"):
        Engine.from_config(path)


def test_broken_yaml_in_the_config_names_the_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "plugins:\n  directories: [a, b\n  auto_load: true\n")
    with pytest.raises(ConfigError) as caught:
        Config.load(path)
    assert caught.value.file == str(path)
    assert caught.value.line == 3
    assert "invalid YAML" in str(caught.value)


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        Config.load(tmp_path / "nope.yaml")


async def test_from_config_resolves_paths_against_the_file_and_loads_its_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = tmp_path / "conf" / "mine"
    plugins.mkdir(parents=True)
    (plugins / "hello.lua").write_text("local M = {}\nfunction M.hello(n) return 'hi ' .. n end\nreturn M\n")
    monkeypatch.setenv("FOX_STORE", "state/kv.sqlite3")
    path = write_config(
        tmp_path,
        """
        plugins:
          directories: [mine]
          storage: ${FOX_STORE}
          performance:
            call_timeout: 2s
        """,
    )
    async with Engine.from_config(path) as fox:
        assert fox.config.source == path.resolve()
        assert fox.config.storage == tmp_path / "conf" / "state" / "kv.sqlite3"
        assert fox.config.call_timeout == 2.0
        assert [p.id for p in fox.plugins] == ["hello"]
        assert await fox.call("hello", "hello", "you") == "hi you"


CONFIGURABLE = '''
"""---
id: configurable
version: 1.0.0
config_schema:
  type: object
  additionalProperties: false
  required: [base_url]
  properties:
    base_url: {type: string}
    limit: {type: integer, minimum: 1}
---"""
def settings():
    return fox.config
'''


async def test_plugin_config_is_checked_against_its_schema_and_given_to_the_plugin(
    write_plugin: Write, engine_config: Build
) -> None:
    path = write_plugin("configurable.py", CONFIGURABLE)
    good = {"configurable": {"config": {"base_url": "http://127.0.0.1:9", "limit": 3}}}
    async with Engine(engine_config(plugin_configs=good)) as fox:
        await fox.load(path)
        assert await fox.call("configurable", "settings") == {"base_url": "http://127.0.0.1:9", "limit": 3}


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({}, "plugin_configs.configurable.config", "'base_url' is a required property"),
        ({"base_url": 5}, "plugin_configs.configurable.config.base_url", "5 is not of type 'string'"),
        ({"base_url": "x", "limit": 0}, "plugin_configs.configurable.config.limit", "0 is less than the minimum"),
        ({"base_url": "x", "colour": "red"}, "plugin_configs.configurable.config.colour", "unknown field"),
    ],
)
async def test_plugin_config_that_breaks_the_schema_is_refused_at_load(
    config: dict[str, Any], field: str, words: str, write_plugin: Write, engine_config: Build
) -> None:
    path = write_plugin("configurable.py", CONFIGURABLE)
    async with Engine(engine_config(plugin_configs={"configurable": {"config": config}})) as fox:
        with pytest.raises(ConfigError) as caught:
            await fox.load(path)
        assert fox.plugins == []
    assert caught.value.field == field
    assert caught.value.plugin == "configurable"
    assert words in str(caught.value)


async def test_load_can_override_the_configured_plugin_config(write_plugin: Write, engine_config: Build) -> None:
    path = write_plugin("configurable.py", CONFIGURABLE)
    async with Engine(engine_config()) as fox:
        await fox.load(path, config={"base_url": "http://override"})
        assert await fox.call("configurable", "settings") == {"base_url": "http://override"}


def source(name: str, lang: str) -> str:
    if lang == "lua":
        return f'local M = {{}}\nfunction M.search(q) return {{{{id = "1", title = "{name}"}}}} end\nreturn M\n'
    if lang == "js":
        return f'module.exports = {{ search(q) {{ return [{{id: "1", title: "{name}"}}]; }} }};\n'
    return f'def search(q, opts=None):\n    return [{{"id": "1", "title": "{name}"}}]\n'


async def test_priorities_order_search_results(tmp_path: Path, engine_config: Build) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name, lang in (("low", "lua"), ("high", "js"), ("middle", "py"), ("unranked", "lua")):
        (folder / f"{name}.{ {'py': 'py', 'js': 'js', 'lua': 'lua'}[lang] }").write_text(source(name, lang))
    priorities = {"low": {"priority": -5}, "high": {"priority": 10}, "middle": {"priority": 3}}
    async with Engine(engine_config(directories=[folder], plugin_configs=priorities)) as fox:
        result = await fox.search("anything")
        assert result.errors == {}
        assert [song.source for song in result.items] == ["high", "middle", "unranked", "low"]
        assert [song.title for song in result.items] == ["high", "middle", "unranked", "low"]
        assert [p.id for p in fox.plugins] == ["high", "middle", "unranked", "low"]
        assert fox.plugin("high").priority == 10


async def test_a_disabled_plugin_is_listed_but_not_called(tmp_path: Path, engine_config: Build) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "off.lua").write_text(source("off", "lua"))
    (folder / "on.js").write_text(source("on", "js"))
    config = engine_config(directories=[folder], plugin_configs={"off": {"enabled": False}})
    async with Engine(config) as fox:
        states = {p.id: p.state for p in fox.plugins}
        assert states == {"off": "disabled", "on": "running"}
        result = await fox.search("x")
        assert [song.source for song in result.items] == ["on"]
        assert "off" not in result.errors
        with pytest.raises(FoxplugError) as caught:
            await fox.call("off", "search", "x")
        assert isinstance(caught.value, PluginError)
        assert "plugin `off` is disabled" in str(caught.value)
        assert "plugin_configs.off.enabled: true" in str(caught.value)
