"""foxplug: a plugin engine for terminal music players. `from engine import Engine` to embed it."""

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
from engine.plugin import PluginInfo
from engine.report import PerformanceReport
from engine.sync import SyncEngine

__version__ = "0.1.0"
__all__ = [
    "Config",
    "ConfigError",
    "DependencyError",
    "Engine",
    "FoxplugError",
    "IncompatiblePlatform",
    "ManifestError",
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
]
