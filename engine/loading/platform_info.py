"""What this machine is, in the terms manifests use: OS, architecture, libc, Python, engine, usable runtimes.

Runtimes are found with `find_spec` rather than imported: wasmtime alone takes ~80 ms to import, and only a
plugin that really needs it should pay that. A runtime that is installed but broken fails at load instead,
and the compatibility manager falls back with that reason.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from engine._version import __version__

ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "armv8": "arm64", "i686": "x86", "i386": "x86"}
OS_ALIASES = {"win32": "windows", "cygwin": "windows", "macos": "darwin", "osx": "darwin"}

RUNTIME_PACKAGES = {
    "lua": ("lupa", "lupa"),
    "js": ("quickjs", "quickjs-ng"),
    "python": ("RestrictedPython", "RestrictedPython"),
    "native": ("ctypes", None),
    "wasm": ("wasmtime", "wasmtime"),
    "grpc": ("grpc", "grpcio"),
}
"""Backend name -> (module that must be importable, distribution whose version is reported)."""


@dataclass(frozen=True, slots=True)
class Runtime:
    name: str
    usable: bool
    version: str | None = None
    reason: str | None = None
    """Why it is not usable (e.g. `wasmtime is not installed`)."""


@dataclass(frozen=True)
class Platform:
    os: str
    """`linux`, `darwin`, `windows`, `freebsd`..."""
    arch: str
    """`x86_64`, `arm64`, `x86`... (aliases such as amd64 and aarch64 normalised)."""
    libc: str | None
    """`glibc` or `musl` on Linux; None elsewhere."""
    libc_version: str | None
    python: str
    engine: str
    runtimes: dict[str, Runtime] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """How `implementations.native` names a build for this machine: `linux-x86_64`."""
        return f"{self.os}-{self.arch}"

    def native_keys(self) -> tuple[str, ...]:
        """Build names that fit here, most specific first: `linux-x86_64-musl`, `linux-x86_64`."""
        return (f"{self.key}-{self.libc}", self.key) if self.libc else (self.key,)

    def usable(self, runtime: str) -> Runtime:
        return self.runtimes.get(runtime) or Runtime(runtime, True)

    def describe(self) -> str:
        """One line for messages: `linux-x86_64 (glibc 2.36), Python 3.11.7, foxplug 0.1.0`."""
        libc = f" ({self.libc} {self.libc_version or ''})".replace(" )", ")") if self.libc else ""
        return f"{self.key}{libc}, Python {self.python}, foxplug {self.engine}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "arch": self.arch,
            "key": self.key,
            "libc": self.libc,
            "libc_version": self.libc_version,
            "python": self.python,
            "engine": self.engine,
            "runtimes": {
                name: {"usable": r.usable, "version": r.version, **({"reason": r.reason} if r.reason else {})}
                for name, r in self.runtimes.items()
            },
        }


def normalise_arch(arch: str) -> str:
    arch = arch.lower()
    return ARCH_ALIASES.get(arch, arch)


def normalise_os(name: str) -> str:
    name = name.lower()
    if name.startswith("linux"):
        return "linux"
    if name.startswith("freebsd"):
        return "freebsd"
    return OS_ALIASES.get(name, name)


def _libc() -> tuple[str | None, str | None]:
    if not sys.platform.startswith("linux"):
        return None, None
    try:
        name, _, release = os.confstr("CS_GNU_LIBC_VERSION").partition(" ")  # type: ignore[union-attr]
        if name == "glibc":
            return "glibc", release
    except (ValueError, OSError, AttributeError):
        pass
    musl = sorted(Path("/lib").glob("ld-musl-*.so.1"))
    if musl:
        return "musl", None
    return None, None


def _runtime(name: str, module: str, distribution: str | None) -> Runtime:
    if find_spec(module) is None:
        return Runtime(name, False, reason=f"{distribution or module} is not installed")
    try:
        found = version(distribution) if distribution else platform.python_version()
    except PackageNotFoundError:
        found = None
    return Runtime(name, True, found)


def _engine_version() -> str:
    try:
        return version("foxplug")
    except PackageNotFoundError:
        return __version__


@cache
def detect() -> Platform:
    """This machine (computed once per process)."""
    libc, libc_version = _libc()
    return Platform(
        os=normalise_os(sys.platform),
        arch=normalise_arch(platform.machine()),
        libc=libc,
        libc_version=libc_version,
        python=platform.python_version(),
        engine=_engine_version(),
        runtimes={name: _runtime(name, *spec) for name, spec in RUNTIME_PACKAGES.items()},
    )
