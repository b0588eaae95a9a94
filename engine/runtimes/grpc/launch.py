"""A plugin service the engine starts itself (`command:`), the go-plugin way (HashiCorp's convention):

1. the engine starts the program (engine/runtimes/process/child.py: own process group, only the environment it is given, dies
   with the engine) with `PLUGIN_PROTOCOL_VERSIONS=1` and the magic cookie in its environment;
2. the program listens on a loopback port or a unix socket and prints one line on stdout,
   `1|1|tcp|127.0.0.1:PORT|grpc` (core version | app version | network | address | protocol);
3. the engine connects and waits for health service `"plugin"` to be SERVING; later stdout lines are log lines;
4. to stop it, `plugin.GRPCController/Shutdown`, then the end of its stdin, then SIGKILL to its group.

With `provides` in its manifest the service starts in the background (loading does not wait for it); without,
the engine starts it while loading and asks GetCapabilities. The process is kept serving by engine/runtimes/process/supervisor.py exactly like a process plugin (restarts with backoff,
crash-loop cap, heartbeats): a LaunchedSession is the session that supervisor drives.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty

from engine.errors import FoxplugError, PluginError
from engine.runtimes.base import HostLink, Limits
from engine.runtimes.grpc.channel import ChannelSpec, open_channel
from engine.runtimes.grpc.client import ServiceClient, exports_for
from engine.runtimes.process.child import Child, Command
from engine.runtimes.process.rpc import ChannelClosed, Unresponsive

MAGIC_COOKIE_KEY = "FOXPLUG_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d3c1a7f0-foxplug-grpc"
"""Tells a program it was started as a plugin (go-plugin's HandshakeConfig); the SDK checks it."""
HEALTH_SERVICE = "plugin"
_SHUTDOWN = "/plugin.GRPCController/Shutdown"


def parse_handshake(line: str) -> str:
    """`1|1|tcp|127.0.0.1:PORT|grpc` → the gRPC target; ValueError saying what is wrong."""
    parts = line.strip().split("|")
    if len(parts) < 5:
        raise ValueError(f"expected `1|1|tcp|127.0.0.1:PORT|grpc`, got {line.strip()[:120]!r}")
    core, _app, network, address, protocol = parts[:5]
    if core != "1":
        raise ValueError(f"core protocol version {core!r} is not 1")
    if protocol != "grpc":
        raise ValueError(f"protocol {protocol!r} is not grpc (net/rpc plugins are not supported)")
    if network == "unix":
        return f"unix:{address}"
    if network == "tcp":
        return address
    raise ValueError(f"network {network!r} is neither tcp nor unix")


class _Process:
    """The session's channel as the supervisor sees it: the child process, stopped the go-plugin way."""

    def __init__(self, child: Child, client: ServiceClient) -> None:
        self._child = child
        self._client = client
        self.exit_fd = child.exit_fd

    def __getattr__(self, name: str) -> Any:  # kill, describe, memory: the child's
        return getattr(self._child, name)

    def shutdown(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            self._client.channel.unary_unary(_SHUTDOWN, Empty.SerializeToString, Empty.FromString)(Empty(), timeout=0.1)
        self._client.channel.close()
        self._child.shutdown()

    def close(self) -> None:
        self._client.channel.close()
        self._child.close()


class LaunchedSession:
    """One run of a launched service: what engine/supervisor.py needs of a session."""

    def __init__(self, child: Child, client: ServiceClient, exports: frozenset[str]) -> None:
        self.client = client
        self.exports = exports
        self.channel = _Process(child, client)
        self._child = child

    def call(self, name: str, args: tuple[Any, ...], deadline: float, max_result: int) -> Any:
        try:
            return self.client.call(name, args, deadline)
        except FoxplugError:
            if self._exited():  # UNAVAILABLE because it died: the supervisor restarts it
                raise ChannelClosed from None
            raise

    def _exited(self) -> bool:
        fd = self._child.exit_fd
        return fd is not None and bool(select.select([fd], [], [], 0.05)[0])

    def ping(self, deadline: float) -> None:
        try:
            status = self.client.health(HEALTH_SERVICE, max(0.01, deadline - time.monotonic()))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Unresponsive from None
            raise ChannelClosed from None
        if status != 1:
            raise ChannelClosed


def launch(
    command: Command,
    spec: Callable[[str], ChannelSpec],
    folder: Path,
    link: HostLink,
    limits: Limits,
    provides: tuple[str, ...] | None,
    interceptor: Any,
    deadline: float,
    started: Callable[[Child], None],
) -> LaunchedSession:
    """Start the service, read its handshake, connect, wait for SERVING; PluginError saying why if not."""
    ctx = link.ctx
    label = f"plugin `{ctx.plugin_id}` ({ctx.path})"
    begun = time.monotonic()
    env = {**command.env, MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "1"}
    try:
        child = Child(Command(command.argv, command.cwd, env), ctx.logger, 4096)
    except OSError as error:
        raise PluginError(
            f"{label} could not start {command.argv[0]}: {error.strerror or error}",
            plugin=ctx.plugin_id,
            field="command",
        ) from None
    client = None
    try:
        started(child)
        try:
            line = child.receive(deadline)
        except ChannelClosed:
            raise PluginError(f"{label} failed the handshake: {child.describe(' before its handshake line')}") from None
        if line is None:
            raise PluginError(f"{label} printed no handshake line within {deadline - begun:.0f} s")
        child.log_stdout()
        try:
            target = parse_handshake(line.decode("utf-8", "replace"))
        except ValueError as error:
            raise PluginError(f"{label} failed the handshake: {error}") from None
        client = ServiceClient(
            link, open_channel(spec(target), folder, Path(ctx.path), interceptor), f"pid {child.pid} at {target}"
        )
        try:
            status = client.health(HEALTH_SERVICE, max(0.01, deadline - time.monotonic()))
        except grpc.RpcError as error:
            raise PluginError(f"{label} did not answer health `plugin` at {target}: {error.details()}") from None
        if status != 1:
            raise PluginError(f"{label} reports health `plugin` as {status}, not SERVING")
        names = provides if provides is not None else client.capabilities(deadline)
        return LaunchedSession(child, client, exports_for(names))
    except BaseException as error:
        if client is not None:
            client.channel.close()
        child.close()
        if isinstance(error, PluginError) and error.plugin is None:
            raise PluginError(
                error.message,
                plugin=ctx.plugin_id,
                hint="a gRPC plugin prints `1|1|tcp|127.0.0.1:PORT|grpc` on stdout, then serves (docs/grpc.md)",
            ) from None
        raise


__all__ = ["MAGIC_COOKIE_KEY", "MAGIC_COOKIE_VALUE", "LaunchedSession", "launch", "parse_handshake"]
