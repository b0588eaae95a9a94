"""Reading a plugin's manifest: inline front matter of a one-file plugin, or `plugin.yaml` of a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ManifestError
from engine.permissions import Grants
from engine.runtimes import BACKENDS, backend_for_extension
from engine.runtimes.base import Backend, Source
from engine.units import parse_duration, parse_size
from engine.validation import problems
from engine.yamldoc import YamlDoc, YamlSyntaxError, dotted

MANIFEST_FILE = "plugin.yaml"
_ENTRY_NAMES = ("main", "init", "index", "plugin")


@dataclass(frozen=True)
class Manifest:
    id: str
    version: str
    path: Path
    """The plugin as the user named it: its file, or its folder."""
    entry: Path
    backend: Backend
    grants: Grants
    provides: tuple[str, ...] | None
    """None when there was no manifest: inferred from the exports once loaded."""
    name: str = ""
    description: str = ""
    dependencies: dict[str, str] = field(default_factory=dict)
    config_schema: dict[str, Any] | None = None
    timeout: float | None = None
    memory: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def runtime(self) -> str:
        return self.backend.name


def _fail(message: str, file: Path, *, line: int | None = None, field: str | None = None, hint: str | None = None):
    return ManifestError(message, file=str(file), line=line, field=field, hint=hint)


def _stem_id(path: Path) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._") or "plugin"


def _folder_entry(folder: Path, data: dict[str, Any], manifest_file: Path) -> Path:
    if "entry" in data:
        entry = (folder / data["entry"]).resolve()
        if not entry.is_file():
            raise _fail(f"entry file {data['entry']!r} does not exist", manifest_file, field="entry")
        return entry
    scripts = sorted(p for p in folder.iterdir() if p.is_file() and backend_for_extension(p.suffix))
    named = [p for p in scripts if p.stem in _ENTRY_NAMES]
    if len(named) == 1 or len(scripts) == 1:
        return (named or scripts)[0]
    raise _fail(
        "cannot tell which file is the plugin's entry",
        manifest_file,
        field="entry",
        hint="set `entry:` in plugin.yaml (e.g. entry: main.lua)",
    )


def read_plugin(path: Path) -> tuple[Manifest, Source]:
    """Read and validate the manifest of the plugin at `path` (a file or a folder) and its entry source."""
    path = Path(path)
    if path.is_dir():
        manifest_file = path / MANIFEST_FILE
        if not manifest_file.is_file():
            raise _fail("a folder plugin needs a plugin.yaml", path, hint="run `foxplug new` for a working example")
        doc = _parse(manifest_file.read_text(encoding="utf-8"), manifest_file, 1)
        entry = _folder_entry(path, doc.data, manifest_file)
        return _build(doc, manifest_file, path, entry, _read_source(entry))
    if not path.is_file():
        raise _fail("no such plugin file or folder", path)
    backend = backend_for_extension(path.suffix)
    if backend is None:
        known = ", ".join(ext for b in BACKENDS.values() for ext in b.extensions)
        raise _fail(f"unknown plugin file type {path.suffix!r}", path, hint=f"plugin files end in {known}")
    source = _read_source(path)
    match = backend.front_matter.search(source.text)
    if match is None:
        grants = Grants()
        manifest = Manifest(_stem_id(path), "0.0.0", path, path, backend, grants, None)
        _validate({"id": manifest.id, "version": manifest.version}, None, path)
        return manifest, source
    first_line = source.text.count("\n", 0, match.start("yaml")) + 1
    doc = _parse(match.group("yaml"), path, first_line)
    return _build(doc, path, path, path, source)


def _read_source(path: Path) -> Source:
    try:
        return Source(path, path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(f"is not UTF-8 text (byte {exc.start})", path) from None


def _parse(text: str, file: Path, first_line: int) -> YamlDoc:
    try:
        doc = YamlDoc(text, first_line)
    except YamlSyntaxError as exc:
        raise _fail(str(exc), file, line=exc.line, hint="check indentation and quoting") from None
    if not isinstance(doc.data, dict):
        raise _fail("the manifest must be a YAML mapping (id: ..., version: ...)", file, line=first_line)
    return doc


def _validate(data: dict[str, Any], doc: YamlDoc | None, file: Path) -> None:
    for problem in problems(data, "manifest"):
        line = doc.line_of(problem.path) if doc else None
        raise _fail(problem.message, file, line=line, field=dotted(problem.path) or None, hint=problem.hint)


def _build(doc: YamlDoc, file: Path, path: Path, entry: Path, source: Source) -> tuple[Manifest, Source]:
    data = doc.data
    _validate(data, doc, file)
    backend = BACKENDS.get(data["runtime"]) if "runtime" in data else backend_for_extension(entry.suffix)
    if backend is None or backend_for_extension(entry.suffix) is not backend:
        raise _fail(
            f"runtime {data.get('runtime')!r} cannot run {entry.name}",
            file,
            line=doc.line_of(["runtime"]),
            field="runtime",
            hint="this engine runs lua, js and python plugins; omit `runtime` to infer it from the entry",
        )
    limits = data.get("limits", {})
    manifest = Manifest(
        id=data["id"],
        version=data["version"],
        path=path,
        entry=entry,
        backend=backend,
        grants=Grants.from_manifest(data.get("permissions", {})),
        provides=tuple(data["provides"]) if "provides" in data else None,
        name=data.get("name", ""),
        description=data.get("description", ""),
        dependencies=dict(data.get("dependencies", {})),
        config_schema=data.get("config_schema"),
        timeout=parse_duration(limits["timeout"]) if "timeout" in limits else None,
        memory=parse_size(limits["memory"]) if "memory" in limits else None,
        data=data,
    )
    return manifest, source
