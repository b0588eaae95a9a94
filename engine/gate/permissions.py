"""The one place that decides what a plugin may do: its manifest grants, intersected with the user's policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError, PermissionDenied
from engine.gate.hosts import IPAddress, host_pattern, matches_any, special_kind
from script_api.api import PERMISSIONS
from script_api.host.http import Target


@dataclass(frozen=True, slots=True)
class Grants:
    """What a plugin's manifest asks for: boolean permissions plus network host patterns."""

    flags: frozenset[str] = frozenset()
    network: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, permissions: Mapping[str, Any]) -> Grants:
        flags = frozenset(name for name, value in permissions.items() if name != "network" and value is True)
        return cls(flags, tuple(h.lower() for h in permissions.get("network") or ()))

    def merged(self, other: Grants) -> Grants:
        """Both sets of grants (the manifest's, and what the user granted in `plugin_configs.<id>.permissions`)."""
        return Grants(self.flags | other.flags, tuple(dict.fromkeys((*self.network, *other.network))))

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


def _covered(pattern: str, patterns: Iterable[str]) -> bool:
    wanted = host_pattern(pattern)
    return any(host_pattern(p).covers(wanted) for p in patterns)


@dataclass(frozen=True, slots=True)
class Policy:
    """The user's side (config `security`): which permissions plugins may hold, which hosts they may reach."""

    allowed: frozenset[str] = frozenset(PERMISSIONS)
    network_allow: tuple[str, ...] = ("*",)
    """Patterns (engine.gate.hosts) every plugin grant must fall inside; `*` here also lets grants by address through."""
    network_deny: tuple[str, ...] = ()
    """Patterns no request may reach, by host name or by any address it resolves to."""

    def __post_init__(self) -> None:
        for key in ("network_allow", "network_deny"):
            for index, pattern in enumerate(getattr(self, key)):
                try:
                    host_pattern(pattern)
                except ValueError as exc:
                    raise ConfigError(str(exc), field=f"plugins.security.{key}[{index}]") from None

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
            try:
                host_pattern(pattern)
            except ValueError as exc:
                raise PermissionDenied(
                    f"plugin `{plugin}` has an invalid network pattern: {exc}",
                    plugin=plugin,
                    file=file,
                    field="permissions.network",
                    hint="write a host (api.example.com), a wildcard (*.example.com) or an address (10.0.0.0/8)",
                ) from None
            if not _covered(pattern, self.network_allow) or _covered(pattern, self.network_deny):
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
    """Checked by `engine.gate.dispatch` on every host call, from every runtime."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(self, ctx: Any, permission: str, scope: Any, call: str) -> None:
        grants: Grants = ctx.grants
        if permission == "network":
            self._check_target(ctx, scope, call)
            return
        if permission in grants.flags and permission in self.policy.allowed:
            return
        ctx.denied += 1
        raise PermissionDenied(
            f"plugin `{ctx.plugin_id}` called {call} without the `{permission}` permission",
            plugin=ctx.plugin_id,
            hint=f"add `{permission}: true` under permissions in its manifest "
            f"(or plugin_configs.{ctx.plugin_id}.permissions in the config)",
        )

    def _check_target(self, ctx: Any, target: Target, call: str) -> None:
        """Before any connection: the URL's host against the grants and the policy; an IP literal by address."""
        if target.userinfo:
            ctx.denied += 1
            raise PermissionDenied(
                f"plugin `{ctx.plugin_id}` called {call} with a user name in the URL, which is refused",
                plugin=ctx.plugin_id,
                hint="send credentials in a header (e.g. Authorization), never as user@host",
            )
        host, address = target.host, target.address
        policy = self.policy
        if not (
            matches_any(ctx.grants.network, host, address)
            and "network" in policy.allowed
            and matches_any(policy.network_allow, host, address)
            and not matches_any(policy.network_deny, host, address)
        ):
            ctx.denied += 1
            raise PermissionDenied(
                f"plugin `{ctx.plugin_id}` called {call} but holds no network grant for {host}",
                plugin=ctx.plugin_id,
                hint=f"add it under permissions.network in its manifest (or plugin_configs.{ctx.plugin_id}.permissions"
                ".network in the config), and allow it in security.network_allow",
            )
        if address is not None:
            self.allowed_addresses(ctx, host, [address], call)

    def allowed_addresses(self, ctx: Any, host: str, addresses: Sequence[IPAddress], call: str) -> list[IPAddress]:
        """After DNS: the addresses of `host` the plugin may connect to; PermissionDenied when none is.

        Addresses refused are dropped, not fatal: `localhost` granted with `127.0.0.1` but not `::1` still
        reaches 127.0.0.1. The caller connects only to what this returns, so DNS cannot change the answer later.
        """
        allowed, refusals = [], []
        for address in addresses:
            refusal = self._address_refusal(ctx.grants, address)
            if refusal is None:
                allowed.append(address)
            else:
                refusals.append((address, refusal))
        if allowed:
            return allowed
        ctx.denied += 1
        address, refusal = refusals[0] if refusals else (None, "no address")
        where = f"{host} is" if str(address) == host else f"{host} resolved to {address},"
        raise PermissionDenied(
            f"plugin `{ctx.plugin_id}` called {call} but {where} {refusal}",
            plugin=ctx.plugin_id,
            hint=(
                f'add "{address}" (or a network containing it) under permissions.network in its manifest '
                f"(or plugin_configs.{ctx.plugin_id}.permissions.network in the config); "
                "`*` and host names never grant loopback, private, link-local or other non-public addresses"
            ),
        )

    def _address_refusal(self, grants: Grants, address: IPAddress) -> str | None:
        """Why the plugin may not connect to `address`, or None if it may."""
        if matches_any(self.policy.network_deny, str(address), address):
            return "an address security.network_deny refuses"
        kind = special_kind(address)
        if kind is None:
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        if not any(host_pattern(p).contains(address) for p in grants.network):
            return f"{article} {kind} address, which needs a grant by address"
        if not any(host_pattern(p).is_any or host_pattern(p).contains(address) for p in self.policy.network_allow):
            return f"{article} {kind} address, which security.network_allow does not allow"
        return None
