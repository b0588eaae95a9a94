"""Whatever a plugin's manifest or a config file says, reading it succeeds or raises ManifestError/ConfigError
naming the file: never a PyYAML, decoding or arithmetic error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from strategies import json_like, shaped, yaml_like

from engine import ConfigError, ManifestError
from engine.config import Config
from engine.loading.pipeline import read_version

MANIFEST_KEYS = ["id", "version", "name", "runtime", "entry", "provides", "permissions", "limits", "config_schema"]
MANIFEST_KEYS += ["dependencies", "compatibility", "implementations", "command", "env", "cwd"]
manifest_data = st.one_of(
    shaped(MANIFEST_KEYS, yaml_like),
    st.builds(lambda extra: {"id": "fuzz", "version": "1.0.0", **extra}, shaped(MANIFEST_KEYS, yaml_like)),
    st.builds(
        lambda section, value: {"id": "fuzz", "version": "1.0.0", section: value},
        st.sampled_from(["limits", "permissions", "compatibility", "implementations"]),
        shaped(["timeout", "memory", "network", "storage", "engine", "python", "lua", "js", "native"], yaml_like),
    ),
)
yaml_text = st.one_of(
    manifest_data.map(lambda data: yaml.safe_dump(data, allow_unicode=True)),
    st.text(max_size=200),
    st.lists(
        st.sampled_from(["id: x\n", "&a [1, *a]\n", "- ", ": ", "{", "[", "!!python/name:os.system\n", "\x07"])
    ).map("".join),
)


def manifest_error_or_plugin(folder: Path) -> None:
    try:
        read_version(folder)
    except ManifestError as error:
        assert error.file and len(str(error)) < 2000


@given(yaml_text)
def test_a_folder_manifest_is_read_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plugin"
        folder.mkdir()
        (folder / "plugin.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
        (folder / "main.lua").write_text("return {}\n", encoding="utf-8")
        manifest_error_or_plugin(folder)


@given(yaml_text)
def test_front_matter_is_read_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plugin.lua"
        path.write_text(f"--[[---\n{text}\n---]]\nreturn {{}}\n", encoding="utf-8", errors="surrogateescape")
        manifest_error_or_plugin(path)


CONFIG_KEYS = ["directories", "auto_load", "storage", "hot_reload", "security", "performance", "plugin_configs"]
CONFIG_KEYS += ["monitoring", "compatibility"]
SECTION_KEYS = ["enabled", "debounce", "keep_versions", "call_timeout", "memory_limit", "max_result_size", "token"]
SECTION_KEYS += ["breaker", "storage_quota", "http_concurrency", "isolation", "listen", "network_allow"]


def config_data(values_like: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda plugins: {"plugins": plugins}, shaped(CONFIG_KEYS, values_like)),
        st.builds(
            lambda section, value: {"plugins": {section: value}},
            st.sampled_from(["hot_reload", "security", "performance", "monitoring", "compatibility"]),
            shaped(SECTION_KEYS, values_like),
        ),
        st.builds(
            lambda value: {"plugins": {"plugin_configs": {"x": value}}},
            shaped(["enabled", "priority", "config"], values_like),
        ),
        values_like,
    )


@given(config_data(json_like))
def test_a_config_mapping_is_read_or_refused(data: Any) -> None:
    try:
        Config.from_mapping(data if isinstance(data, dict) else {"plugins": data})
    except ConfigError as error:
        assert str(error)


@given(st.one_of(config_data(yaml_like).map(lambda data: yaml.safe_dump(data, allow_unicode=True)), yaml_text))
def test_a_config_file_is_read_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plugins.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            Config.load(path)
        except ConfigError as error:
            assert error.file == str(path)
