"""`fox.http`: aiohttp on the engine's loop; the gate judges every hop's URL and every address it resolves to.

A URL is parsed once (`parse_target`, with yarl, the parser aiohttp itself uses) and that parse is both what the
gate judges and what the request is sent to. Each plugin version gets its own connection pool, cookie jar and
resolver: a connection or cookie one plugin earned is never reused by another, and the resolver hands aiohttp
only the addresses the gate allowed, so the connection goes to the address that was checked (no DNS rebinding).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from engine.errors import PluginError, PluginTimeout, ResourceLimitExceeded
from script_api.context import PluginContext
from script_api.host.redact import redact

MAX_REDIRECTS = 5
"""Followed unless the caller asks otherwise (`opts.max_redirects`, 0: hand back the 3xx itself)."""
MAX_REDIRECTS_CAP = 20
DEFAULT_TIMEOUT = 30.0
_CREDENTIALS = ("authorization", "cookie", "proxy-authorization", "host")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass(frozen=True, slots=True)
class Target:
    """A URL parsed once: the gate judges it and the request is sent to it."""

    url: URL
    host: str
    """Lower-case ASCII (IDNA) name without a trailing dot, or the address of an IP literal."""
    address: IPv4Address | IPv6Address | None
    """Set when the host is an IP literal: then there is nothing to resolve."""
    userinfo: bool
    """`http://user@host/`: refused by the gate (a classic way to make a URL look like another host)."""


def parse_target(url: Any) -> Target:
    """Parse and sanity-check an http(s) URL; PluginError says what is wrong with it."""

    def bad(why: str) -> PluginError:
        return PluginError(f"fox.http: {url!r} {why}", hint="use a URL like https://api.example.com/path")

    try:
        parsed = url if isinstance(url, URL) else URL(url if isinstance(url, str) else "")
    except (ValueError, TypeError) as exc:
        raise bad(f"is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise bad("is not an http(s) URL with a host")
    if parsed.port == 0:
        raise bad("has port 0")
    host = parsed.raw_host.lower()
    host = host[:-1] if host.endswith(".") else host
    address: IPv4Address | IPv6Address | None = None
    if ":" in host:
        if "%" in host:
            raise bad("has an IPv6 zone id, which is not supported")
        try:
            address = ip_address(host)
        except ValueError:
            raise bad("has an invalid IPv6 address") from None
        host = str(address)
    elif (last := host.rsplit(".", 1)[-1]).isdigit() or last.startswith("0x"):
        try:  # only the dotted-quad form: `127.1`, `2130706433` and `0x7f.0.0.1` mean other things to other parsers
            address = IPv4Address(host)
        except ValueError:
            raise bad("has a numeric host that is not a dotted-quad IPv4 address") from None
    elif len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise bad("has an invalid host name")
    return Target(parsed, host, address, parsed.user is not None or parsed.password is not None)


class CheckedResolver(AbstractResolver):
    """Resolves with the system resolver, then keeps only the addresses the gate allows this plugin."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self._system = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._system.resolve(host, port, family)
        name = host.rstrip(".").lower()
        allowed = self.ctx.gate.allowed_addresses(
            self.ctx, name, [ip_address(r["host"]) for r in results], f"fox.http (connecting to {name}:{port})"
        )
        return [r for r in results if ip_address(r["host"]) in allowed]

    async def close(self) -> None:
        await self._system.close()


@dataclass
class _PluginHttp:
    """One plugin version's connections, its cookie jar, and how many of its requests are in flight."""

    ctx: PluginContext
    session: aiohttp.ClientSession
    cookies: aiohttp.CookieJar
    in_flight: int = 0


def _body(opts: dict[str, Any], call: str) -> str | bytes | None:
    if "json" in opts:
        return json.dumps(opts["json"])
    if opts.get("body_base64") is not None:
        try:
            return base64.b64decode(str(opts["body_base64"]), validate=True)
        except binascii.Error:
            raise PluginError(f"{call}: opts.body_base64 is not base64") from None
    body = opts.get("body")
    return None if body is None else str(body)


def _redirect_budget(opts: dict[str, Any]) -> int:
    wanted = opts.get("max_redirects", MAX_REDIRECTS)
    if isinstance(wanted, bool) or not isinstance(wanted, int | float) or wanted < 0:
        return MAX_REDIRECTS
    return min(int(wanted), MAX_REDIRECTS_CAP)


class HttpClient:
    """Requests for every plugin, each in its own pool; responses are capped before they are read into memory."""

    def __init__(self, max_response_bytes: int, max_in_flight: int = 4) -> None:
        self.max_response_bytes = max_response_bytes
        self.max_in_flight = max_in_flight
        self._plugins: dict[int, _PluginHttp] = {}

    def _for(self, ctx: PluginContext) -> _PluginHttp:
        client = self._plugins.get(id(ctx))
        if client is None:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(ctx), use_dns_cache=False)
            # The session keeps no cookies itself: _follow sends and stores them hop by hop, so an explicit
            # Cookie header from the plugin goes out exactly as written (aiohttp would re-parse and merge it).
            session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": "foxplug"},
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            jar = aiohttp.CookieJar(unsafe=True)  # unsafe: also remember cookies of hosts given by address
            client = self._plugins[id(ctx)] = _PluginHttp(ctx, session, jar)
        return client

    async def fetch(self, ctx: PluginContext, method: str, target: Target, opts: dict[str, Any]) -> dict[str, Any]:
        """`target` has passed the gate already; redirects are judged here, hop by hop."""
        client = self._for(ctx)
        call = f"fox.http.request({method} {redact(str(target.url))})"
        if client.in_flight >= self.max_in_flight:
            raise ResourceLimitExceeded(
                f"{call}: plugin `{ctx.plugin_id}` already has {client.in_flight} requests in flight, its limit",
                plugin=ctx.plugin_id,
                hint="wait for earlier requests, or raise security.http_concurrency in the config",
            )
        client.in_flight += 1
        try:
            return await self._follow(client, ctx, method, target, opts, call)
        finally:
            client.in_flight -= 1

    async def _follow(
        self,
        client: _PluginHttp,
        ctx: PluginContext,
        method: str,
        target: Target,
        opts: dict[str, Any],
        call: str,
    ) -> dict[str, Any]:
        body = _body(opts, call)
        headers = {str(k): str(v) for k, v in (opts.get("headers") or {}).items()}
        if "json" in opts and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        params = {str(k): str(v) for k, v in (opts.get("query") or {}).items()} or None
        allowed = _redirect_budget(opts)
        hops = 0
        while True:
            sent = dict(headers)
            own_cookie = any(k.lower() == "cookie" for k in sent)  # the plugin's own Cookie header wins over the jar
            if not own_cookie and (jar_cookies := client.cookies.filter_cookies(target.url)):
                sent["Cookie"] = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in jar_cookies.items())
            async with client.session.request(
                method, target.url, headers=sent, params=params, data=body, allow_redirects=False
            ) as response:
                client.cookies.update_cookies(response.cookies, response.url)
                if allowed and response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    if hops == allowed:
                        raise PluginError(f"{call}: more than {allowed} redirects", plugin=ctx.plugin_id)
                    try:
                        location = URL(response.headers["Location"])
                    except ValueError:
                        raise PluginError(
                            f"{call}: the redirect to {redact(response.headers['Location'])!r} is not a URL"
                        ) from None
                    previous, target = target, parse_target(response.url.join(location))
                    ctx.authorize("network", target, call)
                    if target.host != previous.host:  # credentials meant for one host are not sent to another
                        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
                    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    params, hops = None, hops + 1
                    continue
                return await self._read(ctx, response, binary=bool(opts.get("binary")))

    async def _read(self, ctx: PluginContext, response: aiohttp.ClientResponse, *, binary: bool) -> dict[str, Any]:
        limit = self.max_response_bytes
        shown = redact(str(response.url))
        if (response.content_length or 0) > limit:
            raise ResourceLimitExceeded(
                f"fox.http: response of {response.content_length} bytes from {shown} exceeds the {limit}-byte cap",
                plugin=ctx.plugin_id,
            )
        data = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            data += chunk
            if len(data) > limit:
                raise ResourceLimitExceeded(
                    f"fox.http: response from {shown} exceeds the {limit}-byte cap", plugin=ctx.plugin_id
                )
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        result: dict[str, Any] = {
            "status": response.status,
            "ok": 200 <= response.status < 300,
            "reason": response.reason or "",
            "url": str(response.url),
            "headers": headers,
            "header_list": [[name.lower(), value] for name, value in response.headers.items()],
        }
        if binary:
            result["body_base64"] = base64.b64encode(data).decode("ascii")
            return result
        text = data.decode(response.charset or "utf-8", errors="replace")
        result["body"] = text
        if response.content_type == "application/json":
            with contextlib.suppress(json.JSONDecodeError):
                result["json"] = json.loads(text)
        return result

    async def release(self, ctx: PluginContext) -> None:
        """A plugin version is gone: close its connections."""
        client = self._plugins.pop(id(ctx), None)
        if client is not None:
            await client.session.close()

    async def close(self) -> None:
        clients, self._plugins = list(self._plugins.values()), {}
        for client in clients:
            await client.session.close()


def request(
    ctx: PluginContext, method: str, url: str, opts: dict[str, Any] | None = None, *, scope: Target
) -> dict[str, Any]:
    """`scope` is `url` as dispatch parsed it and the gate judged it; the request goes there, not to a re-parse."""
    opts = opts or {}
    call = f"fox.http.request({method} {redact(url)})"
    timeout = min(float(opts.get("timeout", DEFAULT_TIMEOUT)), ctx.remaining(call))
    try:
        return ctx.services.run(ctx.services.http.fetch(ctx, method.upper(), scope, opts), timeout)
    except TimeoutError:
        raise PluginTimeout(f"{call} took longer than {timeout:.3g} s", plugin=ctx.plugin_id) from None
    except aiohttp.ClientError as exc:
        raise PluginError(f"{call} failed: {redact(str(exc))}", plugin=ctx.plugin_id) from None


def get(ctx: PluginContext, url: str, opts: dict[str, Any] | None = None, *, scope: Target) -> dict[str, Any]:
    return request(ctx, "GET", url, opts, scope=scope)
