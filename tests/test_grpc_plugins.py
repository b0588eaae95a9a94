"""gRPC plugin services (ARCHITECTURE §3.10): a service someone else wrote from the seed's proto, reached as a
`runtime: grpc` plugin: balanced, health-checked, with deadlines; and a launched SDK service kept alive."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ManifestError, PluginCrashed, PluginError, PluginTimeout, ResourceLimitExceeded

REPO = Path(__file__).resolve().parent.parent
SEED_SERVICE = REPO / "tests" / "servers" / "seed_search_service.py"


class Replica:
    """One seed-proto service in its own process."""

    def __init__(self, name: str, *args: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(SEED_SERVICE), "--name", name, *args],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)


@pytest.fixture
def replicas() -> Iterator[Callable[..., Replica]]:
    started: list[Replica] = []

    def start(name: str, *args: str) -> Replica:
        started.append(Replica(name, *args))
        return started[-1]

    yield start
    for replica in started:
        replica.stop()


def grpc_plugin(folder: Path, **fields: Any) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.yaml").write_text(
        yaml.safe_dump({"id": "stranger", "version": "1.0.0", "runtime": "grpc", **fields}), encoding="utf-8"
    )
    return folder


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]]) -> AsyncIterator[Engine]:
    async with Engine(engine_config(hot_reload={"enabled": False})) as engine:
        yield engine


async def answered_by(fox: Engine, calls: int) -> list[str]:
    replicas = []
    for _ in range(calls):
        result = await fox.search("hello")
        assert result.errors == {}
        replicas.append(result.items[0].extra["replica"])
    return replicas


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        await asyncio.sleep(0.05)
    return result


async def test_a_seed_proto_service_answers_search_balanced_over_two_addresses(
    fox: Engine, replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    a, b = replicas("a"), replicas("b")
    folder = grpc_plugin(tmp_path / "stranger", target=f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}")

    info = await fox.load(folder)
    await eventually(lambda: _both_seen(fox))
    counts = Counter(await answered_by(fox, 20))
    song = (await fox.search("hello")).items[0]

    assert info.runtime == "grpc" and info.provides == ("search",)  # learned from GetCapabilities
    assert set(counts) == {"a", "b"} and abs(counts["a"] - counts["b"]) <= 2
    assert (song.title, song.artists[0].name, song.album.name, song.source) == ("hello", "Stranger", "Seed", "stranger")


async def _both_seen(fox: Engine) -> bool:
    return set(await answered_by(fox, 6)) == {"a", "b"}


async def test_an_address_reporting_not_serving_is_drained_and_comes_back(
    fox: Engine, replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    a, b = replicas("a"), replicas("b")
    await fox.load(grpc_plugin(tmp_path / "stranger", target=f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"))
    await eventually(lambda: _both_seen(fox))

    b.signal(signal.SIGUSR1)
    await eventually(lambda: _only(fox, "a"))
    drained = await answered_by(fox, 10)
    b.signal(signal.SIGUSR2)
    await eventually(lambda: _both_seen(fox))

    assert drained == ["a"] * 10


async def _only(fox: Engine, name: str) -> bool:
    return set(await answered_by(fox, 6)) == {name}


async def test_with_one_replica_stopped_searches_still_answer(
    fox: Engine, replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    a, b = replicas("a"), replicas("b")
    await fox.load(grpc_plugin(tmp_path / "stranger", target=f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"))
    await eventually(lambda: _both_seen(fox))

    b.stop()
    after = await answered_by(fox, 10)  # the first call may meet b's closed port: retried within its deadline

    assert after == ["a"] * 10


async def test_a_handler_slower_than_the_deadline_is_a_plugin_timeout_on_time(
    fox: Engine, replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    slow = replicas("slow", "--delay", "3")
    await fox.load(grpc_plugin(tmp_path / "stranger", target=f"127.0.0.1:{slow.port}", provides=["search"]))

    started = time.monotonic()
    with pytest.raises(PluginTimeout, match=r"exceeded its 0.5 s deadline in search\(\)"):
        await fox.call("stranger", "search", "hello", {}, timeout=0.5)
    took = time.monotonic() - started

    assert took < 0.5 + 0.1


async def test_a_service_that_is_down_fails_fast_as_crashed_and_the_plugin_stays_loaded(
    fox: Engine, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    await fox.load(grpc_plugin(tmp_path / "stranger", target=f"127.0.0.1:{port}", provides=["search"]))

    started = time.monotonic()
    result = await fox.search("hello")
    took = time.monotonic() - started

    assert "PluginCrashed" in result.errors["stranger"] and "unreachable" in result.errors["stranger"]
    assert took < 2.0
    with pytest.raises(PluginCrashed):
        await fox.call("stranger", "search", "hello", {})


async def test_a_target_off_this_machine_needs_tls(fox: Engine, tmp_path: Path) -> None:
    folder = grpc_plugin(tmp_path / "stranger", target="dns:///lyrics.plugins.example:50051", provides=["search"])

    with pytest.raises(ManifestError, match="needs TLS") as caught:
        await fox.load(folder)

    assert caught.value.field == "grpc.tls"


async def test_a_grpc_plugin_names_either_a_target_or_a_command(fox: Engine, tmp_path: Path) -> None:
    both = grpc_plugin(tmp_path / "both", target="127.0.0.1:1", command=["python", "x.py"])
    neither = grpc_plugin(tmp_path / "neither")

    for folder in (both, neither):
        with pytest.raises(ManifestError, match=r"needs `target` or `command`|either `target`") as caught:
            await fox.load(folder)
        assert caught.value.field == "target"


def free_port(kind: int = 1, host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[Callable[[str, list[str]], int]]:
    """A real DNS server (dnsmasq) on a free loopback port answering A records, as a headless Service does."""
    import shutil
    import socket

    servers: list[subprocess.Popen[bytes]] = []

    def start(name: str, addresses: list[str]) -> int:
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        assert Path(dnsmasq).exists(), "dnsmasq is missing: apt-get install dnsmasq-base (.ci/run does)"
        port = free_port(socket.SOCK_DGRAM)
        records = [f"--host-record={name},{address}" for address in addresses]
        servers.append(
            subprocess.Popen(
                [
                    dnsmasq,
                    "--no-daemon",
                    "--conf-file=/dev/null",
                    f"--port={port}",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--no-resolv",
                    "--no-hosts",
                    f"--pid-file={tmp_path / 'dnsmasq.pid'}",
                    *records,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for_dns(port, name)
        return port

    yield start
    for server in servers:
        server.terminate()
        server.wait(5)


def wait_for_dns(port: int, name: str) -> None:
    import socket

    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\x00\x00\x01\x00\x01"
    deadline = time.monotonic() + 5
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.2)
        while time.monotonic() < deadline:
            client.sendto(query, ("127.0.0.1", port))
            try:
                client.recv(512)
                return
            except TimeoutError:
                continue
    raise AssertionError("dnsmasq did not answer")


async def test_a_dns_name_with_three_a_records_balances_over_three_replicas(
    fox: Engine, replicas: Callable[..., Replica], dns_server: Callable[[str, list[str]], int], tmp_path: Path
) -> None:
    hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    port = free_port(host=hosts[0])
    for index, host in enumerate(hosts):
        replicas(f"r{index}", "--host", host, "--port", str(port))
    dns = dns_server("lyrics.foxplug.test", hosts)
    folder = grpc_plugin(
        tmp_path / "stranger",
        target=f"dns://127.0.0.1:{dns}/lyrics.foxplug.test:{port}",
        provides=["search"],
        grpc={"insecure": True},  # the name is not loopback, though every address it resolves to is
    )

    await fox.load(folder)
    await eventually(lambda: _seen(fox, {"r0", "r1", "r2"}))
    counts = Counter(await answered_by(fox, 30))

    assert set(counts) == {"r0", "r1", "r2"} and max(counts.values()) - min(counts.values()) <= 3


async def _seen(fox: Engine, names: set[str]) -> bool:
    return set(await answered_by(fox, 9)) == names


async def test_one_search_is_one_trace_from_the_engine_through_the_client_to_the_service(
    engine_config: Callable[..., dict[str, Any]], replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    import json

    from opentelemetry.trace import SpanKind

    spans_file = tmp_path / "server-spans.jsonl"
    service = replicas("traced", "--trace-file", str(spans_file))
    folder = grpc_plugin(tmp_path / "stranger", target=f"127.0.0.1:{service.port}", provides=["search"])
    config = engine_config(
        hot_reload={"enabled": False}, monitoring={"tracing": {"enabled": True, "exporter": "memory"}}
    )

    async with Engine(config) as fox:
        await fox.load(folder)
        assert fox.tracing is not None
        before = len(fox.tracing.spans())
        result = await fox.search("hello")
        spans = fox.tracing.spans()[before:]
    server = [json.loads(line) for line in spans_file.read_text().splitlines()]

    assert result.items and result.errors == {}
    ask_span = next(s for s in spans if s.name == "foxplug.ask search")
    engine_span = next(s for s in spans if s.name == "foxplug.call stranger.search")
    client_span = next(s for s in spans if s.kind == SpanKind.CLIENT)
    server_span = next(s for s in server if s["name"].endswith("MusicSourceService/Search"))
    assert client_span.name == "/musicfox.plugin.MusicSourceService/Search"
    assert len({s.context.trace_id for s in spans}) == 1 and ask_span.parent is None
    assert engine_span.parent.span_id == ask_span.context.span_id
    assert client_span.parent.span_id == engine_span.context.span_id
    trace_id = format(engine_span.context.trace_id, "032x")
    assert server_span["kind"] == "SERVER" and server_span["trace_id"] == trace_id
    assert server_span["parent_id"] == format(client_span.context.span_id, "016x")
    assert engine_span.attributes["foxplug.plugin"] == "stranger"


def service_pids(script: str) -> list[int]:
    """Live processes running `script` started from this test process (its direct children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == os.getpid() and any(arg.endswith(script.encode()) for arg in cmdline):
            found.append(int(entry.name))
    return found


async def test_a_launched_sdk_service_is_restarted_after_kill_9_and_leaves_no_process(fox: Engine) -> None:
    folder = REPO / "plugins_py" / "binaural-beats"

    info = await fox.load(folder)
    found = await fox.search("binaural alpha")  # the first call waits for the service to be SERVING
    first = service_pids("service.py")
    os.kill(first[0], signal.SIGKILL)
    recovered = await eventually(lambda: _answers(fox, "binaural delta"))
    second = service_pids("service.py")
    url = await fox.call("binaural-beats", "get_song_url", "binaural-theta")
    lyrics = await fox.lyrics(found.items[0].to_dict())
    await fox.unload("binaural-beats")

    assert info.runtime == "grpc" and set(info.provides) == {"search", "song_url", "lyrics"}
    assert len(first) == 1 and [s.id for s in found.items] == ["binaural-alpha"]
    assert [s.id for s in recovered.items] == ["binaural-delta"]
    assert len(second) == 1 and second != first
    assert url == {"url": "av://lavfi:aevalsrc=0.3*sin(2*PI*200*t)|0.3*sin(2*PI*206*t):d=3600", "headers": {}}
    assert lyrics is not None and lyrics.lines[0].text == "breathe in" and lyrics.lines[1].time_ms == 4000
    assert service_pids("service.py") == []


async def _answers(fox: Engine, query: str) -> Any:
    result = await fox.search(query)
    return result if result.items else None


async def test_a_launched_service_that_prints_no_handshake_says_so(fox: Engine, tmp_path: Path) -> None:
    mute = "print('hello, I am not a handshake')\n"
    asked = grpc_plugin(tmp_path / "asked", command=["python", "mute.py"])  # started at load, for GetCapabilities
    declared = grpc_plugin(tmp_path / "declared", id="declared", command=["python", "mute.py"], provides=["search"])
    for folder in (asked, declared):
        (folder / "mute.py").write_text(mute, encoding="utf-8")

    with pytest.raises(PluginError, match=r"failed the handshake: expected `1\|1\|tcp\|127.0.0.1:PORT\|grpc`"):
        await fox.load(asked)
    await fox.load(declared)  # started in the background: the load does not wait for it
    result = await fox.search("anything")

    assert "failed the handshake: expected `1|1|tcp|127.0.0.1:PORT|grpc`" in result.errors["declared"]


async def test_a_reply_over_the_message_limit_is_refused_and_the_engine_keeps_serving(
    engine_config: Callable[..., dict[str, Any]], replicas: Callable[..., Replica], tmp_path: Path
) -> None:
    hostile = replicas("hostile", "--title-bytes", str(200_000))
    folder = grpc_plugin(tmp_path / "stranger", target=f"127.0.0.1:{hostile.port}", provides=["search"])
    config = engine_config(hot_reload={"enabled": False}, performance={"max_result_size": "64KB"})

    async with Engine(config) as fox:
        await fox.load(folder)
        with pytest.raises(ResourceLimitExceeded, match="message limit"):
            await fox.call("stranger", "search", "hello", {})
        result = await fox.search("hello")

    assert "ResourceLimitExceeded" in result.errors["stranger"]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `plugins.foxplug.test` (openssl, from Debian's base system)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=plugins.foxplug.test",
            "-addext",
            "subjectAltName=DNS:plugins.foxplug.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_a_service_behind_tls_is_reached_with_the_plugins_ca_and_refused_without_it(
    fox: Engine, replicas: Callable[..., Replica], certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    import shutil

    cert, key = certificate
    secure = replicas("secure", "--tls-cert", str(cert), "--tls-key", str(key))
    trusting = grpc_plugin(
        tmp_path / "trusting",
        target=f"127.0.0.1:{secure.port}",
        provides=["search"],
        grpc={"tls": {"ca": "ca.pem", "server_name": "plugins.foxplug.test"}},
    )
    shutil.copy(cert, trusting / "ca.pem")
    plain = grpc_plugin(tmp_path / "plain", id="plain", target=f"127.0.0.1:{secure.port}", provides=["search"])

    await fox.load(trusting)
    await fox.load(plain)
    result = await fox.search("hello")

    assert [song.source for song in result.items] == ["stranger"]
    assert "PluginCrashed" in result.errors["plain"]


async def test_without_provides_a_service_that_is_down_fails_the_load_at_once(fox: Engine, tmp_path: Path) -> None:
    folder = grpc_plugin(tmp_path / "stranger", target=f"127.0.0.1:{free_port()}")

    started = time.monotonic()
    with pytest.raises(PluginCrashed, match=r"unreachable in GetCapabilities\(\)"):
        await fox.load(folder)

    assert time.monotonic() - started < 2.0


async def test_an_sdk_function_that_raises_is_a_plugin_error_naming_it(fox: Engine) -> None:
    await fox.load(REPO / "plugins_py" / "binaural-beats")

    with pytest.raises(PluginError, match=r"get_song_url\(\) failed .*INVALID_ARGUMENT: ValueError: no binaural track"):
        await fox.call("binaural-beats", "get_song_url", "nope")
    assert await fox.call("binaural-beats", "search", "dinner jazz", {}) == []  # and it keeps serving
