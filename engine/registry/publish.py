"""The publisher's side: zip plugins into artifacts, write `index.json`, sign it. Any static host can serve it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.errors import RegistryError
from engine.loading.discover import discover, is_editor_artifact
from engine.loading.manifest import read_plugin
from engine.loading.semver import parse_version
from engine.registry.index import write_atomically
from engine.registry.signing import SecretKey, public_key_file, trusted_comment
from engine.schemas import problems

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same plugin always zips to the same sha256


def keygen(prefix: Path) -> tuple[Path, Path, str]:
    """Write PREFIX.key (secret, mode 0600) and PREFIX.pub; return both paths and the public key."""
    secret_path, public_path = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    for path in (secret_path, public_path):
        if path.exists():
            raise RegistryError(f"{path} exists; not overwritten", hint="choose another --out, or move it away")
    key = SecretKey.generate()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(key.dump())
    public_path.write_text(public_key_file(key.public), encoding="utf-8")
    return secret_path, public_path, str(key.public)


def zip_plugin(path: Path) -> bytes:
    """A folder plugin under one top folder named like it, or one plugin file at the root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            relative = file.relative_to(path.parent)
            if any(is_editor_artifact(part) for part in relative.parts):
                continue
            info = zipfile.ZipInfo(relative.as_posix(), _EPOCH)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def build_index(source: Path, out: Path, *, name: str, expires_days: float) -> dict[str, Any]:
    """Zip every plugin in `source` into `out` and add it to `out/index.json` (earlier versions stay listed);
    the serial goes up by one. Returns the index written."""
    index_path = out / "index.json"
    index: dict[str, Any] = (
        json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {"plugins": {}}
    )
    for path in discover(source):
        manifest = read_plugin(path)[0]
        data = zip_plugin(path)
        file_name = f"{manifest.id}-{manifest.version}.zip"
        write_atomically(out / file_name, data)
        release: dict[str, Any] = {
            "version": manifest.version,
            "url": file_name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "runtime": manifest.runtime,
        }
        if engine := manifest.data.get("compatibility", {}).get("engine"):
            release["engine"] = engine
        if manifest.dependencies:
            release["dependencies"] = dict(manifest.dependencies)
        entry = index["plugins"].setdefault(manifest.id, {"versions": []})
        for key in ("name", "description", "homepage", "license"):
            if manifest.data.get(key):
                entry[key] = manifest.data[key]
        versions = [v for v in entry["versions"] if v["version"] != manifest.version] + [release]
        entry["versions"] = sorted(versions, key=lambda v: parse_version(v["version"]), reverse=True)
    now = datetime.now(UTC).replace(microsecond=0)
    index.update(
        schema=1,
        name=name or index.get("name") or "plugins",
        serial=index.get("serial", 0) + 1,
        generated=now.isoformat().replace("+00:00", "Z"),
        expires=(now + timedelta(days=expires_days)).isoformat().replace("+00:00", "Z"),
    )
    for problem in problems(index, "index"):
        raise RegistryError(f"the index would be invalid: {problem.message}", field=".".join(map(str, problem.path)))
    write_atomically(index_path, (json.dumps(index, indent=2, sort_keys=True) + "\n").encode())
    return index


def sign_index(index_path: Path, key_path: Path) -> Path:
    """Write INDEX.minisig beside the index, its trusted comment naming the file and the serial."""
    key = SecretKey.parse(key_path.read_text(encoding="utf-8"))
    body = index_path.read_bytes()
    try:
        serial = json.loads(body)["serial"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"{index_path} is not an index (no serial)", file=str(index_path)) from None
    signature = key.sign(body, f"{trusted_comment(index_path.name)}\tserial:{serial}")
    out = index_path.with_name(index_path.name + ".minisig")
    write_atomically(out, signature.encode())
    return out
