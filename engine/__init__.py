"""foxplug: a plugin engine for terminal music players. `from engine import Engine` to embed it.

The face only re-exports. The error classes load with it; the rest loads on first use, so that a module deep
in the engine can import `engine.errors` without running the whole engine first, and `foxplug --help` starts
without importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine._version import __version__
from engine.errors import (
    ConfigError,
    DependencyError,
    FoxplugError,
    IncompatiblePlatform,
    ManifestError,
    PermissionDenied,
    PlayerError,
    PluginCrashed,
    PluginError,
    PluginNotFound,
    PluginSuspended,
    PluginTimeout,
    ResourceLimitExceeded,
    StorageError,
)

if TYPE_CHECKING:
    from engine.config import Config
    from engine.engine import Engine
    from engine.fanout import SearchResult
    from engine.monitoring.report import PerformanceReport
    from engine.players.mpv import MpvPlayer
    from engine.players.null import NullPlayer
    from engine.running.plugin import PluginInfo
    from engine.sync import SyncEngine

_LAZY = {
    "Config": "engine.config",
    "Engine": "engine.engine",
    "SearchResult": "engine.fanout",
    "PerformanceReport": "engine.monitoring.report",
    "MpvPlayer": "engine.players.mpv",
    "NullPlayer": "engine.players.null",
    "PluginInfo": "engine.running.plugin",
    "SyncEngine": "engine.sync",
}
"""Name -> the module that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "Config",
    "ConfigError",
    "DependencyError",
    "Engine",
    "FoxplugError",
    "IncompatiblePlatform",
    "ManifestError",
    "MpvPlayer",
    "NullPlayer",
    "PerformanceReport",
    "PermissionDenied",
    "PlayerError",
    "PluginCrashed",
    "PluginError",
    "PluginInfo",
    "PluginNotFound",
    "PluginSuspended",
    "PluginTimeout",
    "ResourceLimitExceeded",
    "SearchResult",
    "StorageError",
    "SyncEngine",
    "__version__",
]
