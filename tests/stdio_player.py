"""A stand-in for a player that embeds the engine as `foxplug serve --stdio`, as a Go or Rust player would.

It starts the real command, writes requests, reads every stdout line (each must be a JSON-RPC 2.0 message),
answers the engine's `player.*` requests from a NullPlayer's state, and records notifications.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.players.null import NullPlayer

FOXPLUG = [sys.executable, "-m", "engine"]


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.code = error.get("code")
        self.data = error.get("data") or {}


class StandInPlayer:
    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config, self.env = config, env
        self.player = NullPlayer()
        self.lines: list[dict[str, Any]] = []
        """Every message the engine wrote to stdout, in order."""
        self.notifications: list[dict[str, Any]] = []
        self.player_requests: list[str] = []
        self.answer_player: Callable[[str, dict[str, Any]], Any] | None = None
        """Override: answer `player.*` requests yourself (raise to answer with an error)."""
        self._ids = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._heard = asyncio.Condition()

    async def start(self, *args: str) -> StandInPlayer:
        self.process = await asyncio.create_subprocess_exec(
            *FOXPLUG,
            "--config",
            str(self.config),
            *args,
            "serve",
            "--stdio",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(self.env or {})},
            limit=16 << 20,
        )
        self._reader = asyncio.ensure_future(self._read())
        self._stderr = asyncio.ensure_future(self.process.stderr.read())  # type: ignore[union-attr]
        return self

    async def initialize(self, *, player: bool = True, versions: list[Any] | None = None) -> dict[str, Any]:
        return await self.request(
            "initialize",
            {
                "protocol_versions": versions or [1],
                "player": {"name": "stand-in", "version": "1.0"},
                "capabilities": {"player": player},
            },
            timeout=60,
        )

    def send_line(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data + b"\n")

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def begin(self, method: str, params: Any = None) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        """Send a request without waiting: its id and the future of its response message."""
        self._ids += 1
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._ids] = answer
        message: dict[str, Any] = {"id": self._ids, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._ids, answer

    async def request(self, method: str, params: Any = None, *, timeout: float = 30) -> Any:
        _, answer = self.begin(method, params)
        return result_of(await asyncio.wait_for(answer, timeout))

    async def wait_for(self, test: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        """The first notification that passes `test` (already heard, or within the timeout)."""

        async def found() -> dict[str, Any]:
            async with self._heard:
                while True:
                    for message in self.notifications:
                        if test(message):
                            return message
                    await self._heard.wait()

        return await asyncio.wait_for(found(), timeout)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            assert message.get("jsonrpc") == "2.0", line
            self.lines.append(message)
            if "method" not in message:
                if message["id"] is not None:  # id null: an error about a line that had no usable id
                    self._waiting.pop(message["id"]).set_result(message)
            elif "id" in message:
                self._answer(message)
            else:
                async with self._heard:
                    self.notifications.append(message)
                    self._heard.notify_all()

    def _answer(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params") or {}
        self.player_requests.append(method)
        try:
            if self.answer_player is not None:
                result = self.answer_player(method, params)
            else:
                result = getattr(self.player, method.removeprefix("player."))(*params.values())
        except Exception as error:
            self.send({"id": message["id"], "error": {"code": -32000, "message": str(error)}})
        else:
            self.send({"id": message["id"], "result": result})

    async def close(self, timeout: float = 10) -> int:
        """Close stdin (the engine's signal to exit) and wait for it to exit; its exit status."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        await self._reader
        return code

    async def stderr(self) -> str:
        return (await self._stderr).decode()


def result_of(message: dict[str, Any]) -> Any:
    if "error" in message:
        raise RpcError(message["error"])
    return message["result"]
