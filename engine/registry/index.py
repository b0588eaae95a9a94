"""A plugin index: fetched (http(s) or file), size-capped, signature-checked, schema-checked, never replayed.

The checks, in order, each with its own error: the signature against the configured key (`SignatureError`),
the schema (`RegistryError`), `serial` not lower than the last one seen from this index and `expires` not
past (`StaleIndex`). Only then is the serial remembered (`cache_dir/indexes.json`), so a rejected copy
cannot lower the bar for the next one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from engine.errors import RegistryError, SignatureError, StaleIndex
from engine.loading.semver import Version, parse_version
from engine.registry.settings import IndexSource, RegistrySettings
from engine.registry.signing import PublicKey, verify
from engine.schemas import problems

log = logging.getLogger(__name__)

MAX_INDEX_SIZE = 8 << 20
MAX_SIGNATURE_SIZE = 4 << 10

Progress = Callable[[int], None]
"""Called with each chunk's size as a download proceeds."""


@dataclass(frozen=True)
class Release:
    """One version of one plugin as an index lists it (or as the lockfile pins it)."""

    id: str
    version: str
    url: str
    """Absolute."""
    sha256: str
    size: int | None
    index: str | None
    """The index it came from; None for a plugin installed from a URL."""
    engine: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    yanked: bool = False

    @property
    def semver(self) -> Version:
        return parse_version(self.version, loose=False)

    def lock_entry(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "index": self.index, "url": self.url}


@dataclass(frozen=True)
class Index:
    name: str
    serial: int
    expires: datetime
    releases: dict[str, tuple[Release, ...]]
    """By plugin id, highest version first."""


async def read_url(
    session: aiohttp.ClientSession, url: str, limit: int, *, what: str, progress: Progress | None = None
) -> bytes:
    """The body at an http(s):// or file:// URL, refused past `limit` bytes (before reading, when it says so)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        data = await asyncio.to_thread(_read_file, Path(unquote(parts.path)), limit, what)
        if progress is not None:
            progress(len(data))
        return data
    if parts.scheme not in ("http", "https"):
        raise RegistryError(f"{what}: {url!r} is not an http(s):// or file:// URL")
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise RegistryError(f"{what}: {url} answered HTTP {response.status}", hint="check the index URL")
            if response.content_length is not None and response.content_length > limit:
                raise RegistryError(f"{what}: {url} is {response.content_length} bytes, over the {limit}-byte cap")
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 << 10):
                body += chunk
                if len(body) > limit:
                    raise RegistryError(f"{what}: {url} sent more than the {limit}-byte cap")
                if progress is not None:
                    progress(len(chunk))
            return bytes(body)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RegistryError(
            f"{what}: cannot fetch {url}: {type(error).__name__}: {error}".rstrip(": "),
            hint="check the network and registry.timeout",
        ) from None


def _read_file(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise RegistryError(f"{what}: cannot read {path}: {error.strerror}") from None
    if len(data) > limit:
        raise RegistryError(f"{what}: {path} is over the {limit}-byte cap")
    return data


async def fetch_index(session: aiohttp.ClientSession, source: IndexSource, settings: RegistrySettings) -> Index:
    """Fetch and check one configured index (see the module docstring for the order of checks)."""
    what = f"index `{source.name}`"
    body = await read_url(session, source.url, MAX_INDEX_SIZE, what=what)
    signature = None
    if source.key is None:
        if settings.require_signature:
            raise SignatureError(
                f"{what} has no trusted key and security.signature_verification is on",
                hint=f"set registry.indexes.{source.name}.key to the index's minisign public key",
            )
        log.warning("%s is used without a signature check (no key configured)", what)
    else:
        try:
            signature = await read_url(session, source.url + ".minisig", MAX_SIGNATURE_SIZE, what=what)
        except RegistryError:
            raise SignatureError(
                f"{what} is unsigned: {source.url}.minisig cannot be fetched",
                hint="publish index.json.minisig beside index.json (`foxplug index sign`)",
            ) from None
    # Hashing and schema-checking what a server sent grows with it: off the event loop.
    return await asyncio.to_thread(accept_index, body, source, settings.cache_dir, signature=signature)


def accept_index(
    body: bytes, source: IndexSource, cache_dir: Path, *, signature: bytes | None, now: datetime | None = None
) -> Index:
    """Verify an index body against its signature (when `source` has a key), parse it, refuse it when stale,
    and remember its serial."""
    what = f"index `{source.name}`"
    if source.key is not None:
        verify(body, (signature or b"").decode("utf-8", "replace"), PublicKey.parse(source.key), what=what)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RegistryError(f"{what} is not JSON: {error}") from None
    for problem in problems(data, "index"):
        where = ".".join(str(p) for p in problem.path)
        raise RegistryError(f"{what}: {where + ': ' if where else ''}{problem.message}", field=where or None)
    expires = datetime.fromisoformat(data["expires"].replace("Z", "+00:00"))
    if expires <= (now or datetime.now(UTC)):
        raise StaleIndex(
            f"{what} expired at {data['expires']} (serial {data['serial']})",
            hint="the publisher must re-sign it with a later `expires`; a mirror may be serving an old copy",
        )
    seen = _seen_serials(cache_dir)
    if data["serial"] < seen.get(source.name, -1):
        raise StaleIndex(
            f"{what} has serial {data['serial']}, lower than {seen[source.name]} seen before: a replayed or stale copy",
            hint="wait for the mirror to catch up; never lower an index's serial when publishing",
        )
    seen[source.name] = data["serial"]
    _write_json(cache_dir / "indexes.json", seen)
    releases: dict[str, tuple[Release, ...]] = {}
    for plugin_id, entry in data["plugins"].items():
        found = [
            Release(
                plugin_id,
                item["version"],
                urljoin(source.url, item["url"]),
                item["sha256"],
                item["size"],
                source.name,
                item.get("engine"),
                dict(item.get("dependencies", {})),
                item.get("yanked", False),
            )
            for item in entry["versions"]
        ]
        releases[plugin_id] = tuple(sorted(found, key=lambda r: r.semver, reverse=True))
    return Index(data["name"], data["serial"], expires, releases)


def _seen_serials(cache_dir: Path) -> dict[str, int]:
    try:
        return json.loads((cache_dir / "indexes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, value: Any) -> None:
    write_atomically(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
