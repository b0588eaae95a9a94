"""A plugin reaches only the hosts it was granted, and a non-public address only when granted by address.

The gate judges the URL as parsed once (the same parse the request uses), matches host patterns label by label,
and after DNS checks every address, handing aiohttp only the addresses it allowed (no DNS-rebinding window).
"""

from __future__ import annotations

import asyncio
import socket
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from engine import Engine, PermissionDenied, PluginError, ResourceLimitExceeded
from engine.config import Config
from engine.errors import ConfigError
from engine.gate.dispatch import dispatch
from engine.gate.permissions import Grants, PermissionGate, Policy
from script_api.context import PluginContext
from script_api.host.http import CheckedResolver, HttpClient, Target, parse_target

LANGS = ["lua", "js", "py"]
EXT = {"lua": ".lua", "js": ".js", "py": ".py"}
FENCE = {"lua": ("--[[---", "---]]"), "js": ("/*---", "---*/"), "py": ('"""---', '---"""')}

FETCHER = {
    "lua": """
        local M = {}
        function M.fetch(url) return fox.http.get(url) end
        return M
    """,
    "js": """
        module.exports = { async fetch(url) { return await fox.http.get(url); } };
    """,
    "py": """
        def fetch(url):
            return fox.http.get(url)
    """,
}


def fetcher(write_plugin: Callable[[str, str], Path], lang: str, network: list[str]) -> Path:
    start, end = FENCE[lang]
    manifest = f"id: net-{lang}\nversion: 1.0.0\npermissions:\n  network: {network!r}"
    return write_plugin(f"net{EXT[lang]}", f"{start}\n{manifest}\n{end}\n{textwrap.dedent(FETCHER[lang]).strip()}\n")


@dataclass
class Server:
    port: int = 0
    seen: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """On 127.0.0.1 only: /hello answers, /to/<where> redirects, /slow waits, /close answers and hangs up."""
    state = Server()

    def record(request: web.Request) -> None:
        state.seen.append(request.path)
        state.hosts.append(request.headers.get("Host", ""))

    async def hello(request: web.Request) -> web.Response:
        record(request)
        return web.json_response({"hello": "world"})

    async def close(request: web.Request) -> web.Response:
        record(request)
        response = web.json_response({"hello": "once"})
        response.force_close()  # the next request needs a new connection, hence a new DNS answer
        return response

    async def redirect(request: web.Request) -> web.Response:
        record(request)
        where = request.match_info["where"]
        raise web.HTTPFound(
            {
                "internal": state.url("/hello", host="internal.test"),
                "metadata": "http://169.254.169.254/latest/meta-data/",
                "private": "http://10.0.0.1/admin",
                "mapped": "http://[::ffff:10.0.0.1]/admin",
                "userinfo": f"http://127.0.0.1@localhost:{state.port}/hello",
            }[where]
        )

    async def slow(request: web.Request) -> web.Response:
        record(request)
        await state.release.wait()
        return web.json_response({"slow": True})

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/close", close)
    app.router.add_get("/to/{where}", redirect)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.port = runner.addresses[0][1]
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """`fake_dns["name.test"] = [["127.0.0.1"], ["10.0.0.1"]]`: successive answers for a name (last one repeats).

    Names not listed go to the real resolver, so `localhost` stays what the system says.
    """
    answers: dict[str, list[list[str]]] = {}
    real = aiohttp.ThreadedResolver.resolve

    async def resolve(self: Any, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        if host not in answers:
            return await real(self, host, port, family)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    monkeypatch.setattr(aiohttp.ThreadedResolver, "resolve", resolve)
    return answers


def gate_ctx(grants: list[str], policy: Policy | None = None) -> Any:
    """What the gate reads of a plugin: its id, its grants and its denial counter."""
    return SimpleNamespace(
        plugin_id="probe", grants=Grants(network=tuple(grants)), denied=0, gate=PermissionGate(policy or Policy())
    )


def allowed(url: str, grants: list[str], policy: Policy | None = None) -> bool:
    ctx = gate_ctx(grants, policy)
    try:
        ctx.gate.check(ctx, "network", parse_target(url), f"fox.http.get({url!r})")
    except PermissionDenied:
        assert ctx.denied == 1
        return False
    return True


# --- host patterns: label boundaries, case ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("*.example.com", "https://a.example.com/", True),
        ("*.example.com", "https://a.b.example.com/x", True),
        ("*.example.com", "https://example.com/", False),  # the apex is a different grant: list it too
        ("*.example.com", "https://evil-example.com/", False),
        ("*.example.com", "https://aexample.com/", False),
        ("*.example.com", "https://example.com.evil.net/", False),
        ("*.example.com", "https://a.example.com.evil.net/", False),
        ("*.example.com", "https://a.example.co/", False),
        ("example.com", "https://example.com/", True),
        ("example.com", "https://www.example.com/", False),
        ("example.com", "https://example.com.evil.net/", False),
        ("api.example.com", "https://API.Example.COM/", True),
        ("API.EXAMPLE.COM", "https://api.example.com/", True),
        ("api.example.com", "https://api.example.com./", True),  # the absolute form of the same name
        ("api*.example.com", "https://api2.example.com/", True),
        ("api*.example.com", "https://api.evil.example.com/", False),  # `*` inside a label never crosses a dot
        ("*", "https://anything.example.net/", True),
        ("*", "http://93.184.216.34/", True),
        ("93.184.216.34", "http://93.184.216.34/", True),
        ("93.184.0.0/16", "http://93.184.216.34/", True),
        ("93.184.0.0/16", "http://93.185.0.1/", False),
        ("localhost", "http://127.0.0.1/", False),
    ],
)
def test_host_patterns_match_on_label_boundaries_and_ignore_case(pattern: str, url: str, expected: bool) -> None:
    assert allowed(url, [pattern]) is expected


def test_policy_patterns_match_the_same_way_and_ignore_case() -> None:
    policy = Policy(network_allow=("*.EXAMPLE.com",), network_deny=("Bad.Example.COM",))
    assert allowed("https://a.example.com/", ["*.example.com"], policy)
    assert not allowed("https://bad.example.com/", ["*.example.com"], policy)
    assert not allowed("https://evil-example.com/", ["*"], policy)
    assert not allowed("https://example.com/", ["example.com"], policy)


# --- addresses: only an explicit grant by address reaches a non-public one ----------------------------------

SPECIAL = [
    "http://127.0.0.1/",
    "http://127.255.255.254/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a9fe:a9fe]/",
]


@pytest.mark.parametrize("url", SPECIAL)
def test_a_wildcard_grant_never_reaches_a_non_public_address(url: str) -> None:
    ctx = gate_ctx(["*"])
    with pytest.raises(PermissionDenied) as caught:
        ctx.gate.check(ctx, "network", parse_target(url), "fox.http.get(...)")
    assert "needs a grant by address" in str(caught.value)
    assert "permissions.network" in str(caught.value)


@pytest.mark.parametrize(
    ("grant", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1/"),
        ("127.0.0.1", "http://[::ffff:127.0.0.1]/"),  # the IPv4-mapped form of a granted address
        ("127.0.0.0/8", "http://127.0.0.2/"),
        ("::1", "http://[::1]/"),
        ("[::1]", "http://[::1]/"),
        ("10.0.0.0/8", "http://10.20.30.40/"),
        ("fc00::/7", "http://[fd00::1]/"),
        ("169.254.169.254", "http://169.254.169.254/"),
    ],
)
def test_a_grant_by_address_or_network_reaches_it(grant: str, url: str) -> None:
    assert allowed(url, [grant])


@pytest.mark.parametrize(
    ("grant", "url"),
    [
        ("127.0.0.1", "http://127.0.0.2/"),
        ("10.0.0.0/8", "http://192.168.0.1/"),
        ("127.0.0.*", "http://127.0.0.1/"),  # a wildcard is not a grant by address
        ("localhost", "http://127.0.0.1/"),
    ],
)
def test_a_grant_for_other_addresses_does_not_reach_it(grant: str, url: str) -> None:
    assert not allowed(url, [grant])


def test_network_deny_refuses_an_address_or_network_whatever_was_granted() -> None:
    policy = Policy(network_deny=("169.254.0.0/16",))
    assert not allowed("http://169.254.169.254/", ["169.254.169.254"], policy)
    assert not allowed("http://[::ffff:169.254.169.254]/", ["169.254.169.254"], policy)


def test_a_policy_that_does_not_allow_an_address_refuses_a_grant_for_it_at_load() -> None:
    with pytest.raises(PermissionDenied) as caught:
        Policy(network_allow=("*.example.com",)).admit(Grants(network=("10.0.0.1",)), plugin="p", file="p.lua")
    assert caught.value.field == "permissions.network"
    Policy(network_allow=("10.0.0.0/8",)).admit(Grants(network=("10.1.0.0/16",)), plugin="p", file="p.lua")


# --- URL shapes: parsed once, odd forms refused --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com@evil.example.net/",
        "http://user:secret@api.example.com/",
        "https://api.example.com:443@evil.example.net/",
    ],
)
def test_a_url_with_user_info_is_refused(url: str) -> None:
    ctx = gate_ctx(["*"])
    with pytest.raises(PermissionDenied, match="user name in the URL"):
        ctx.gate.check(ctx, "network", parse_target(url), "fox.http.get(...)")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http:///no-host",
        "http://",
        "//example.com/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://%65vil.example/",
        "http://a..b/",
        "http://exa mple.com/",
        "http://example.com:0/",
        "http://example.com:99999/",
        "http://[fe80::1%25eth0]/",
        "http://good.example\\@evil.example/",
    ],
)
def test_urls_that_are_not_plain_http_to_a_host_are_refused(url: str) -> None:
    with pytest.raises(PluginError):
        parse_target(url)


def test_hosts_are_normalised_once_for_gate_and_request() -> None:
    target = parse_target("HTTPS://Bücher.Example./path?q=1")
    assert target.host == "xn--bcher-kva.example"
    assert target.address is None
    assert str(target.url) == "https://xn--bcher-kva.example./path?q=1"
    mapped = parse_target("http://[::FFFF:127.0.0.1]:8080/")
    assert (mapped.host, str(mapped.address), mapped.url.port) == ("::ffff:7f00:1", "::ffff:7f00:1", 8080)


def test_the_gate_and_the_request_see_the_same_parsed_url() -> None:
    """dispatch parses the URL once; the object the gate judged is the object handed to the HTTP client."""
    judged: list[Any] = []
    sent: list[Any] = []

    class Gate(PermissionGate):
        def check(self, ctx: Any, permission: str, scope: Any, call: str) -> None:
            judged.append(scope)
            super().check(ctx, permission, scope, call)

    async def fetch(ctx: Any, method: str, target: Target, opts: dict[str, Any]) -> dict[str, Any]:
        sent.append(target)
        return {"status": 200}

    def run(coro: Any, timeout: float) -> Any:
        return asyncio.run(coro)

    services = SimpleNamespace(http=SimpleNamespace(fetch=fetch), run=run)
    ctx = PluginContext(
        "probe", "1.0.0", "probe.lua", {}, Grants(network=("api.example.com",)), Gate(Policy()), services
    )  # type: ignore[arg-type]
    assert dispatch(ctx, "http.get", ("https://API.example.com/x",)) == {"status": 200}
    assert dispatch(ctx, "http.request", ("post", "https://api.example.com/y")) == {"status": 200}
    assert len(judged) == 2
    assert sent[0] is judged[0]
    assert sent[1] is judged[1]
    assert ctx.host_calls == Counter({"http.get": 1, "http.request": 1})


# --- end to end: real plugins, a real server, real DNS for `localhost` ----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_a_name_granted_without_its_address_does_not_reach_loopback(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, ["localhost"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied) as caught:
            await fox.call(f"net-{lang}", "fetch", server.url("/hello", host="localhost"))
    message = str(caught.value)
    assert "localhost resolved to" in message
    assert "loopback address, which needs a grant by address" in message
    assert caught.value.plugin == f"net-{lang}"
    assert server.seen == []


@pytest.mark.parametrize("lang", LANGS)
async def test_a_name_granted_with_its_address_reaches_it(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, ["localhost", "127.0.0.1"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        response = await fox.call(f"net-{lang}", "fetch", server.url("/hello", host="localhost"))
    assert response["json"] == {"hello": "world"}
    assert server.seen == ["/hello"]
    assert server.hosts == [f"localhost:{server.port}"]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_wildcard_grant_reaches_neither_loopback_nor_localhost(
    lang: str, write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, lang, ["*"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):
            with pytest.raises(PermissionDenied, match="loopback address"):
                await fox.call(f"net-{lang}", "fetch", server.url("/hello", host=host))
    assert server.seen == []


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("internal", r"internal\.test resolved to 10\.0\.0\.5, a private address"),
        ("metadata", r"169\.254\.169\.254 is a link-local address"),
        ("private", r"10\.0\.0\.1 is a private address"),
        ("mapped", "::ffff:a00:1 is a private address"),
        ("userinfo", "user name in the URL"),
    ],
)
async def test_every_redirect_hop_is_judged_like_the_first_request(
    where: str,
    error: str,
    write_plugin: Callable[..., Path],
    engine_config: Callable[..., dict[str, Any]],
    server: Server,
    fake_dns: dict[str, list[list[str]]],
) -> None:
    fake_dns["internal.test"] = [["10.0.0.5"]]
    path = fetcher(write_plugin, "lua", ["127.0.0.1", "*"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match=error):
            await fox.call("net-lua", "fetch", server.url(f"/to/{where}"))
    assert server.seen == [f"/to/{where}"]  # the redirect target was never requested


async def test_the_connection_goes_to_the_address_that_was_checked(
    write_plugin: Callable[..., Path],
    engine_config: Callable[..., dict[str, Any]],
    server: Server,
    fake_dns: dict[str, list[list[str]]],
) -> None:
    """DNS rebinding: the name first answers with a granted address, then with a private one."""
    fake_dns["rebind.test"] = [["127.0.0.1"], ["10.0.0.1"]]
    path = fetcher(write_plugin, "js", ["rebind.test", "127.0.0.1"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        first = await fox.call("net-js", "fetch", server.url("/close", host="rebind.test"))
        with pytest.raises(PermissionDenied, match=r"rebind\.test resolved to 10\.0\.0\.1, a private address"):
            await fox.call("net-js", "fetch", server.url("/close", host="rebind.test"))
    assert first["json"] == {"hello": "once"}
    assert server.seen == ["/close"]
    assert server.hosts == [f"rebind.test:{server.port}"]


async def test_addresses_refused_are_dropped_and_the_rest_are_used(
    write_plugin: Callable[..., Path],
    engine_config: Callable[..., dict[str, Any]],
    server: Server,
    fake_dns: dict[str, list[list[str]]],
) -> None:
    fake_dns["mixed.test"] = [["10.9.9.9", "127.0.0.1"]]
    path = fetcher(write_plugin, "py", ["mixed.test", "127.0.0.1"])
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        response = await fox.call("net-py", "fetch", server.url("/hello", host="mixed.test"))
    assert response["status"] == 200
    assert server.seen == ["/hello"]


async def test_network_deny_applies_to_resolved_addresses(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]], server: Server
) -> None:
    path = fetcher(write_plugin, "lua", ["localhost", "127.0.0.0/8", "::/127"])  # wider than what is denied
    config = engine_config(security={"network_deny": ["127.0.0.1", "::1"]})
    async with Engine(config) as fox:
        await fox.load(path)
        with pytest.raises(PermissionDenied, match=r"security\.network_deny refuses"):
            await fox.call("net-lua", "fetch", server.url("/hello", host="localhost"))
    assert server.seen == []


async def test_the_resolver_hands_aiohttp_only_allowed_addresses(fake_dns: dict[str, list[list[str]]]) -> None:
    fake_dns["both.test"] = [["10.0.0.7", "93.184.216.34", "::ffff:127.0.0.1"]]
    ctx = gate_ctx(["both.test"])
    public = await CheckedResolver(ctx).resolve("both.test", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in public] == ["93.184.216.34"]
    ctx = gate_ctx(["both.test", "10.0.0.0/8", "127.0.0.1"])
    everything = await CheckedResolver(ctx).resolve("both.test", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in everything] == ["10.0.0.7", "93.184.216.34", "::ffff:127.0.0.1"]
    fake_dns["private.test"] = [["192.168.0.10"]]
    with pytest.raises(PermissionDenied, match="private address"):
        await CheckedResolver(gate_ctx(["*"])).resolve("private.test", 80, socket.AF_UNSPEC)


async def test_a_plugin_has_a_capped_number_of_requests_in_flight(server: Server) -> None:
    client = HttpClient(max_response_bytes=1 << 20, max_in_flight=2)
    ctx = gate_ctx(["127.0.0.1"])
    url = parse_target(server.url("/slow"))
    try:
        first = asyncio.ensure_future(client.fetch(ctx, "GET", url, {}))
        second = asyncio.ensure_future(client.fetch(ctx, "GET", url, {}))
        while len(server.seen) < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(ResourceLimitExceeded, match="already has 2 requests in flight"):
            await client.fetch(ctx, "GET", url, {})
        other = gate_ctx(["127.0.0.1"])  # another plugin has its own allowance
        third = asyncio.ensure_future(client.fetch(other, "GET", url, {}))
        while len(server.seen) < 3:
            await asyncio.sleep(0.01)
        server.release.set()
        assert [r["json"] for r in await asyncio.gather(first, second, third)] == [{"slow": True}] * 3
        assert server.seen == ["/slow"] * 3
        assert (await client.fetch(ctx, "GET", parse_target(server.url("/hello")), {}))["status"] == 200
    finally:
        await client.close()


def test_network_settings_come_from_the_config() -> None:
    config = Config.from_mapping(
        {"plugins": {"security": {"http_concurrency": 2, "network_allow": ["*.Example.com", "10.0.0.0/8"]}}}
    )
    assert config.http_concurrency == 2
    assert config.policy.network_allow == ("*.Example.com", "10.0.0.0/8")
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"plugins": {"security": {"network_deny": ["http://example.com/"]}}})
    assert caught.value.field == "plugins.security.network_deny[0]"
    with pytest.raises(ConfigError):
        Config.from_mapping({"plugins": {"security": {"network_allow": ["10.0.0.0/33"]}}})


async def test_a_manifest_with_a_url_instead_of_a_host_pattern_is_refused_at_load(
    write_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    path = fetcher(write_plugin, "lua", ["https://api.example.com/"])
    async with Engine(engine_config()) as fox:
        with pytest.raises(PermissionDenied, match="invalid network pattern") as caught:
            await fox.load(path)
    assert caught.value.field == "permissions.network"
    assert caught.value.file == str(path)
