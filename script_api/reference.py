"""docs/api.md, the API reference, generated from the same table as the editor stubs."""

from __future__ import annotations

from script_api.api import HOST_FUNCTIONS, PERMISSIONS, Param
from script_api.capabilities import LIFECYCLE, PLUGIN_FUNCTIONS, REQUIRED
from script_api.signatures import DATA_TYPES, HEADER, MARKDOWN, _summary, data_fields, fox_namespaces


def _md_signature(name: str, params: tuple[Param, ...]) -> str:
    args = ", ".join(
        f"...{p.name}: {p.type}" if p.variadic else f"{p.name}{'' if p.required else '?'}: {p.type}" for p in params
    )
    return _md_cell(f"`{name}({args})`")


def _md_cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped; `<...>` outside code spans kept from reading as HTML."""
    parts = text.replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _capabilities_needing(function: str) -> list[str]:
    return [f"`{cap}`" for cap, needs in REQUIRED.items() if function in needs]


def markdown_reference() -> str:
    """docs/api.md: the host functions per namespace, the functions plugins provide, and the data types."""
    spaces = fox_namespaces()
    out = [
        "# `fox.*` API reference",
        "",
        f"<!-- {HEADER} -->",
        "",
        "Every plugin sees the host API as the global `fox`, the same in Lua, JavaScript and restricted Python. "
        "In Lua and Python a call returns its value; in JavaScript every `fox.*` function returns a Promise, so "
        "`await` it. A call whose permission the plugin does not hold raises `PermissionDenied` inside the plugin, "
        "where it can be caught. Editor stubs: [`stubs/fox.lua`](../stubs/fox.lua) (LuaLS), "
        "[`stubs/fox.d.ts`](../stubs/fox.d.ts) (TypeScript), [`stubs/fox.pyi`](../stubs/fox.pyi) (Python). "
        "Writing a plugin: [plugin-authoring.md](plugin-authoring.md).",
        "",
        "## Values",
        "",
        "| name | type | description |",
        "|---|---|---|",
    ]
    for ns in spaces:
        out += [f"| `fox.{v.name}` | {MARKDOWN.render(v.type)} | {_md_cell(v.doc)} |" for v in ns.values]
    out += ["", "## Host functions"]
    for ns in (ns for ns in spaces if ns.functions):
        out += ["", f"### {ns.path}", "", "| function | permission | returns | description |", "|---|---|---|---|"]
        for fn in ns.functions:
            permission = f"`{fn.permission}`" if fn.permission else "—"
            signature = _md_signature(f"fox.{fn.name}", fn.params)
            out.append(f"| {signature} | {permission} | {MARKDOWN.render(fn.result)} | {_md_cell(fn.doc)} |")
    out += [
        "",
        "## Permissions",
        "",
        "A plugin holds a permission when its manifest asks for it (`permissions:`) and the engine's "
        "`security.allowed_permissions` allows it; `network` is granted per host pattern and also checked against "
        "`security.network_allow` / `network_deny`.",
        "",
        "| permission | functions it unlocks |",
        "|---|---|",
    ]
    for permission in PERMISSIONS:
        names = [f"`fox.{f.name}`" for f in HOST_FUNCTIONS.values() if f.permission == permission]
        out.append(f"| `{permission}` | {', '.join(names) or '— (no host function uses it yet)'} |")
    out += [
        "",
        "## Functions a plugin provides",
        "",
        "The host calls these when the plugin exports them. Declaring a capability in `provides` requires the "
        "functions listed for it; the rest are optional. Any other exported function can be called with "
        "`foxplug call` or `Engine.call`.",
        "",
        "| capability (`provides`) | functions it requires |",
        "|---|---|",
    ]
    for capability, needs in REQUIRED.items():
        required = ", ".join(f"`{n}`" for n in needs) or "—"
        if capability == "events":
            required = "at least one `on_<event>`"
        out.append(f"| `{capability}` | {required} |")
    for group in dict.fromkeys(fn.group for fn in PLUGIN_FUNCTIONS):
        out += ["", f"### {group}"]
        if group == "Events":
            out += [
                "",
                "`on_<event>(payload)` receives every event of that name, sent by the host (`Engine.emit`) or by "
                "another plugin (`fox.events.emit`); these are the ones a player sends.",
            ]
        out += ["", "| function | returns | required by | description |", "|---|---|---|---|"]
        for plugin_fn in (f for f in PLUGIN_FUNCTIONS if f.group == group):
            needed_by = ", ".join(_capabilities_needing(plugin_fn.name))
            needed_by = needed_by or ("lifecycle, optional" if plugin_fn.name in LIFECYCLE else "optional")
            signature = _md_signature(plugin_fn.name, plugin_fn.params)
            result = MARKDOWN.render(plugin_fn.result)
            out.append(f"| {signature} | {result} | {needed_by} | {_md_cell(plugin_fn.doc)} |")
    out += [
        "",
        "## Data types",
        "",
        "The shapes songs, playlists and lyrics take between plugins and the host (`script_api/types.py`). Results "
        "are normalised into them at the boundary: optional fields may be left out, numeric ids become strings, and "
        "common aliases are accepted (`name` for `title`, `artist` for `artists`, `cover` for `cover_url`...); "
        "junk is refused with a `PluginError` naming the field.",
    ]
    for cls in DATA_TYPES:
        out += [
            "",
            f"### {cls.__name__}",
            "",
            _md_cell(_summary(cls)),
            "",
            "| field | type | optional |",
            "|---|---|---|",
        ]
        out += [f"| `{f.name}` | {MARKDOWN.render(f.type)} | {'yes' if f.optional else ''} |" for f in data_fields(cls)]
    return "\n".join(out) + "\n"
