"""The engine's configuration: `config/plugins.yaml`, validated, `${ENV}` expanded, units parsed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.gate.permissions import Policy
from engine.schemas import YamlDoc, YamlSyntaxError, data_dir, dotted, problems
from engine.units import parse_duration, parse_size
from script_api.api import PERMISSIONS

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """`security.breaker` in the config."""

    failures: int = 5
    """Consecutive failed calls that trip the breaker."""
    cooldown: float = 30.0
    """Seconds a tripped plugin is refused before one trial call is let through."""
    max_trips: int = 3
    """The trip that reaches this count disables the plugin until it is reloaded."""


@dataclass(frozen=True, slots=True)
class PluginSettings:
    """`plugin_configs.<id>`: whether it loads, its order among providers, and the config it is given."""

    enabled: bool = True
    priority: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    isolation: str | None = None
    """`thread` or `process` for this plugin; None: `security.isolation`."""
    permissions: Mapping[str, Any] = field(default_factory=dict)
    """Granted by the user on top of the manifest's (a manifest `permissions` mapping): how plugins whose own
    metadata cannot ask for permissions (MusicFree, LX) get network access."""


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """`monitoring.alert_thresholds`: a plugin whose window passes one raises an `alert` (unset: not watched)."""

    error_rate: float | None = None
    """Failed calls / calls, 0.05 = 5 %."""
    p95_latency: float | None = None
    """Seconds."""
    memory: int | None = None
    """Bytes."""
    call_rate: float | None = None
    """Calls per second."""

    def watched(self) -> dict[str, float]:
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """`monitoring.tracing`: OpenTelemetry spans for every plugin call, carried on into gRPC plugin services."""

    enabled: bool = False
    exporter: str = "otlp"
    """`otlp` (to `endpoint`, a collector such as Jaeger's), `console` (stderr) or `memory` (tests)."""
    endpoint: str | None = None
    """The OTLP/gRPC collector; None: the exporter's default (localhost:4317, or OTEL_EXPORTER_OTLP_ENDPOINT)."""
    sample_ratio: float = 1.0
    """Share of traces started here that are kept; a trace a caller started keeps its caller's decision."""


@dataclass(frozen=True, slots=True)
class Monitoring:
    """`monitoring`: metrics, the admin HTTP server and alerts."""

    enabled: bool = True
    listen: tuple[str, int] = ("127.0.0.1", 9797)
    """Host and port of the admin server; port 0 picks a free one."""
    token: str | None = None
    """Bearer token for the admin API's mutations; None: a random one per run."""
    allowed_hosts: tuple[str, ...] = ()
    """`Host` names the admin server answers besides loopback ones (refusing others stops DNS rebinding)."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers (and an idle keep-alive connection stays open)."""
    alert_thresholds: AlertThresholds = AlertThresholds()
    alert_interval: float = 10.0
    alert_webhook: str | None = None
    tracing: TracingSettings = TracingSettings()


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (loopback)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _monitoring(section: Mapping[str, Any]) -> Monitoring:
    defaults, thresholds = Monitoring(), section.get("alert_thresholds", {})
    return Monitoring(
        enabled=section.get("enabled", True),
        listen=parse_listen(section["listen"]) if "listen" in section else defaults.listen,
        token=section.get("token") or None,
        allowed_hosts=tuple(host.lower() for host in section.get("allowed_hosts", ())),
        header_timeout=parse_duration(section.get("header_timeout", defaults.header_timeout)),
        alert_thresholds=AlertThresholds(
            error_rate=thresholds.get("error_rate"),
            p95_latency=parse_duration(thresholds["p95_latency"]) if "p95_latency" in thresholds else None,
            memory=parse_size(thresholds["memory"]) if "memory" in thresholds else None,
            call_rate=thresholds.get("call_rate"),
        ),
        alert_interval=parse_duration(section.get("alert_interval", defaults.alert_interval)),
        alert_webhook=section.get("alert_webhook"),
        tracing=TracingSettings(**section.get("tracing", {})),
    )


@dataclass(frozen=True, slots=True)
class CompatibilityPolicy:
    """`compatibility`: which kinds of implementation to use, in order, and whether to fall back."""

    prefer: tuple[str, ...] = ("native", "wasm", "script")
    """Kinds not listed are not used: `[wasm, script]` keeps native (trusted, in-process) code out."""
    fallback: bool = True
    """Try the next candidate when one does not fit this machine or fails to load."""


@dataclass(frozen=True, slots=True)
class PlayerSettings:
    """`player`: what plays when the embedding host brings no player of its own (`foxplug run`, `serve`)."""

    backend: str = "null"
    """`null` (a simulated clock) or `mpv`."""
    mpv_path: str = "mpv"
    mpv_args: tuple[str, ...] = ()


def _player(section: Mapping[str, Any]) -> PlayerSettings:
    mpv = section.get("mpv", {})
    return PlayerSettings(section.get("backend", "null"), mpv.get("path", "mpv"), tuple(mpv.get("args", ())))


@dataclass(frozen=True)
class Config:
    directories: tuple[Path, ...] = ()
    auto_load: bool = True
    storage: Path = Path("~/.local/share/foxplug/storage.sqlite3").expanduser()
    hot_reload: bool = True
    debounce: float = 0.05
    keep_versions: int = 3
    policy: Policy = Policy()
    isolation: str = "thread"
    storage_quota: int = 10 << 20
    http_concurrency: int = 4
    breaker: BreakerSettings = BreakerSettings()
    call_timeout: float = 5.0
    memory_limit: int = 64 << 20
    max_result_size: int = 4 << 20
    max_response_size: int = 8 << 20
    max_concurrent_loads: int = 8
    plugin_configs: Mapping[str, PluginSettings] = field(default_factory=dict)
    monitoring: Monitoring = Monitoring()
    compatibility: CompatibilityPolicy = CompatibilityPolicy()
    player: PlayerSettings = PlayerSettings()
    sections: Mapping[str, Any] = field(default_factory=dict)
    """The validated `plugins:` mapping, for sections owned by later features (monitoring, registry...)."""
    source: Path | None = None

    def settings(self, plugin_id: str) -> PluginSettings:
        return self.plugin_configs.get(plugin_id, PluginSettings())

    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path).expanduser().resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config: {exc.strerror}", file=str(path)) from None
        try:
            doc = YamlDoc(text)
        except YamlSyntaxError as exc:
            raise ConfigError(str(exc), file=str(path), line=exc.line) from None
        return cls.from_mapping(doc.data or {}, base=path.parent, source=path, doc=doc)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        base: Path | None = None,
        source: Path | None = None,
        doc: YamlDoc | None = None,
    ) -> Config:
        """Build from a parsed mapping (what `Engine({...})` takes); relative paths are resolved against `base`."""
        file = str(source) if source else "<config>"
        data = _expand(data, file)
        for problem in problems(data, "config"):
            raise ConfigError(
                problem.message,
                file=file,
                line=doc.line_of(problem.path) if doc else None,
                field=dotted(problem.path),
                hint=problem.hint,
            )
        base = base or Path.cwd()
        plugins = data.get("plugins", {})
        reload = plugins.get("hot_reload", {})
        security = plugins.get("security", {})
        performance = plugins.get("performance", {})
        breaker = security.get("breaker", {})
        defaults = cls()
        return cls(
            directories=tuple(_resolve(base, d) for d in plugins.get("directories", [])),
            auto_load=plugins.get("auto_load", True),
            storage=_resolve(base, plugins["storage"]) if "storage" in plugins else defaults.storage,
            hot_reload=reload.get("enabled", True),
            debounce=parse_duration(reload.get("debounce", defaults.debounce)),
            keep_versions=reload.get("keep_versions", defaults.keep_versions),
            policy=Policy(
                allowed=frozenset(security.get("allowed_permissions", PERMISSIONS)),
                network_allow=tuple(security.get("network_allow", ["*"])),
                network_deny=tuple(security.get("network_deny", [])),
            ),
            isolation=security.get("isolation", "thread"),
            storage_quota=parse_size(security.get("storage_quota", defaults.storage_quota)),
            http_concurrency=security.get("http_concurrency", defaults.http_concurrency),
            breaker=BreakerSettings(
                failures=breaker.get("failures", defaults.breaker.failures),
                cooldown=parse_duration(breaker.get("cooldown", defaults.breaker.cooldown)),
                max_trips=breaker.get("max_trips", defaults.breaker.max_trips),
            ),
            call_timeout=parse_duration(performance.get("call_timeout", defaults.call_timeout)),
            memory_limit=parse_size(performance.get("memory_limit", defaults.memory_limit)),
            max_result_size=parse_size(performance.get("max_result_size", defaults.max_result_size)),
            max_response_size=parse_size(performance.get("max_response_size", defaults.max_response_size)),
            max_concurrent_loads=performance.get("max_concurrent_loads", defaults.max_concurrent_loads),
            plugin_configs={
                plugin_id: PluginSettings(
                    s.get("enabled", True),
                    s.get("priority", 0),
                    dict(s.get("config", {})),
                    s.get("isolation"),
                    dict(s.get("permissions", {})),
                )
                for plugin_id, s in plugins.get("plugin_configs", {}).items()
            },
            monitoring=_monitoring(plugins.get("monitoring", {})),
            compatibility=CompatibilityPolicy(
                prefer=tuple(plugins.get("compatibility", {}).get("prefer", defaults.compatibility.prefer)),
                fallback=plugins.get("compatibility", {}).get("fallback", True),
            ),
            player=_player(plugins.get("player", {})),
            sections=plugins,
            source=source,
        )


def default_config_path() -> Path | None:
    """The project's `config/plugins.yaml`, else `~/.config/foxplug/plugins.yaml` (ARCHITECTURE §3.2)."""
    for candidate in (
        data_dir("config") / "plugins.yaml",
        Path("~/.config/foxplug/plugins.yaml").expanduser(),
    ):
        if candidate.is_file():
            return candidate
    return None


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _expand(value: Any, file: str, path: str = "") -> Any:
    """`${VAR}` and `${VAR:-default}` in every string; an unset variable without default is an error."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(
                f"environment variable {name} is not set",
                file=file,
                field=path or None,
                hint=f"set it, or give a default: ${{{name}:-value}}",
            )

        return _ENV.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: _expand(v, file, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, file, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
