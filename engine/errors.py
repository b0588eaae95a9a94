"""One exception hierarchy for everything a plugin or its manifest can do wrong.

Every error carries an address (plugin, file, line, field) and a hint, so the CLI can print one line a person
can act on: ``PluginTimeout: plugin `slow` (plugins_js/slow.js) exceeded its 5 s deadline in search()``.
"""

from __future__ import annotations


class FoxplugError(Exception):
    """Base class: a message with where it happened and what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        traceback: str | None = None,
    ) -> None:
        self.message = message
        self.plugin = plugin
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        self.traceback = traceback
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"field `{self.field}`: " if self.field else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{field}{self.message}{hint}"

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json` output and the admin API."""
        data: dict[str, object] = {"error": type(self).__name__, "message": str(self)}
        for key in ("plugin", "file", "line", "field", "hint"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def wire_data(self) -> dict[str, object]:
        """The `data` of a JSON-RPC error object carrying this error (docs/protocol.md): its class and address."""
        data: dict[str, object] = {"type": type(self).__name__}
        for key in ("file", "line", "field", "hint", "traceback"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


def error_class(name: object) -> type[FoxplugError] | None:
    """The error class a peer named (an admin answer, a JSON-RPC error's `data.type`), or None when the name
    is not one of ours: a peer can never make the host raise anything else."""
    return _CLASSES.get(str(name))


class ConfigError(FoxplugError):
    """The engine configuration is invalid (names the YAML path)."""


class ManifestError(FoxplugError):
    """A plugin manifest is missing, malformed or fails the schema."""


class PermissionDenied(FoxplugError):
    """A plugin called a host function its grants or the policy do not allow."""


class PluginTimeout(FoxplugError):
    """A plugin call ran past its deadline."""


class ResourceLimitExceeded(FoxplugError):
    """A plugin exceeded its memory, stack or result-size limit."""


class PluginCrashed(FoxplugError):
    """A plugin's runtime or process died; the instance was discarded."""


class PluginError(FoxplugError):
    """The plugin's own code failed, or returned something the host cannot use."""


class DependencyError(FoxplugError):
    """Plugin dependencies are missing, cyclic or of the wrong version."""


class RegistryError(FoxplugError):
    """A plugin index or an artifact from it cannot be trusted or used; nothing installed changes."""


class SignatureError(RegistryError):
    """An index is unsigned, signed by another key than the trusted one, or its signature does not verify."""


class ChecksumMismatch(RegistryError):
    """A downloaded artifact's size or sha256 differs from what the signed index (or the lockfile) says."""


class StaleIndex(RegistryError):
    """An index is older than one seen before (lower `serial`) or past its `expires`: a replay or a stale mirror."""


class UnsafeArchive(RegistryError):
    """An artifact would write outside its folder (absolute path, `..`, link) or unpacks beyond the size cap."""


class IncompatiblePlatform(FoxplugError):
    """No implementation of the plugin fits this machine."""

    def __init__(self, message: str, *, skipped: tuple[object, ...] = (), **address: object) -> None:
        self.skipped = skipped
        """Every candidate implementation and why it was not used (`engine.loading.compat.Skip`)."""
        super().__init__(message, **address)  # type: ignore[arg-type]


class PlayerError(FoxplugError):
    """The player could not do what was asked: mpv is missing or gone, or the embedding player answered an error."""


class StorageError(FoxplugError):
    """The host's storage file (`plugins.storage`) cannot be opened, read or written: the host's fault, so it never
    counts against a plugin's breaker."""


class PluginNotFound(FoxplugError):
    """No plugin with that id, file or function."""


class PluginSuspended(FoxplugError):
    """A plugin's circuit breaker is open after repeated failures: refused at once until its cooldown ends,
    or until it is reloaded."""


def _family(cls: type[FoxplugError]) -> list[type[FoxplugError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _family(child))]


_CLASSES = {cls.__name__: cls for cls in _family(FoxplugError)}
