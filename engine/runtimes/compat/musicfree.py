"""MusicFree plugins (a CommonJS file exporting `{platform, search, getMediaSource, ...}`) over the JS backend.

The host contract is MusicFree's `src/core/pluginManager/plugin.ts`: the file is the body of a function given
`require` (axios, cheerio, crypto-js, dayjs, he, qs, big-integer, webdav — the npm packages at the versions
MusicFree pins, bundled at build time), `module`, `exports`, `console`, `env` (user variables), `URL` and
`process`. The glue (musicfree.js) exports the plugin's methods under their own names and foxplug's
capabilities over them.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from engine.runtimes import js
from engine.runtimes.base import Backend, Source
from engine.runtimes.compat.metadata import semantic_version

LIBRARIES = ("axios", "cheerio", "crypto-js", "dayjs", "he", "qs", "big-integer", "webdav")
"""What MusicFree's `require` knows (its `packages` table); anything else is refused naming these."""
_OWN = {"webdav": ("webdav.js", ("fast-xml-parser",))}
"""Libraries foxplug writes itself over fox.http (a subset of the npm `webdav` client), with the npm bundles
they use."""

_REQUIRE_LITERAL = re.compile(r"""\b(?:__musicfree_)?require\s*\(\s*(["'`])([^"'`]+)\1\s*\)""")
_REQUIRE_DYNAMIC = re.compile(r"""\b(?:__musicfree_)?require\s*\(\s*[^"'`\s)]""")
_COMMONJS = re.compile(r"\bmodule\.exports\b|\bexports\.default\b|\bexports\.\w+\s*=")
_PLATFORM = re.compile(r"\bplatform\s*:")
_EXPORTS_AT = re.compile(r"\bmodule\.exports\s*=|\bexports\.default\s*=")
_STRING_FIELD = r"""\b{key}\s*:\s*(["'`])((?:\\.|(?!\1).)*)\1"""
_USER_VARIABLES = re.compile(r"\buserVariables\s*:\s*\[(.*?)\]", re.S)
_OBJECT = re.compile(r"\{([^{}]*)\}")


def claims(text: str) -> bool:
    """A CommonJS module whose exports name a `platform`: MusicFree's one required field."""
    return bool(_COMMONJS.search(text) and _PLATFORM.search(text))


def _field(text: str, key: str) -> str | None:
    match = re.search(_STRING_FIELD.format(key=key), text, re.S)
    return match.group(2) if match else None


def metadata(path: Path, text: str) -> dict[str, Any]:
    """The manifest fields in the exports literal (`platform` → name, `version`, `author`, `srcUrl` →
    homepage, `description`, `userVariables` → config_schema). Read from the text, as the plugin is not run to
    read its manifest; a plugin that computes them gets the defaults, and its `platform` still names it at run
    time."""
    at = _EXPORTS_AT.search(text)
    body = text[at.start() :] if at else text
    data: dict[str, Any] = {"version": semantic_version(_field(body, "version"))}
    for key, field in (
        ("platform", "name"),
        ("author", "author"),
        ("srcUrl", "homepage"),
        ("description", "description"),
    ):
        value = _field(body, key)
        if value:
            data[field] = value
    variables = _USER_VARIABLES.search(body)
    if variables:
        properties = {}
        for entry in _OBJECT.findall(variables.group(1)):
            key = _field(entry, "key")
            if not key:
                continue
            spec: dict[str, Any] = {"type": "string"}
            if title := _field(entry, "name"):
                spec["title"] = title
            if hint := _field(entry, "hint"):
                spec["description"] = hint
            properties[key] = spec
        if properties:
            data["config_schema"] = {"type": "object", "properties": properties}
    return data


def _required(text: str) -> list[str]:
    """What the plugin requires by a literal name; all of MusicFree's list if it builds a name at run time
    (`require` is synchronous, so the code must already be in the context)."""
    if _REQUIRE_DYNAMIC.search(text):
        return list(LIBRARIES)
    named = {m.group(2) for m in _REQUIRE_LITERAL.finditer(text)}
    return [name for name in LIBRARIES if name in named]


def libraries(text: str) -> tuple[str, ...]:
    """The npm bundles the plugin's context needs."""
    names: list[str] = []
    for name in _required(text):
        names += _OWN[name][1] if name in _OWN else [name]
    return tuple(dict.fromkeys(names))


@cache
def _text(name: str) -> str:
    return files("engine.runtimes.compat").joinpath(name).read_text(encoding="utf-8")


def glue(text: str) -> str:
    """foxplug's own libraries the plugin requires, then the host contract."""
    return "".join(_text(_OWN[name][0]) for name in _required(text) if name in _OWN) + _text("musicfree.js")


def wrap(text: str, source: Source) -> str:
    """The plugin as the body of MusicFree's mount function, on the file's own first line so line numbers hold."""
    return (
        '__fox_musicfree(function (require, __musicfree_require, module, exports, console, env, URL, process) {"use strict";'
        + text
        + "\n});"
    )


BACKEND = Backend(
    name="musicfree",
    extensions=(".js",),
    front_matter=js.BACKEND.front_matter,
    create=lambda source, ctx, limits: js.JsInstance(
        source, ctx, limits, js.Flavour(libraries=libraries, glue=glue, wrap=wrap, pieces=("web-text",))
    ),
    claims=claims,
    metadata=metadata,
    song_url_takes_song=True,
    family="script",
    isolatable=True,  # the worker process finds this row through create's module
)
