"""The one place that decides what a plugin may do: its manifest grants, intersected with the user's policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from engine.errors import PermissionDenied

PERMISSIONS = (
    "network",
    "storage",
    "player.read",
    "player.control",
    "ui.notify",
    "events.emit",
    "plugins.call",
)


@dataclass(frozen=True, slots=True)
class Grants:
    """What a plugin's manifest asks for: boolean permissions plus network host patterns."""

    flags: frozenset[str] = frozenset()
    network: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, permissions: Mapping[str, Any]) -> Grants:
        flags = frozenset(name for name, value in permissions.items() if name != "network" and value is True)
        return cls(flags, tuple(h.lower() for h in permissions.get("network") or ()))

    def plus(self, extra: Iterable[str]) -> Grants:
        """Add CLI-style grants: `storage`, `network` (any host) or `network:HOST`."""
        flags, network = set(self.flags), list(self.network)
        for item in extra:
            name, _, host = item.partition(":")
            if name == "network":
                network.append(host.lower() or "*")
            else:
                flags.add(name)
        return Grants(frozenset(flags), tuple(network))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: True for name in sorted(self.flags)}
        if self.network:
            data["network"] = list(self.network)
        return data


def _host_matches(host: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(host, pattern) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class Policy:
    """The user's side (config `security`): which permissions plugins may hold, which hosts they may reach."""

    allowed: frozenset[str] = frozenset(PERMISSIONS)
    network_allow: tuple[str, ...] = ("*",)
    network_deny: tuple[str, ...] = ()

    def admit(self, grants: Grants, *, plugin: str, file: str) -> None:
        """At load: refuse a plugin that asks for more than the policy allows."""
        wanted = set(grants.flags) | ({"network"} if grants.network else set())
        for name in sorted(wanted - self.allowed):
            raise PermissionDenied(
                f"plugin `{plugin}` asks for permission `{name}`, which the policy does not allow",
                plugin=plugin,
                file=file,
                field=f"permissions.{name}",
                hint="add it to security.allowed_permissions in the config, or remove it from the manifest",
            )
        for pattern in grants.network:
            if not _host_matches(pattern, self.network_allow) or _host_matches(pattern, self.network_deny):
                raise PermissionDenied(
                    f"plugin `{plugin}` asks for network access to {pattern!r}, which the policy does not allow",
                    plugin=plugin,
                    file=file,
                    field="permissions.network",
                    hint="allow it in security.network_allow (and not in network_deny)",
                )

    def plus(self, extra: Iterable[str]) -> Policy:
        names = {item.partition(":")[0] for item in extra}
        return Policy(self.allowed | names, self.network_allow, self.network_deny)


class PermissionGate:
    """Checked by `engine.dispatch` on every host call, from every runtime."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(self, ctx: Any, permission: str, scope: str | None, call: str) -> None:
        grants: Grants = ctx.grants
        if permission == "network":
            host = (scope or "").lower()
            if (
                _host_matches(host, grants.network)
                and "network" in self.policy.allowed
                and _host_matches(host, self.policy.network_allow)
                and not _host_matches(host, self.policy.network_deny)
            ):
                return
            ctx.denied += 1
            raise PermissionDenied(
                f"plugin `{ctx.plugin_id}` called {call} but holds no network grant for {host}",
                plugin=ctx.plugin_id,
                hint="add it under permissions.network in its manifest, and allow it in security.network_allow",
            )
        if permission in grants.flags and permission in self.policy.allowed:
            return
        ctx.denied += 1
        raise PermissionDenied(
            f"plugin `{ctx.plugin_id}` called {call} without the `{permission}` permission",
            plugin=ctx.plugin_id,
            hint=f"add `{permission}: true` under permissions in its manifest",
        )
