"""`foxplug serve --stdio`: the engine as a player's child process, JSON-RPC 2.0 on stdin/stdout (docs/serve.md).

The plugin protocol (docs/protocol.md) with the roles reversed: the player starts us and calls the sidecar's
methods (engine.serving.methods); when it says it has a player, `fox.player.*` calls go back to it as `player.*`
requests. Unlike a plugin, the engine serves requests concurrently: each runs as its own task and is answered by id
when it is done, so a slow search never holds up a `ui.status`, and `$/cancelRequest` cancels just that task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from collections.abc import Awaitable
from typing import Any

from engine.config import Config
from engine.errors import FoxplugError
from engine.runtimes.process import rpc
from engine.serving.methods import INVALID_REQUEST, RequestError, Sidecar
from engine.serving.peer import Lines, Peer, Writer, error_object
from engine.serving.remote_player import RemotePlayer

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
MAX_IN_FLIGHT = 1024
"""Requests running at once; each holds a task and its params, so a runaway player cannot grow them without end."""
EOF_GRACE = 1.0
"""Seconds requests still running when the player closes our stdin get to finish (it asked, then went away).
Input from a file (`foxplug serve --stdio < session.jsonl`) waits for every answer instead: each request is
bounded by its plugin's deadline anyway."""


def engine_error(error: FoxplugError) -> dict[str, Any]:
    """An engine error as the player sees it: -32000 with the error class and its address in `data`."""
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for key in ("plugin", "file", "line", "field", "hint"):
        if (value := getattr(error, key)) is not None:
            data[key] = value
    return error_object(rpc.PLUGIN_ERROR, f"{type(error).__name__}: {error}", data)


class StdioServer:
    """The player's requests in, answers and notifications out, until the input ends or `shutdown`."""

    def __init__(self, config: Config, lines: Lines, peer: Peer, *, eof_grace: float | None = EOF_GRACE) -> None:
        self._lines, self._peer, self._eof_grace = lines, peer, eof_grace
        self.sidecar = Sidecar(config, peer.notify, lambda: RemotePlayer(peer.request, peer.loop))
        self._tasks: dict[Any, asyncio.Task[None]] = {}
        self._closing = False

    async def run(self) -> None:
        reading = asyncio.ensure_future(self._read())
        stopping = asyncio.ensure_future(self.sidecar.shutdown_requested.wait())
        try:
            await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._closing = True  # requests still running end without an answer: nobody is listening
            reading.cancel()
            stopping.cancel()
            for task in list(self._tasks.values()):
                task.cancel()
            self._peer.close()
            await self.sidecar.close()

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._lines.next()
            except rpc.FrameTooLarge as error:
                self._refuse(INVALID_REQUEST, f"the player {error}", "ResourceLimitExceeded")
                continue
            if raw is None:
                if self._tasks:
                    await asyncio.wait(list(self._tasks.values()), timeout=self._eof_grace)
                return
            if raw.strip():
                self._received(raw)

    def _received(self, raw: bytes) -> None:
        try:
            message = rpc.decode(raw)
        except rpc.ProtocolViolation as error:
            self._refuse(PARSE_ERROR, str(error).replace("wrote a line", "received a line"), "ParseError")
            return
        method, request_id = message.get("method"), message.get("id")
        if not _valid_id(request_id):
            self._refuse(
                INVALID_REQUEST, f"an id is a string or a whole number, not {rpc.preview(raw)}", "InvalidRequest"
            )
            return
        if method is None:
            self._peer.answered(message)
        elif method == "$/cancelRequest":
            params = message.get("params")
            cancelled = params.get("id") if isinstance(params, dict) else None
            task = self._tasks.get(cancelled) if _valid_id(cancelled) else None
            if task is not None:
                task.cancel()
        elif request_id is not None and len(self._tasks) >= MAX_IN_FLIGHT:
            failure = error_object(
                rpc.PLUGIN_ERROR,
                f"ResourceLimitExceeded: {MAX_IN_FLIGHT} requests are already running; wait for their answers",
                {"type": "ResourceLimitExceeded"},
            )
            self._spawn(None, self._peer.send({"id": request_id, "error": failure}))
        elif request_id is not None:
            self._spawn(request_id, self._handle(request_id, method, message.get("params")))
        elif method == "emit":  # of the notifications a player may send, the contract names this one
            self._spawn(None, self._handle(None, method, message.get("params")))
        else:
            log.debug("ignored the notification %r", method)

    def _refuse(self, code: int, text: str, kind: str) -> None:
        """An error about a line that has no usable id: answered with id null."""
        self._spawn(None, self._peer.send({"id": None, "error": error_object(code, text, {"type": kind})}))

    def _spawn(self, request_id: Any, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        key = request_id if request_id is not None else id(task)
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _handle(self, request_id: Any, name: Any, params: Any) -> None:
        """Run one request and answer it (a notification, `request_id` None, is run and not answered)."""
        try:
            result = await self.sidecar.dispatch(name, params)
        except RequestError as error:
            failure = error_object(error.code, str(error), {"type": error.kind})
        except FoxplugError as error:
            failure = engine_error(error)
        except asyncio.CancelledError:
            if self._closing:
                raise
            failure = error_object(rpc.REQUEST_CANCELLED, "cancelled by the player", {"type": "Cancelled"})
        except Exception as error:  # a bug in the engine: the player gets an answer, the log the traceback
            log.exception("%s failed", name)
            failure = error_object(rpc.INTERNAL_ERROR, repr(error), {"type": "InternalError"})
        else:
            if request_id is not None:
                await self._peer.send({"id": request_id, "result": result})
            return
        if request_id is not None:
            await self._peer.send({"id": request_id, "error": failure})
        else:
            log.warning("the notification %s failed: %s", name, failure["message"])


def _valid_id(value: Any) -> bool:
    return value is None or type(value) in (str, int)


class _FileWriter:
    """stdout redirected to a file (`> answers.jsonl`): writes do not block long, so plain writes will do."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def drain(self) -> None:
        return None


def _is_file(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def _feed(fd: int, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    """stdin from a file (`< session.jsonl`), which asyncio cannot watch: read it on a thread."""
    while chunk := os.read(fd, 65536):
        loop.call_soon_threadsafe(reader.feed_data, chunk)
    loop.call_soon_threadsafe(reader.feed_eof)


async def serve_stdio(config: Config) -> None:
    """Serve on this process's stdin/stdout until stdin ends or the player sends `shutdown`.

    stdout is kept for protocol lines: the real fd 1 is moved aside and fd 1 pointed at stderr, so a stray
    write (a library's print, a child process) lands in the log instead of corrupting the stream."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    loop = asyncio.get_running_loop()
    limit = config.max_result_size
    reader = asyncio.StreamReader(limit=limit)
    replay = _is_file(0)
    if replay:
        threading.Thread(target=_feed, args=(0, reader, loop), name="foxplug-stdin", daemon=True).start()
    else:
        stdin = os.fdopen(0, "rb", 0, closefd=False)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    transport: asyncio.WriteTransport | None = None
    writer: Writer
    if _is_file(protocol_fd):
        writer = _FileWriter(protocol_fd)
    else:
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(protocol_fd, "wb", 0)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        await StdioServer(config, Lines(reader, limit), Peer(writer), eof_grace=None if replay else EOF_GRACE).run()
    finally:
        if transport is not None:
            transport.close()
