"""Editor stubs (LuaLS, TypeScript, Python) and docs/api.md, generated from `script_api.api.HOST_FUNCTIONS`.

`python -m script_api.stubs` rewrites the files; `--check` exits 1 when a committed file differs from what
the table generates, so the stubs and the reference never drift from the API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from script_api.api import Param
from script_api.capabilities import PLUGIN_FUNCTIONS
from script_api.reference import markdown_reference
from script_api.signatures import (
    DATA_TYPES,
    HEADER,
    LUA,
    PYTHON,
    TYPESCRIPT,
    _function_doc,
    _leaf,
    _summary,
    data_fields,
    fox_namespaces,
)

ROOT = Path(__file__).resolve().parent.parent


def lua_stub() -> str:
    """LuaLS `---@meta` definitions; the file is also valid Lua."""
    out = ["---@meta fox", f"-- {HEADER}", ""]
    for cls in DATA_TYPES:
        out += [f"---{_summary(cls)}", f"---@class foxplug.{cls.__name__}"]
        for f in data_fields(cls):
            # `name?` already admits nil, so an optional field's `|null` would only repeat it.
            kind = f.type.removesuffix("|null") if f.optional else f.type
            out.append(f"---@field {f.name}{'?' if f.optional else ''} {LUA.render(kind)}")
        out.append("")
    out += [
        "---What a plugin module may return (ARCHITECTURE §3.6); annotate it with `---@type foxplug.Plugin`.",
        "---@class foxplug.Plugin",
    ]
    for plugin_fn in PLUGIN_FUNCTIONS:
        params = ", ".join(f"{LUA.name(p.name)}: {LUA.render(p.type)}" for p in plugin_fn.params)
        result = "" if plugin_fn.result == "void" else f": {LUA.render(plugin_fn.result)}"
        out.append(f"---@field {plugin_fn.name}? fun({params}){result} {plugin_fn.doc}")
    out.append("")
    for ns in fox_namespaces():
        if not ns.name:
            out.append("---The host API; a call without the permission it needs raises `PermissionDenied: ...`.")
        out.append(f"---@class {ns.path}")
        out += [f"---@field {_leaf(v.name)} {LUA.render(v.type)} {v.doc}" for v in ns.values]
        out += [f"{ns.path} = {{}}", ""]
        for fn in ns.functions:
            out.append(f"---{_function_doc(fn)}")
            out += [
                f"---@param {_lua_param(p)}{'' if p.required or p.variadic else '?'} {LUA.render(p.type)}"
                for p in fn.params
            ]
            if fn.result != "null":
                out.append(f"---@return {LUA.render(fn.result)}")
            params = ", ".join(_lua_param(p) for p in fn.params)
            out += [f"function fox.{fn.name}({params}) end", ""]
    out += [
        "---Lua only: a table that is a JSON object even when empty (`{}`, not `[]`), with `fields` copied in.",
        "---@param fields? table<string, any>",
        "---@return table<string, any>",
        "function fox.json.object(fields) end",
    ]
    return "\n".join(out).rstrip() + "\n"


def _lua_param(p: Param) -> str:
    """LuaLS spells a variadic parameter `...`, and it is never `?`-optional."""
    return "..." if p.variadic else LUA.name(p.name)


def _ts_params(params: tuple[Param, ...]) -> str:
    return ", ".join(
        f"...{TYPESCRIPT.name(p.name)}: {TYPESCRIPT.render(p.type)}[]"
        if p.variadic
        else f"{TYPESCRIPT.name(p.name)}{'' if p.required else '?'}: {TYPESCRIPT.render(p.type)}"
        for p in params
    )


def typescript_stub() -> str:
    """Declarations of the global `fox` (every function returns a Promise) and of the foxplug data types."""
    out = [
        f"// {HEADER}",
        "// Add this file to your jsconfig/tsconfig `include` for completion of the global `fox`.",
        "",
        "declare namespace foxplug {",
        "    type Awaitable<T> = T | Promise<T>;",
    ]
    for cls in DATA_TYPES:
        out += ["", f"    /** {_summary(cls)} */", f"    interface {cls.__name__} {{"]
        out += [f"        {f.name}{'?' if f.optional else ''}: {TYPESCRIPT.render(f.type)};" for f in data_fields(cls)]
        out.append("    }")
    out += [
        "",
        "    /** What a plugin may export (`module.exports` or `export function`); functions may be async. */",
        "    interface Plugin {",
    ]
    for plugin_fn in PLUGIN_FUNCTIONS:
        result = TYPESCRIPT.render(plugin_fn.result)
        out.append(f"        /** {plugin_fn.doc} */")
        out.append(f"        {plugin_fn.name}?({_ts_params(plugin_fn.params)}): Awaitable<{result}>;")
    out += [
        "    }",
        "}",
        "",
        "/** The host API: every function returns a Promise; a call without its permission rejects (PermissionDenied). */",
        "declare const fox: {",
    ]
    for ns in fox_namespaces():
        indent = "        " if ns.name else "    "
        if ns.name:
            out.append(f"    readonly {ns.name}: {{")
        for value in ns.values:
            out += [
                f"{indent}/** {value.doc} */",
                f"{indent}readonly {_leaf(value.name)}: {TYPESCRIPT.render(value.type)};",
            ]
        for fn in ns.functions:
            out.append(f"{indent}/** {_function_doc(fn)} */")
            out.append(f"{indent}{_leaf(fn.name)}({_ts_params(fn.params)}): Promise<{TYPESCRIPT.render(fn.result)}>;")
        if ns.name:
            out.append("    };")
    out += [
        "};",
        "",
        "/** What plugin code prints: each goes to the plugin's log (shown by `foxplug call` and `foxplug dev`). */",
        "declare const console: {",
    ]
    out += [f"    {level}(...data: any[]): void;" for level in ("log", "info", "warn", "error", "debug")]
    out.append("};")
    return "\n".join(out) + "\n"


def _class_name(group: str) -> str:
    return "_Fox" + "".join(part.title() for part in group.split("_"))


def _py_param(p: Param) -> str:
    kind = PYTHON.render(p.type)
    if p.variadic:
        return f"*{PYTHON.name(p.name)}: {kind}"
    if p.required:
        return f"{PYTHON.name(p.name)}: {kind}"
    return f"{PYTHON.name(p.name)}: {kind if kind == 'Any' else kind + ' | None'} = None"


def python_stub() -> str:
    """A `.pyi` declaring the global `fox` of restricted-Python plugins (as `__builtins__.pyi` for Pyright)."""
    out = [
        f'"""Editor stub for the global `fox` of restricted-Python plugins. {HEADER}',
        "",
        "Pyright/Pylance: copy it into your plugin folder as `__builtins__.pyi`.",
        '"""',
        "",
        "from typing import Any, NotRequired, TypedDict",
    ]
    for cls in DATA_TYPES:
        out += ["", f"class {cls.__name__}(TypedDict):", f'    """{_summary(cls)}"""', ""]
        for f in data_fields(cls):
            kind = PYTHON.render(f.type)
            out.append(f"    {f.name}: {f'NotRequired[{kind}]' if f.optional else kind}")
    fox_attributes = []
    for ns in fox_namespaces():
        if not ns.name:
            fox_attributes += [f"    {_leaf(v.name)}: {PYTHON.render(v.type)}" for v in ns.values]
            continue
        fox_attributes.append(f"    {ns.name}: {_class_name(ns.name)}")
        out += ["", f"class {_class_name(ns.name)}:"]
        out += [f"    {_leaf(v.name)}: {PYTHON.render(v.type)}" for v in ns.values]
        for fn in ns.functions:
            params = "".join(f", {_py_param(p)}" for p in fn.params)
            out.append(f"    def {_leaf(fn.name)}(self{params}) -> {PYTHON.render(fn.result)}:")
            out.append(f'        """{_function_doc(fn)}"""')
    out += [
        "",
        "class _Fox:",
        '    """The host API; a call without the permission it needs raises PermissionDenied."""',
        "",
    ]
    out += [*fox_attributes, "", "fox: _Fox"]
    return "\n".join(out) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "stubs/fox.lua": lua_stub,
    "stubs/fox.d.ts": typescript_stub,
    "stubs/fox.pyi": python_stub,
    "docs/api.md": markdown_reference,
}


def generated() -> Iterator[tuple[str, str]]:
    """(path relative to the repo, content) of every generated file."""
    for path, generate in GENERATORS.items():
        yield path, generate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m script_api.stubs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to write into")
    args = parser.parse_args(argv)
    stale = []
    for relative, content in generated():
        path = args.root / relative
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == content:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} — run `python -m script_api.stubs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
