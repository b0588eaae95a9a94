"""Network grants as the gate reads them: host patterns matched label by label, and addresses by class.

A pattern is one of
- `*`: any host name or public address (never a loopback, private, link-local... address);
- an address or network (`127.0.0.1`, `10.0.0.0/8`, `::1`, `[::1]`, `fc00::/7`): the only way to grant a
  non-public address, which is why a grant by name (`localhost`) does not reach 127.0.0.1;
- a host name, matched label by label: a leading `*` label stands for one or more labels (`*.example.com`
  matches `a.example.com` and `a.b.example.com`, never `example.com`, `evil-example.com` or
  `example.com.evil.net`); `*`, `?` and `[...]` inside any other label match within that label only.
Everything is compared in lower case with one trailing dot removed (`Example.COM.` is `example.com`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_LABEL = re.compile(r"^[a-z0-9_*?\[\]!-]{1,63}$")
_UNIQUE_LOCAL = ip_network("fc00::/7")
_NAT64 = ip_network("64:ff9b::/96")
_NAT64_LOCAL = ip_network("64:ff9b:1::/48")
_COMPATIBLE = ip_network("::/96")


@dataclass(frozen=True, slots=True)
class HostPattern:
    text: str
    network: Network | None = None
    labels: tuple[str, ...] = ()

    @property
    def is_any(self) -> bool:
        return self.labels == ("*",)

    def matches(self, host: str, address: IPAddress | None) -> bool:
        """Does a request to `host` (an IP literal when `address` is set) fall under this pattern?"""
        if self.network is not None:
            return address is not None and self.contains(address)
        return self.is_any or _labels_match(tuple(host.split(".")), self.labels)

    def contains(self, address: IPAddress) -> bool:
        """Is this an address grant covering `address` (or the IPv4 address inside its IPv6 form)?"""
        network = self.network
        return network is not None and any(
            form.version == network.version and form in network for form in address_forms(address)
        )

    def covers(self, other: HostPattern) -> bool:
        """At load: does this policy pattern cover everything the manifest pattern `other` asks for?"""
        if self.is_any:
            return True
        if other.network is not None:
            if self.network is not None:
                return other.network.version == self.network.version and other.network.subnet_of(self.network)  # type: ignore[arg-type]
            single = other.network.num_addresses == 1
            return single and _labels_match(tuple(str(other.network.network_address).split(".")), self.labels)
        return self.network is None and _labels_match(other.labels, self.labels)


@lru_cache(maxsize=1024)
def host_pattern(text: str) -> HostPattern:
    """Parse a grant or policy pattern; ValueError says what is wrong with it."""
    value = text.strip().lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if value.endswith(".") and value != ".":
        value = value[:-1]
    if value == "*":
        return HostPattern(text, labels=("*",))
    host = _host_of_url(value)
    if host is not None:
        raise ValueError(f"{text!r} is a URL, not a host: write the host only ({host}); a grant covers every "
                         "scheme, port and path of its host")  # fmt: skip
    if ":" in value or "/" in value or _numeric(value):
        try:
            return HostPattern(text, network=ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    labels = tuple(value.split("."))
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{text!r} is not a host pattern (e.g. api.example.com, *.example.com, 127.0.0.1)")
    return HostPattern(text, labels=labels)


_URL = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)(?P<host>\[[^\]]+\]|[^/:]+)|^(?P<bare>[^/:\[\]]+)(?::\d+(?:/.*)?$|/(?!\d+$))"
)


def _host_of_url(value: str) -> str | None:
    """The host of `https://host:443/path`, `host:8080` or `host/path`, written where only a host belongs
    (`10.0.0.0/8`, `::1` and `[::1]` are addresses, not URLs)."""
    match = _URL.match(value)
    return None if match is None else match["host"] or match["bare"]


def matches_any(patterns: Iterable[str], host: str, address: IPAddress | None) -> bool:
    return any(host_pattern(p).matches(host, address) for p in patterns)


def address_forms(address: IPAddress) -> tuple[IPAddress, ...]:
    """The address, plus the IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64)."""
    embedded = _embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    return (address,) if embedded is None else (address, embedded)


def special_kind(address: IPAddress) -> str | None:
    """Why a plugin needs a grant by address to reach `address`, or None for a public unicast address."""
    if isinstance(address, IPv6Address) and address in _NAT64_LOCAL:
        return "local NAT64"
    subject = address_forms(address)[-1]
    for kind, test in (
        ("unspecified", subject.is_unspecified),
        ("loopback", subject.is_loopback),
        ("link-local", subject.is_link_local),
        ("multicast", subject.is_multicast),
        ("unique-local", isinstance(subject, IPv6Address) and subject in _UNIQUE_LOCAL),
        ("private", subject.is_private),
        ("reserved", subject.is_reserved),
        ("non-public", not subject.is_global),
    ):
        if test:
            return kind
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _numeric(value: str) -> bool:
    """Looks like an IPv4 address: then it must parse as one (no `127.1` or `0x7f.0.0.1` games)."""
    last = value.rsplit(".", 1)[-1]
    return bool(last) and (last.isdigit() or last.startswith("0x"))


def _labels_match(host: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if pattern[0] == "*" and len(pattern) > 1:
        rest = pattern[1:]
        return len(host) > len(rest) and _each(host[-len(rest) :], rest)
    return len(host) == len(pattern) and _each(host, pattern)


def _each(host: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return all(fnmatchcase(h, p) for h, p in zip(host, pattern, strict=True))
