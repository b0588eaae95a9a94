"""`foxplug.host.v1.Host/PlayerBridge`: the player at the other end of a gRPC stream as the engine's Player.

Plugins call `fox.player.*` on their own threads; each call becomes a PlayerCommand on the stream the player
opened, and the plugin's thread waits (at most PLAYER_TIMEOUT) for the PlayerReply with the same id. While no
player is connected, the engine's own player backend answers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import grpc

from engine.errors import PluginError, PluginTimeout
from engine.players.null import NullPlayer
from script_api.player import Player
from script_api.protos.foxplug.host.v1 import host_pb2

log = logging.getLogger(__name__)

PLAYER_TIMEOUT = 2.0
"""Seconds a plugin's `fox.player.*` call waits for the player's answer."""


class BridgedPlayer:
    """A Player (script_api.player) whose methods are answered over the PlayerBridge stream when one is open."""

    def __init__(self, fallback: Player | None = None) -> None:
        self.fallback: Player = fallback or NullPlayer()
        self._lock = threading.Lock()
        self._outbox: asyncio.Queue[host_pb2.PlayerCommand] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._loop_thread: int | None = None

    @property
    def connected(self) -> bool:
        return self._outbox is not None

    def _ask(self, method: str, **params: Any) -> Any:
        with self._lock:
            outbox, loop = self._outbox, self._loop
            if outbox is None or loop is None:
                return getattr(self.fallback, method)(**params)
            if threading.get_ident() == self._loop_thread:  # waiting here would block the very loop that answers
                raise PluginError(
                    f"player.{method} was called on the event loop while a player is bridged",
                    hint="call the player from a plugin or worker thread (asyncio.to_thread)",
                )
            command_id = next(self._ids)
            answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
            self._pending[command_id] = answer
        command = host_pb2.PlayerCommand(id=command_id, method=method, params_json=json.dumps(params) if params else "")
        loop.call_soon_threadsafe(outbox.put_nowait, command)
        try:
            return answer.result(PLAYER_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise PluginTimeout(
                f"the player did not answer player.{method} within {PLAYER_TIMEOUT:g} s",
                hint="the player answers every PlayerCommand on its PlayerBridge stream with a PlayerReply",
            ) from None
        finally:
            with self._lock:
                self._pending.pop(command_id, None)

    # -- the Player protocol -------------------------------------------------------------------------------

    def state(self) -> str:
        return str(self._ask("state"))

    def position(self) -> int:
        return int(self._ask("position") or 0)

    def volume(self) -> int:
        return int(self._ask("volume") or 0)

    def current(self) -> dict[str, Any] | None:
        return self._ask("current")

    def play(self, song: dict[str, Any] | None = None) -> None:
        self._ask("play", song=song) if song is not None else self._ask("play")

    def pause(self) -> None:
        self._ask("pause")

    def resume(self) -> None:
        self._ask("resume")

    def stop(self) -> None:
        self._ask("stop")

    def seek(self, position_ms: int) -> None:
        self._ask("seek", position_ms=position_ms)

    def set_volume(self, volume: int) -> None:
        self._ask("set_volume", volume=volume)

    def next(self) -> None:
        self._ask("next")

    def previous(self) -> None:
        self._ask("previous")

    # -- the stream (on the engine's event loop) ------------------------------------------------------------

    async def bridge(
        self, replies: AsyncIterator[host_pb2.PlayerReply], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[host_pb2.PlayerCommand]:
        """The PlayerBridge handler: one player at a time; commands out, replies in, until either side ends."""
        outbox: asyncio.Queue[host_pb2.PlayerCommand] = asyncio.Queue()
        with self._lock:
            taken = self._outbox is not None
            if not taken:
                self._outbox, self._loop = outbox, asyncio.get_running_loop()
                self._loop_thread = threading.get_ident()
        if taken:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, "a player is already connected to the bridge")
        reader = asyncio.ensure_future(self._read(replies))
        try:
            while True:
                getting = asyncio.ensure_future(outbox.get())
                done, _ = await asyncio.wait({getting, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    return  # the player closed its side
                yield getting.result()
        finally:
            reader.cancel()
            with self._lock:
                self._outbox = self._loop = None
                pending, self._pending = self._pending, {}
            for answer in pending.values():
                answer.set_exception(PluginError("the player left the bridge before answering"))

    async def _read(self, replies: AsyncIterator[host_pb2.PlayerReply]) -> None:
        async for reply in replies:
            with self._lock:
                answer = self._pending.get(reply.id)
            if answer is None or answer.done():
                continue  # id 0 opens the bridge; a late answer to a command that timed out
            if reply.error:
                answer.set_exception(PluginError(f"the player failed: {reply.error}"))
            else:
                try:
                    answer.set_result(json.loads(reply.result_json) if reply.result_json else None)
                except ValueError as error:
                    answer.set_exception(PluginError(f"the player answered with invalid JSON: {error}"))
