"""One JSON-RPC 2.0 connection over newline-delimited messages: capped lines in, lines out, and the answers to
our own requests matched by id. The codec, error codes and framing are the plugin protocol's (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import logging
from itertools import count
from typing import Any, Protocol

from engine.errors import PlayerError
from engine.runtimes.process import rpc

log = logging.getLogger(__name__)


class Writer(Protocol):
    """Where lines go: an asyncio StreamWriter over a pipe, or a plain file."""

    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...


def error_object(code: int, message: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


class Lines:
    """Newline-delimited messages from a stream, never holding more than `limit` bytes of one."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader, self.limit = reader, limit

    async def next(self) -> bytes | None:
        """The next message (without its newline); None at end of input. Raises rpc.FrameTooLarge once per
        oversized message, after skipping the rest of it, so the stream stays in step."""
        try:
            return (await self._reader.readuntil(b"\n"))[:-1]
        except asyncio.IncompleteReadError as end:
            return end.partial or None
        except asyncio.LimitOverrunError as over:
            await self._skip_line(over.consumed)
            raise rpc.FrameTooLarge(self.limit) from None

    async def _skip_line(self, consumed: int) -> None:
        while True:
            await self._reader.readexactly(consumed)
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError as over:
                consumed = over.consumed


class Peer:
    """Our end: writes messages, sends requests of our own and matches their answers."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._ids = count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.loop = asyncio.get_running_loop()

    async def send(self, message: dict[str, Any]) -> None:
        message = {"jsonrpc": "2.0", **message}
        try:
            data = rpc.encode(message)
        except (TypeError, ValueError) as error:  # an answer that is not JSON: the other side still gets one
            failure = error_object(rpc.INTERNAL_ERROR, str(error), {"type": "InternalError"})
            data = rpc.encode({"jsonrpc": "2.0", "id": message.get("id"), "error": failure})
        self._writer.write(data + b"\n")
        await self._writer.drain()

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send({"method": method, "params": params})

    async def request(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        """Ask the other side; its result, or PlayerError (its error, or no answer in time)."""
        request_id = next(self._ids)
        answer = self.loop.create_future()
        self._waiting[request_id] = answer
        try:
            await self.send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            await self.notify("$/cancelRequest", {"id": request_id})
            raise PlayerError(
                f"the player did not answer `{method}` within {timeout:g} s",
                hint="a player answers every request it is sent, also while it is busy (docs/serve.md)",
            ) from None
        finally:
            self._waiting.pop(request_id, None)

    def answered(self, message: dict[str, Any]) -> None:
        """A response from the other side to one of our requests."""
        waiting = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
        if waiting is None or waiting.done():
            log.warning("the player answered request id %r, which is not waiting", message.get("id"))
            return
        error = message.get("error")
        if error is not None:
            text = error.get("message") if isinstance(error, dict) else error
            waiting.set_exception(PlayerError(f"the player answered with an error: {text}"))
        else:
            waiting.set_result(message.get("result"))

    def close(self) -> None:
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(PlayerError("the player closed the connection"))
