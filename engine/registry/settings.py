"""`plugins.registry` of the config: which indexes to trust, where installs and downloads live, what to refuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config import Config
from engine.units import parse_duration, parse_size

LOCKFILE = "plugins.lock.json"


@dataclass(frozen=True)
class IndexSource:
    name: str
    url: str
    key: str | None = None
    """A minisign public key (`RW...`); without one the index is used unverified, unless signatures are required."""


@dataclass(frozen=True)
class RegistrySettings:
    indexes: tuple[IndexSource, ...] = ()
    install_dir: Path = Path("~/.local/share/foxplug/plugins").expanduser()
    cache_dir: Path = Path("~/.cache/foxplug").expanduser()
    timeout: float = 30.0
    max_plugin_size: int = 16 << 20
    """Bytes an artifact may have, downloaded or unpacked."""
    allow_prerelease: bool = False
    require_signature: bool = False
    """`security.signature_verification`: refuse an index without a key or a signature."""
    lockfile: Path = Path("~/.config/foxplug").expanduser() / LOCKFILE
    """Beside the config file."""
    keep_versions: int = 3
    """Previous versions of each installed plugin kept for rollback (`hot_reload.keep_versions`)."""

    @classmethod
    def from_config(cls, config: Config) -> RegistrySettings:
        section = config.sections.get("registry", {})
        base = config.source.parent if config.source else Path.cwd()

        def path(key: str, default: Path) -> Path:
            value = section.get(key)
            return (base / Path(value).expanduser()).resolve() if value else default

        return cls(
            indexes=tuple(
                IndexSource(name, entry["url"], entry.get("key")) for name, entry in section.get("indexes", {}).items()
            ),
            install_dir=path("install_dir", cls.install_dir),
            cache_dir=path("cache_dir", cls.cache_dir),
            timeout=parse_duration(section.get("timeout", cls.timeout)),
            max_plugin_size=parse_size(section.get("max_plugin_size", cls.max_plugin_size)),
            allow_prerelease=section.get("allow_prerelease", False),
            require_signature=config.sections.get("security", {}).get("signature_verification", False),
            lockfile=(config.source.parent / LOCKFILE) if config.source else cls.lockfile,
            keep_versions=config.keep_versions,
        )

    def source(self, name: str) -> IndexSource | None:
        return next((s for s in self.indexes if s.name == name), None)
