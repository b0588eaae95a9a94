"""From an artifact's bytes to a plugin on disk, refusing anything that would write outside its folder.

An artifact is a zip of one plugin (a folder plugin at the zip's root or in its one top folder, or one
plugin file), or, installed from a URL, one plugin file as it is. Refused with `UnsafeArchive`: absolute
paths, `..`, symbolic links, more entries than `MAX_ENTRIES`, and more unpacked bytes than the cap (counted
as they are written, not as the zip's header claims).
"""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from engine.errors import UnsafeArchive
from engine.loading.discover import discover
from engine.loading.manifest import MANIFEST_FILE

MAX_ENTRIES = 2000


def unpack(data: bytes, file_name: str, dest: Path, max_size: int) -> Path:
    """Write the plugin in `data` under the empty folder `dest`; return its path (a file or a folder)."""
    dest.mkdir(parents=True, exist_ok=True)
    if not data.startswith(b"PK\x03\x04"):
        target = dest / PurePosixPath(file_name).name
        target.write_bytes(data)
        return _the_plugin(dest, file_name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise UnsafeArchive(f"{file_name} is not a readable zip: {error}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise UnsafeArchive(f"{file_name} has {len(entries)} entries, more than {MAX_ENTRIES}")
        budget = max_size
        for entry in entries:
            parts = _safe_parts(entry, file_name)
            if not parts:
                continue
            target = dest.joinpath(*parts)
            if entry.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry) as source, target.open("wb") as out:
                budget -= _copy(source, out, budget, file_name)
    return _the_plugin(dest, file_name)


def _safe_parts(entry: zipfile.ZipInfo, file_name: str) -> tuple[str, ...]:
    name = entry.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"{file_name}: entry {entry.filename!r} is an absolute path", hint="refusing to unpack it")
    if ".." in path.parts:
        raise UnsafeArchive(f"{file_name}: entry {entry.filename!r} climbs out of its folder with `..`")
    kind = stat.S_IFMT(entry.external_attr >> 16)  # 0 from zip tools that record no Unix mode
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchive(f"{file_name}: entry {entry.filename!r} is a link or a special file")
    return tuple(part for part in path.parts if part not in ("", "."))


def _copy(source: io.BufferedIOBase, out: io.BufferedIOBase, budget: int, file_name: str) -> int:
    written = 0
    while chunk := source.read(64 << 10):
        written += len(chunk)
        if written > budget:
            raise UnsafeArchive(f"{file_name} unpacks to more than the registry.max_plugin_size cap")
        out.write(chunk)
    return written


def _the_plugin(dest: Path, file_name: str) -> Path:
    """The one plugin the artifact holds: `dest` itself as a folder plugin, its one top folder, or one file."""
    if (dest / MANIFEST_FILE).is_file():
        return dest
    found = list(discover(dest))
    if len(found) != 1:
        shutil.rmtree(dest, ignore_errors=True)
        what = "no plugin" if not found else f"{len(found)} plugins"
        raise UnsafeArchive(
            f"{file_name} holds {what}; an artifact is one plugin (a folder with {MANIFEST_FILE}, or one file)"
        )
    return found[0]
