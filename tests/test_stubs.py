"""Editor stubs and docs/api.md come from the one API table, stay committed as generated, and tell the truth."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lupa.lua54 as lupa
import pytest

from engine import Engine
from script_api import stubs
from script_api.api import HOST_FUNCTIONS, HOST_VALUES
from script_api.capabilities import LIFECYCLE, PLUGIN_FUNCTIONS, REQUIRED

REPO = Path(__file__).resolve().parent.parent
GENERATED = dict(stubs.generated())


def committed(relative: str) -> str:
    return (REPO / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_committed_files_are_exactly_what_the_table_generates(relative: str) -> None:
    assert committed(relative) == GENERATED[relative], f"{relative} is stale: run `python -m script_api.stubs`"


def test_check_mode_reports_a_stale_file_and_exit_1(tmp_path: Path) -> None:
    assert stubs.main(["--root", str(tmp_path)]) == 0
    assert stubs.main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / "stubs" / "fox.lua").write_text("-- edited by hand\n", encoding="utf-8")
    assert stubs.main(["--root", str(tmp_path), "--check"]) == 1


def test_lua_stub_is_lua_and_declares_every_function_with_its_params() -> None:
    text = GENERATED["stubs/fox.lua"]
    assert text.startswith("---@meta")
    lua = lupa.LuaRuntime()
    lua.execute(text)
    fox = lua.globals().fox
    for name, fn in HOST_FUNCTIONS.items():
        group, leaf = name.split(".")
        assert lupa.lua_type(fox[group][leaf]) == "function", name
        block = re.search(rf"((?:---.*\n)+)function fox\.{re.escape(name)}\(", text)
        assert block is not None, name
        documented = re.findall(r"---@param (\w+|\.\.\.)", block.group(1))
        assert documented == ["..." if p.variadic else stubs.LUA.name(p.name) for p in fn.params], name
    for cls in stubs.DATA_TYPES:
        assert f"---@class foxplug.{cls.__name__}\n" in text


def _pyi_namespaces(tree: ast.Module) -> dict[str, dict[str, ast.AST]]:
    """{group: {member: its def or annotation}} reachable from the stub's `fox` global."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def members(cls: ast.ClassDef) -> dict[str, ast.AST]:
        found: dict[str, ast.AST] = {}
        for node in cls.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found[node.target.id] = node.annotation
        return found

    fox_type = next(
        node.annotation
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "fox"
    )
    assert isinstance(fox_type, ast.Name)
    groups = {"": members(classes[fox_type.id])}
    for group, annotation in groups[""].items():
        if isinstance(annotation, ast.Name) and annotation.id in classes:
            groups[group] = members(classes[annotation.id])
    return groups


def test_python_stub_parses_and_declares_every_function_on_the_fox_global() -> None:
    groups = _pyi_namespaces(ast.parse(GENERATED["stubs/fox.pyi"]))
    for name, fn in HOST_FUNCTIONS.items():
        group, leaf = name.split(".")
        method = groups.get(group, {}).get(leaf)
        assert isinstance(method, ast.FunctionDef), name
        declared = [a.arg for a in method.args.args] + ([method.args.vararg.arg] if method.args.vararg else [])
        assert declared == ["self", *(stubs.PYTHON.name(p.name) for p in fn.params)], name
    for value in HOST_VALUES.values():
        group, _, leaf = value.name.rpartition(".")
        assert leaf in groups[group], value.name


def _without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def test_typescript_stub_is_balanced_global_and_every_function_returns_a_promise() -> None:
    code = _without_comments(GENERATED["stubs/fox.d.ts"])
    for opening, closing in ("{}", "()", "[]", "<>"):
        depth = 0
        for char in code.replace("=>", ""):
            depth += (char == opening) - (char == closing)
            assert depth >= 0, f"unbalanced {opening}{closing}"
        assert depth == 0, f"unbalanced {opening}{closing}"
    assert not re.search(r"^\s*(import|export)\b", code, re.M), "a global declaration file must not be a module"
    body = code.split("declare const fox: {", 1)[1]
    for name, fn in HOST_FUNCTIONS.items():
        group, leaf = name.split(".")
        block = re.search(rf"readonly {group}: \{{(.*?)\n    \}};", body, re.S)
        assert block is not None, group
        signature = re.search(rf"^\s*{leaf}\((.*)\): Promise<.+>;$", block.group(1), re.M)
        assert signature is not None, name
        assert signature.group(1).count(":") == len(fn.params), name
    assert "readonly config:" in body and "readonly id: string;" in body and "readonly version: string;" in body


def test_api_reference_lists_every_function_permission_capability_and_data_type() -> None:
    text = GENERATED["docs/api.md"]
    for name, fn in HOST_FUNCTIONS.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| `fox.{name}(")), None)
        assert row is not None, name
        assert (f"`{fn.permission}`" if fn.permission else "—") in row, name
    for value in HOST_VALUES.values():
        assert f"`fox.{value.name}`" in text
    for capability in REQUIRED:
        assert f"| `{capability}` |" in text
    for plugin_fn in PLUGIN_FUNCTIONS:
        assert f"| `{plugin_fn.name}(" in text
    for cls in stubs.DATA_TYPES:
        assert f"### {cls.__name__}\n" in text


def test_every_function_a_capability_or_the_lifecycle_needs_is_documented() -> None:
    documented = {fn.name for fn in PLUGIN_FUNCTIONS}
    needed = {name for names in REQUIRED.values() for name in names} | set(LIFECYCLE)
    assert needed <= documented, needed - documented


def _lua_probe(functions: list[str], values: list[str]) -> str:
    checks = "".join(f'  if type(fox.{n}) ~= "function" then missing[#missing + 1] = "{n}" end\n' for n in functions)
    fields = ", ".join(f'["{n}"] = fox.{n}' for n in values)
    return (
        "--[[---\nid: probe-lua\nversion: 1.2.3\n---]]\n"
        f"return {{ shape = function()\n  local missing = {{}}\n{checks}"
        f"  return {{ missing = missing, values = {{ {fields} }} }}\nend }}\n"
    )


def _js_probe(functions: list[str], values: list[str]) -> str:
    checks = "".join(f'  if (typeof fox.{n} !== "function") missing.push("{n}");\n' for n in functions)
    fields = ", ".join(f'"{n}": fox.{n}' for n in values)
    return (
        "/*---\nid: probe-js\nversion: 1.2.3\n---*/\n"
        f"module.exports = {{ shape() {{\n  const missing = [];\n{checks}"
        f"  return {{ missing, values: {{ {fields} }} }};\n}} }};\n"
    )


def _python_probe(functions: list[str], values: list[str]) -> str:
    checks = "".join(f'    if not callable(fox.{n}):\n        missing.append("{n}")\n' for n in functions)
    fields = ", ".join(f'"{n}": fox.{n}' for n in values)
    return (
        '"""---\nid: probe-python\nversion: 1.2.3\n---"""\n'
        f"def shape():\n    missing = []\n{checks}"
        f'    return {{"missing": missing, "values": {{ {fields} }}}}\n'
    )


PROBES = {"lua": ("probe.lua", _lua_probe), "js": ("probe.js", _js_probe), "python": ("probe.py", _python_probe)}


@pytest.mark.parametrize("language", sorted(PROBES))
async def test_the_fox_object_each_runtime_builds_matches_the_stubs(language: str, write_plugin, engine_config) -> None:
    filename, probe = PROBES[language]
    path = write_plugin(filename, probe(list(HOST_FUNCTIONS), list(HOST_VALUES)))
    async with Engine(engine_config()) as engine:
        info = await engine.load(path, config={"greeting": "hi"})
        shape = await engine.call(info.id, "shape")
    assert shape["missing"] == []
    assert shape["values"] == {
        "config": {"greeting": "hi"},
        "plugin.id": f"probe-{language}",
        "plugin.version": "1.2.3",
    }
