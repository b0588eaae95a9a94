"""Install, update, uninstall, restore and roll back plugins in `registry.install_dir`, never losing a working one.

Every change runs the same steps: resolve (engine.registry.resolve) → fetch each artifact into the
content-addressed cache (`cache_dir/artifacts/<sha256>`) or take it from there, verifying size and sha256
against the signed index or the lockfile → unpack into a staging folder (engine.registry.unpack) → check
every plugin of the new set through the load pipeline (the `check` the caller gives: compile, `init`,
dependencies) → switch each changed plugin in with a rename, moving the old one to
`<install_dir>.versions/<id>/<version>/` (kept for rollback) → write the lockfile. A failure before the
switch changes nothing on disk but the cache; the switch itself is one rename per plugin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from engine.errors import ChecksumMismatch, DependencyError, FoxplugError, PluginNotFound, RegistryError
from engine.loading.dependencies import dependents, plan
from engine.loading.discover import discover
from engine.loading.manifest import read_plugin
from engine.loading.platform_info import detect
from engine.loading.semver import parse_range
from engine.registry.index import Index, Progress, Release, fetch_index, read_url, write_atomically
from engine.registry.lockfile import read_lock, write_lock
from engine.registry.resolve import Requirement, resolve
from engine.registry.settings import RegistrySettings
from engine.registry.unpack import unpack
from engine.running.version import Manifest

Check = Callable[[Sequence[Path]], Awaitable[None]]
"""Load these plugin paths, in order, through the load pipeline; raise the first problem."""

Downloads = Callable[[str, int | None], AbstractAsyncContextManager[Progress]]
"""`downloads(label, total)` -> a context giving the per-chunk progress callback (a bar on a terminal)."""


@dataclass(frozen=True)
class Change:
    id: str
    old: str | None
    new: str | None
    action: str
    """installed, updated, removed, restored, rolled back."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "old": self.old, "new": self.new, "action": self.action}


@dataclass(frozen=True)
class Installed:
    path: Path
    manifest: Manifest


class Installer:
    """`async with Installer(settings, engine_version, check) as installer: await installer.install(["app"])`."""

    def __init__(
        self, settings: RegistrySettings, check: Check, *, downloads: Downloads | None = None, engine: str | None = None
    ) -> None:
        self.settings = settings
        self._check = check
        self._downloads = downloads
        self._engine = engine or detect().engine
        self._session: aiohttp.ClientSession | None = None
        self._indexes: list[Index] | None = None

    async def __aenter__(self) -> Installer:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout, sock_connect=min(self.settings.timeout, 10))
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use `async with Installer(...)`"
        return self._session

    # what is there

    def installed(self) -> dict[str, Installed]:
        """The plugins in install_dir now, by id (a plugin whose manifest does not read is skipped)."""
        found = {}
        for path in discover(self.settings.install_dir):
            try:
                manifest = read_plugin(path)[0]
            except FoxplugError:
                continue
            found[manifest.id] = Installed(path, manifest)
        return found

    def lock(self) -> dict[str, Release]:
        return read_lock(self.settings.lockfile)

    async def indexes(self) -> list[Index]:
        if self._indexes is None:
            if not self.settings.indexes:
                raise RegistryError(
                    "no plugin index is configured",
                    hint="add one under plugins.registry.indexes: {NAME: {url: ..., key: RW...}} in the config",
                )
            self._indexes = [await fetch_index(self.session, s, self.settings) for s in self.settings.indexes]
        return self._indexes

    async def releases(self) -> dict[str, list[Release]]:
        """Every release of every index (earlier indexes first), plus what the lockfile pins that no index lists
        (installed from a URL, or since withdrawn): what is installed stays a valid choice."""
        merged: dict[str, list[Release]] = {}
        for index in await self.indexes():
            for pid, found in index.releases.items():
                merged.setdefault(pid, []).extend(found)
        for pid, release in self.lock().items():
            if all(r.version != release.version for r in merged.get(pid, ())):
                merged.setdefault(pid, []).append(release)
        for found in merged.values():  # highest first; a stable sort keeps the earlier index first on a tie
            found.sort(key=lambda r: r.semver, reverse=True)
        return merged

    # the commands

    async def install(self, specs: Sequence[str]) -> list[Change]:
        """`ID[@RANGE]...`: add these, keeping every installed plugin at its locked version."""
        asked = dict(_parse_spec(spec) for spec in specs)
        return await self._resolve_and_apply(asked, relax=set())

    async def update(self, ids: Sequence[str]) -> list[Change]:
        """Move these (or every installed plugin) to the highest versions that fit; URL installs are re-fetched."""
        lock = self.lock()
        for pid in ids:
            if pid not in lock:
                raise PluginNotFound(f"`{pid}` is not installed", plugin=pid, hint="see plugins.lock.json")
        relax = set(ids or lock)
        changes = []
        for pid in sorted(relax):
            if lock[pid].index is None:
                changes += await self.install_url(lock[pid].url, updating=True)
        relax = {pid for pid in relax if self.lock()[pid].index is not None}
        if relax:
            changes += await self._resolve_and_apply({}, relax=relax)
        return changes

    async def outdated(self) -> list[dict[str, Any]]:
        """Locked plugins with a newer release in their index that fits this engine."""
        releases = await self.releases()
        rows = []
        for pid, locked in sorted(self.lock().items()):
            if locked.index is None:
                continue
            newest = next(
                (
                    r
                    for r in releases.get(pid, ())
                    if not r.yanked
                    and (not r.engine or parse_range(r.engine).allows(self._engine))
                    and (self.settings.allow_prerelease or not r.semver.prerelease)
                ),
                None,
            )
            if newest is not None and newest.semver > locked.semver:
                rows.append({"id": pid, "installed": locked.version, "latest": newest.version, "index": newest.index})
        return rows

    async def uninstall(self, plugin_id: str) -> Change:
        installed = self.installed()
        lock = self.lock()
        if plugin_id not in installed and plugin_id not in lock:
            raise PluginNotFound(f"`{plugin_id}` is not installed", plugin=plugin_id)
        users = dependents((i.manifest for i in installed.values()), plugin_id)
        if users:
            raise DependencyError(
                f"`{plugin_id}` is needed by {', '.join(f'`{u}`' for u in users)}; not uninstalled",
                plugin=plugin_id,
                hint=f"uninstall {', '.join(users)} first",
            )
        old = installed.get(plugin_id)
        if old is not None:
            self._keep(old, lock.get(plugin_id))
        lock.pop(plugin_id, None)
        write_lock(self.settings.lockfile, lock)
        return Change(plugin_id, old.manifest.version if old else None, None, "removed")

    async def restore(self) -> list[Change]:
        """Install exactly the lockfile, from the cache when it has each artifact; the lockfile is not written."""
        return await self._apply(self.lock(), action="restored", write=False)

    async def rollback(self, plugin_id: str) -> Change:
        """Switch back to the most recent kept version of an installed plugin."""
        kept = self._kept(plugin_id)
        if not kept:
            raise PluginNotFound(
                f"`{plugin_id}` has no previous installed version to roll back to",
                plugin=plugin_id,
                hint=f"versions are kept in {self._beside('versions')} by install and update",
            )
        folder = kept[0]
        entry = json.loads((folder / "lock.json").read_text(encoding="utf-8"))
        release = Release(plugin_id, entry["version"], entry["url"], entry["sha256"], None, entry.get("index"))
        lock = self.lock()
        current = self.installed().get(plugin_id)
        (path,) = (p for p in folder.iterdir() if p.name != "lock.json")
        with self._staging() as staging:
            moved = staging / path.name
            if path.is_dir():
                shutil.copytree(path, moved)
            else:
                shutil.copy2(path, moved)
            await self._check(self._load_order({**lock, plugin_id: release}, {plugin_id: moved}))
            self._switch(plugin_id, moved, current, lock.get(plugin_id))
        shutil.rmtree(folder, ignore_errors=True)
        lock[plugin_id] = release
        write_lock(self.settings.lockfile, lock)
        return Change(plugin_id, current.manifest.version if current else None, release.version, "rolled back")

    async def install_url(self, url: str, *, updating: bool = False) -> list[Change]:
        """One plugin file or zip at a URL, recorded in the lockfile with its sha256 (no index vouches for it)."""
        name = PurePosixPath(urlsplit(url).path).name or "plugin"
        data = await self._download(url, None, name)
        digest = await _sha256(data)
        lock = self.lock()
        with self._staging() as staging:
            path = await asyncio.to_thread(unpack, data, name, staging / "new", self.settings.max_plugin_size)
            manifest = read_plugin(path)[0]
            previous = lock.get(manifest.id)
            if updating and previous is not None and previous.sha256 == digest:
                return []
            if previous is not None and previous.index is not None:
                raise RegistryError(
                    f"`{manifest.id}` is installed from index `{previous.index}`; not replaced by {url}",
                    plugin=manifest.id,
                    hint=f"uninstall `{manifest.id}` first to install it from a URL",
                )
            self._store(data, digest)
            release = Release(manifest.id, manifest.version, url, digest, len(data), None)
            await self._check(self._load_order({**lock, manifest.id: release}, {manifest.id: path}))
            current = self.installed().get(manifest.id)
            self._switch(manifest.id, path, current, previous)
        lock[manifest.id] = release
        write_lock(self.settings.lockfile, lock)
        old = current.manifest.version if current else None
        return [Change(manifest.id, old, manifest.version, "updated" if current else "installed")]

    # the steps

    async def _resolve_and_apply(self, asked: dict[str, str], *, relax: set[str]) -> list[Change]:
        lock = self.lock()
        requirements = [Requirement(pid, parse_range(text)) for pid, text in asked.items()]
        requirements += [
            Requirement(pid, parse_range(f"={release.version}"), pinned=True)
            for pid, release in lock.items()
            if pid not in asked and pid not in relax
        ]
        requirements += [Requirement(pid, parse_range("*")) for pid in relax if pid not in asked]
        releases = await self.releases()
        target = await asyncio.to_thread(
            resolve, requirements, releases, self._engine, prerelease=self.settings.allow_prerelease
        )
        for pid, release in lock.items():  # kept as they are: URL installs
            target.setdefault(pid, release)
        return await self._apply(target, action="installed", write=True)

    async def _apply(self, target: dict[str, Release], *, action: str, write: bool) -> list[Change]:
        installed = self.installed()
        lock = self.lock()
        changed = [
            r
            for pid, r in sorted(target.items())
            if pid not in installed
            or installed[pid].manifest.version != r.version
            or (pid in lock and lock[pid].sha256 != r.sha256)
        ]
        changes: list[Change] = []
        with self._staging() as staging:
            staged: dict[str, Path] = {}
            for release in changed:
                data = await self._artifact(release)
                name = PurePosixPath(urlsplit(release.url).path).name or release.id
                path = await asyncio.to_thread(unpack, data, name, staging / release.id, self.settings.max_plugin_size)
                manifest = read_plugin(path)[0]
                if (manifest.id, manifest.version) != (release.id, release.version):
                    raise RegistryError(
                        f"{release.url} holds `{manifest.id}` {manifest.version}, but the index says "
                        f"`{release.id}` {release.version}",
                        plugin=release.id,
                        hint="the index is wrong; tell its publisher",
                    )
                staged[release.id] = path
            if staged:
                await self._check(self._load_order(target, staged))
            for release in changed:
                current = installed.get(release.id)
                self._switch(release.id, staged[release.id], current, lock.get(release.id))
                old = current.manifest.version if current else None
                verb = action if action != "installed" or current is None else "updated"
                changes.append(Change(release.id, old, release.version, verb))
        if write:
            write_lock(self.settings.lockfile, target)
        return changes

    def _load_order(self, target: dict[str, Release], staged: dict[str, Path]) -> list[Path]:
        """Paths of every plugin of the new set, dependencies first: staged ones, else the installed ones."""
        installed = self.installed()
        paths = {pid: staged.get(pid) or (installed[pid].path if pid in installed else None) for pid in target}
        manifests = {pid: read_plugin(path)[0] for pid, path in paths.items() if path is not None}
        order = plan(manifests)
        if order.errors:
            raise next(iter(order.errors.values()))
        return [paths[pid] for pid in order.order if paths[pid] is not None]  # type: ignore[misc]

    async def _artifact(self, release: Release) -> bytes:
        cached = self.settings.cache_dir / "artifacts" / release.sha256
        if cached.is_file():
            data = await asyncio.to_thread(cached.read_bytes)
            if await _sha256(data) == release.sha256:
                return data
        data = await self._download(release.url, release.size, f"{release.id} {release.version}")
        if release.size is not None and len(data) != release.size:
            raise ChecksumMismatch(
                f"`{release.id}` {release.version} from {release.url} is {len(data)} bytes; the index says {release.size}",
                plugin=release.id,
                hint="the artifact on the server is not the one the index was signed for",
            )
        digest = await _sha256(data)
        if digest != release.sha256:
            raise ChecksumMismatch(
                f"`{release.id}` {release.version} from {release.url} has sha256 {digest}, not {release.sha256}",
                plugin=release.id,
                hint="the artifact on the server is not the one the index (or the lockfile) names; not installed",
            )
        self._store(data, digest)
        return data

    async def _download(self, url: str, size: int | None, label: str) -> bytes:
        limit = min(size, self.settings.max_plugin_size) if size else self.settings.max_plugin_size
        if self._downloads is None:
            return await read_url(self.session, url, limit, what=label)
        async with self._downloads(label, size) as progress:
            return await read_url(self.session, url, limit, what=label, progress=progress)

    def _store(self, data: bytes, digest: str) -> None:
        write_atomically(self.settings.cache_dir / "artifacts" / digest, data)

    def _beside(self, kind: str) -> Path:
        """`<install_dir>.staging` and `<install_dir>.versions`: beside it, so a switch is a rename on one file
        system, and outside it, so the engine watching install_dir never takes them for plugins."""
        install_dir = self.settings.install_dir
        return install_dir.with_name(f"{install_dir.name}.{kind}")

    def _staging(self) -> tempfile.TemporaryDirectory[str]:
        root = self._beside("staging")
        root.mkdir(parents=True, exist_ok=True)
        return _Staging(root)

    def _switch(self, plugin_id: str, new: Path, current: Installed | None, entry: Release | None) -> None:
        """Rename the staged plugin into install_dir; the one it replaces goes to .versions first."""
        if current is not None:
            self._keep(current, entry)
        suffix = "" if new.is_dir() else new.suffix
        self.settings.install_dir.mkdir(parents=True, exist_ok=True)
        new.rename(self.settings.install_dir / f"{plugin_id}{suffix}")

    def _keep(self, current: Installed, entry: Release | None) -> None:
        folder = self._beside("versions") / current.manifest.id / current.manifest.version
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        current.path.rename(folder / current.path.name)
        if entry is not None:
            write_atomically(folder / "lock.json", json.dumps(entry.lock_entry()).encode())
        for old in self._kept(current.manifest.id)[self.settings.keep_versions :]:
            shutil.rmtree(old, ignore_errors=True)

    def _kept(self, plugin_id: str) -> list[Path]:
        """Kept versions that can be rolled back to, newest first."""
        root = self._beside("versions") / plugin_id
        found = [p for p in root.iterdir() if (p / "lock.json").is_file()] if root.is_dir() else []
        return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


class _Staging(tempfile.TemporaryDirectory):  # type: ignore[type-arg]
    """A staging folder inside install_dir (so the switch is a rename on one file system), gone afterwards."""

    def __init__(self, root: Path) -> None:
        super().__init__(dir=root)

    def __enter__(self) -> Path:  # type: ignore[override]
        return Path(self.name)


async def _sha256(data: bytes) -> str:
    """Off the event loop: the artifact may be megabytes."""
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


def _parse_spec(spec: str) -> tuple[str, str]:
    """`lrclib` -> (lrclib, *); `lrclib@^1.2` -> (lrclib, ^1.2)."""
    pid, _, text = spec.partition("@")
    text = text or "*"
    try:
        parse_range(text)
    except ValueError as error:
        raise DependencyError(str(error), plugin=pid, hint="write ID or ID@RANGE, e.g. lrclib@^1.2") from None
    return pid, text
