"""Reading a plugin's manifest: inline front matter of a one-file plugin, or `plugin.yaml` of a folder."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

from engine.errors import ManifestError
from engine.gate.permissions import Grants
from engine.loading.semver import parse_range
from engine.running.version import Implementation, Manifest
from engine.runtimes import BACKENDS, INSTALLED, backend_for_extension, claiming_backend, script_backend_for
from engine.runtimes.base import Backend, Source
from engine.schemas import YamlDoc, YamlSyntaxError, dotted, plugin_schema_problem, problems
from engine.units import parse_duration, parse_size

MANIFEST_FILE = "plugin.yaml"
_ENTRY_NAMES = ("main", "init", "index", "plugin")


def _fail(message: str, file: Path, *, line: int | None = None, field: str | None = None, hint: str | None = None):
    return ManifestError(message, file=str(file), line=line, field=field, hint=hint)


def _stem_id(path: Path) -> str:
    """The id of a plugin file without a manifest: its name, lowercased, other characters as `-`."""
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._")


def _folder_entry(folder: Path, data: dict[str, Any], manifest_file: Path) -> Path:
    if "entry" in data:
        entry = (folder / data["entry"]).resolve()
        if not entry.is_relative_to(folder.resolve()):  # also through a symlink: resolve() followed it
            raise _fail(
                f"entry {data['entry']!r} is outside the plugin's folder",
                manifest_file,
                field="entry",
                hint="a plugin's files live inside its folder",
            )
        if not (entry.is_file() or (entry / "__init__.py").is_file()):  # a file, or a native Python package
            raise _fail(f"entry file {data['entry']!r} does not exist", manifest_file, field="entry")
        return entry
    scripts = sorted(p for p in folder.iterdir() if p.is_file() and script_backend_for(p))
    named = [p for p in scripts if p.stem in _ENTRY_NAMES]
    if len(named) == 1 or len(scripts) == 1:
        return (named or scripts)[0]
    raise _fail(
        "cannot tell which file is the plugin's entry",
        manifest_file,
        field="entry",
        hint="set `entry:` in plugin.yaml (e.g. entry: main.lua)",
    )


def read_plugin(path: Path, entry_point: EntryPoint | None = None) -> tuple[Manifest, Source]:
    """Read and validate the manifest of the plugin at `path` (a file or a folder) and its entry source;
    `entry_point`: the installed distribution's entry point that `path` was discovered through."""
    path = Path(path)
    if entry_point is not None:
        return _read_installed(path, entry_point)
    if path.is_dir():
        manifest_file = path / MANIFEST_FILE
        if not manifest_file.is_file():
            raise _fail("a folder plugin needs a plugin.yaml", path, hint="run `foxplug new` for a working example")
        doc = _parse(_read_source(manifest_file).text, manifest_file, 1)
        _validate(doc.data, doc, manifest_file)  # before `entry` or `runtime` is used
        declared = BACKENDS.get(doc.data.get("runtime", ""))
        if declared is not None and declared.manifest_is_source:  # e.g. a program's `command`: plugin.yaml is all
            return _build(doc, manifest_file, path, manifest_file, _read_source(manifest_file))
        if "implementations" in doc.data and "entry" not in doc.data:
            return _build(doc, manifest_file, path, None, None)  # the implementations name the files
        return _build(doc, manifest_file, path, _folder_entry(path, doc.data, manifest_file), None)
    if not path.is_file():
        raise _fail("no such plugin file or folder", path)
    backend = backend_for_extension(path.suffix)
    if backend is not None and path.suffix in backend.binary:
        raise _fail(
            f"a {backend.name} binary is not a plugin on its own",
            path,
            hint=f"put it in a folder with a plugin.yaml (runtime: {backend.name}, entry: {path.name})",
        )
    if backend is None:
        known = ", ".join(ext for b in BACKENDS.values() for ext in b.extensions)
        raise _fail(f"unknown plugin file type {path.suffix!r}", path, hint=f"plugin files end in {known}")
    source = _read_source(path)
    match = backend.front_matter.search(source.text)
    if match is None and (claimed := claiming_backend(path, source.text)) is not None and claimed.metadata:
        # another ecosystem's plugin: its own metadata is its manifest (JSON is YAML)
        data = {"id": _stem_id(path), **claimed.metadata(path, source.text), "runtime": claimed.name}
        return _build(_parse(json.dumps(data), path, 1), path, path, path, source)
    if match is None:
        grants = Grants()
        manifest = Manifest(_stem_id(path), "0.0.0", path, path, backend, grants, None)
        try:
            _validate({"id": manifest.id, "version": manifest.version}, None, path)
        except ManifestError as error:
            error.hint = f"the file name {path.stem!r} gives no valid id: add a manifest with `id:` to the file"
            raise ManifestError(error.message, file=error.file, field="id", hint=error.hint) from None
        return manifest, source
    first_line = source.text.count("\n", 0, match.start("yaml")) + 1
    doc = _parse(match.group("yaml"), path, first_line)
    return _build(doc, path, path, path, source)


def _read_source(path: Path, backend: Backend | None = None) -> Source:
    if backend is not None and path.suffix in backend.binary:
        return Source(path, "", path.read_bytes())
    file = path / "__init__.py" if path.is_dir() else path  # a native Python package
    try:
        return Source(path, file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(f"is not UTF-8 text (byte {exc.start})", file) from None


def _read_installed(path: Path, entry_point: EntryPoint) -> tuple[Manifest, Source]:
    """An installed distribution's plugin: its module's docstring front matter (optional) with defaults
    from the entry point — id from its name, version from the distribution. Always native Python."""
    file = path / "__init__.py" if path.is_dir() else path
    source = dataclasses.replace(_read_source(path), entry_point=entry_point)
    match = INSTALLED.front_matter.search(source.text)
    if match is not None:
        doc = _parse(match.group("yaml"), file, source.text.count("\n", 0, match.start("yaml")) + 1)
    else:
        doc = _parse("{}", file, 1)
    if doc.data.setdefault("runtime", INSTALLED.name) != INSTALLED.name:
        raise _fail(
            f"an installed plugin (entry point `{entry_point.name}` in {entry_point.group}) is native Python",
            file,
            line=doc.line_of(["runtime"]),
            field="runtime",
            hint="remove `runtime` from its front matter, or ship it as a plugin file instead",
        )
    doc.data.setdefault("id", re.sub(r"[^a-z0-9._-]+", "-", entry_point.name.lower()).strip("-._") or "plugin")
    release = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", entry_point.dist.version if entry_point.dist else "")
    doc.data.setdefault("version", ".".join(n or "0" for n in release.groups()) if release else "0.0.0")
    return _build(doc, file, path, path, source)


def _implementations(data: dict[str, Any], doc: YamlDoc, file: Path, path: Path) -> tuple[Implementation, ...]:
    """`implementations`, each file resolved inside the plugin's folder and read if it is there."""
    if "implementations" not in data:
        return ()
    if not path.is_dir():
        raise _fail(
            "`implementations` needs a folder plugin",
            file,
            line=doc.line_of(["implementations"]),
            field="implementations",
            hint="move the files into a folder with a plugin.yaml",
        )
    folder = path.resolve()
    found = []
    for kind, spec in data["implementations"].items():
        backend = BACKENDS[kind]
        for platform, name in spec.items() if isinstance(spec, dict) else [(None, spec)]:
            where = ["implementations", kind, *([platform] if platform else [])]
            target = (folder / name).resolve()
            if not target.is_relative_to(folder):
                raise _fail(
                    f"{name!r} is outside the plugin's folder", file, line=doc.line_of(where), field=dotted(where)
                )
            if target.suffix not in backend.extensions and not (backend.package_entry and target.is_dir()):
                raise _fail(
                    f"{name!r} is not a {kind} file (expected {', '.join(backend.extensions)})",
                    file,
                    line=doc.line_of(where),
                    field=dotted(where),
                )
            source = _read_source(target, backend) if target.exists() else None
            found.append(Implementation(backend, target, platform.lower() if platform else None, source))
    return tuple(found)


def _check_ranges(data: dict[str, Any], doc: YamlDoc, file: Path) -> None:
    ranges = [(["compatibility", key], data.get("compatibility", {}).get(key)) for key in ("engine", "python")]
    ranges += [(["dependencies", name], text) for name, text in data.get("dependencies", {}).items()]
    for where, text in ranges:
        if text is None:
            continue
        try:
            parse_range(text)
        except ValueError as exc:
            raise _fail(str(exc), file, line=doc.line_of(where), field=dotted(where)) from None


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
    if "config_schema" in data and (reason := plugin_schema_problem(data["config_schema"])) is not None:
        raise _fail(
            f"config_schema {reason}",
            file,
            line=doc.line_of(["config_schema"]) if doc else None,
            field="config_schema",
            hint="keep a plugin's config schema small and plain (it is checked on every load and reload)",
        )


def _build(doc: YamlDoc, file: Path, path: Path, entry: Path | None, source: Source | None) -> tuple[Manifest, Source]:
    """The manifest, from validated data; `entry` None: the first implementation present stands for it."""
    data = doc.data
    _validate(data, doc, file)
    _check_ranges(data, doc, file)
    implementations = _implementations(data, doc, file, path)
    if entry is None:
        if not implementations:
            raise _fail("`implementations` lists no files", file, line=doc.line_of(["implementations"]), field="entry")
        first = next((i for i in implementations if i.source is not None), implementations[0])
        entry, backend, source = first.path, first.backend, first.source or Source(first.path, "")
    else:
        backend = BACKENDS.get(data["runtime"]) if "runtime" in data else backend_for_extension(entry.suffix)
        if backend is None or not (
            entry.suffix in backend.extensions
            or (backend.package_entry and entry.is_dir())
            or (backend.manifest_is_source and entry.name == MANIFEST_FILE)
        ):
            raise _fail(
                f"runtime {data.get('runtime')!r} cannot run {entry.name}",
                file,
                line=doc.line_of(["runtime"]),
                field="runtime",
                hint=f"runtimes: {', '.join(BACKENDS)}; omit `runtime` to infer it from the entry",
            )
        source = source or _read_source(entry, backend)
    if backend.needs_one_of and not any(key in data for key in backend.needs_one_of):
        raise _fail(
            f"a {backend.name} plugin needs `{'` or `'.join(backend.needs_one_of)}`",
            file,
            field=backend.needs_one_of[0],
            hint=backend.needs_hint or None,
        )
    return _from_data(data, path, entry, backend, implementations), source


def connected_manifest(data: Any, origin: str, backend: Backend) -> Manifest:
    """The manifest a plugin that connected itself sent in its handshake, checked like a plugin.yaml;
    `backend` is the row that attaches its connection."""
    where = Path(origin)
    if not isinstance(data, dict):
        raise _fail("the `initialize` answer carries no `manifest`", where, field="manifest")
    _validate(data, None, where)
    if data.get("runtime", backend.name) != backend.name:
        raise _fail(f"a connected plugin's runtime is `{backend.name}`", where, field="runtime")
    return _from_data(data, where, where, backend)


def _from_data(
    data: dict[str, Any], path: Path, entry: Path, backend: Backend, implementations: tuple[Implementation, ...] = ()
) -> Manifest:
    """The one place a Manifest is made, from validated data."""
    limits = data.get("limits", {})
    return Manifest(
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
        implementations=implementations,
    )
