"""foxplug: a plugin engine for terminal music players. `from engine import Engine` to embed it."""

from engine._version import __version__
from engine.config import Config
from engine.engine import Engine, SearchResult
from engine.errors import (
    ConfigError,
    DependencyError,
    FoxplugError,
    IncompatiblePlatform,
    ManifestError,
    PermissionDenied,
    PluginCrashed,
    PluginError,
    PluginNotFound,
    PluginSuspended,
    PluginTimeout,
    ResourceLimitExceeded,
)
from engine.monitoring.report import PerformanceReport
from engine.players.null import NullPlayer
from engine.running.plugin import PluginInfo
from engine.sync import SyncEngine

__all__ = [
    "Config",
    "ConfigError",
    "DependencyError",
    "Engine",
    "FoxplugError",
    "IncompatiblePlatform",
    "ManifestError",
    "NullPlayer",
    "PerformanceReport",
    "PermissionDenied",
    "PluginCrashed",
    "PluginError",
    "PluginInfo",
    "PluginNotFound",
    "PluginSuspended",
    "PluginTimeout",
    "ResourceLimitExceeded",
    "SearchResult",
    "SyncEngine",
    "__version__",
]
