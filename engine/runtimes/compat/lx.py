"""LX Music custom sources (a script whose leading `/** @name ... */` comment names it, talking to
`globalThis.lx`) over the JS backend.

The host contract is lx-music-desktop's `userApi/renderer/preload.js`; the glue (lx.js) builds `lx` over
`fox.*`. A source finishes loading once it sent `inited` (within the load deadline); what it declared there,
intersected with what LX supports, decides what it provides: musicUrl → song_url, lyric → lyrics.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from engine.runtimes import js
from engine.runtimes.base import Backend
from engine.runtimes.compat.metadata import clip, semantic_version

_HEADER = re.compile(r"/\*[\s\S]+?\*/")  # LX's parseScriptInfo: the comment the file starts with
_INFO_LINE = re.compile(r"^\s?\*\s?@(\w+)\s(.+)$", re.M)
_INFO_NAMES = {"name": 24, "description": 36, "author": 56, "homepage": 1024, "version": 36}
"""The header fields LX reads, with the length it clips each to."""


def script_info(text: str) -> dict[str, str]:
    """The header's fields, as LX's matchInfo reads them (unknown ones ignored, each clipped)."""
    header = _HEADER.match(text.removeprefix("\ufeff"))
    found = {m.group(1): m.group(2).strip() for m in _INFO_LINE.finditer(header.group(0) if header else "")}
    return {key: clip(found.get(key, ""), limit) for key, limit in _INFO_NAMES.items()}


def claims(text: str) -> bool:
    header = _HEADER.match(text.removeprefix("\ufeff"))
    return bool(header and re.search(r"^\s?\*\s?@name\s", header.group(0), re.M))


def metadata(path: Path, text: str) -> dict[str, Any]:
    info = script_info(text)
    data: dict[str, Any] = {"version": semantic_version(info["version"]), "name": info["name"] or path.stem}
    data.update({key: info[key] for key in ("description", "author", "homepage") if info[key]})
    return data


def libraries(text: str) -> tuple[str, ...]:
    """Buffer always (lx.request answers with one); crypto-js and pako only for scripts that name what uses them."""
    wanted = ["buffer"]
    if re.search(r"\b(?:md5|aesEncrypt)\b", text):
        wanted.append("crypto-js")
    if re.search(r"\b(?:zlib|inflate|deflate)\b", text):
        wanted.append("pako")
    return tuple(wanted)


@cache
def _glue() -> str:
    return files("engine.runtimes.compat").joinpath("lx.js").read_text(encoding="utf-8")


def glue(text: str) -> str:
    info = {**script_info(text), "rawScript": text}
    return f"{_glue()}({json.dumps(info)});"


BACKEND = Backend(
    name="lx",
    extensions=(".js",),
    front_matter=js.BACKEND.front_matter,
    create=lambda source, ctx, limits: js.JsInstance(
        source,
        ctx,
        limits,
        js.Flavour(
            libraries=libraries,
            glue=glue,
            pieces=("web-crypto",),  # lx.utils.crypto.randomBytes, formData boundaries
            ready="__fox_lx_ready",
            unready="the source never sent lx.send(lx.EVENT_NAMES.inited, {sources: ...}) while loading",
        ),
    ),
    claims=claims,
    metadata=metadata,
    song_url_takes_song=True,
    family="script",
    isolatable=True,  # the worker process finds this row through create's module
)
