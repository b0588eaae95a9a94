"""`/plugin/connect`: a plugin process started elsewhere connects over WebSocket and serves like any plugin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from engine import Engine, PermissionDenied
from engine.admin import serve_admin
from engine.admin.connect import PluginEndpoint

TOKEN = "t0ken-for-the-plugin-endpoint"
MANIFEST = {
    "id": "remote",
    "version": "1.0.0",
    "provides": ["search"],
    "permissions": {"storage": True},
}


class RemotePlugin:
    """A plugin in the test's own process, speaking the protocol over an aiohttp WebSocket client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, manifest: dict[str, Any]) -> None:
        self.ws = ws
        self.manifest = manifest
        self.refused: dict[str, Any] | None = None
        self._ids = iter(range(1, 1_000_000))
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._calls: set[asyncio.Future[None]] = set()

    async def fox(self, name: str, *args: Any) -> Any:
        answer = await self.request(f"fox.{name}", list(args))
        if "error" in answer:
            return {"error": answer["error"]["data"]["type"]}
        return answer["result"]

    async def request(self, method: str, params: list[Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        answer = self._answers[request_id] = asyncio.get_running_loop().create_future()
        await self.ws.send_json({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return await answer

    async def search(self, query: str, opts: dict[str, Any]) -> Any:
        seen = await self.fox("storage.get", "seen", 0)
        await self.fox("storage.set", "seen", seen + 1)
        refused = await self.fox("ui.notify", "not granted")
        return [{"id": "r1", "title": f"{query} (remote)", "extra": {"seen": seen + 1, "notify": refused}}]

    async def serve(self) -> None:
        async for frame in self.ws:
            message = json.loads(frame.data)
            method, request_id = message.get("method"), message.get("id")
            if method is None:
                self._answers.pop(request_id).set_result(message)
            elif method == "initialize":
                result = {"protocol_version": 1, "exports": ["search"], "manifest": self.manifest}
                await self.ws.send_json({"jsonrpc": "2.0", "id": request_id, "result": result})
            elif method == "call":
                self._calls.add(asyncio.ensure_future(self._call(request_id, message["params"])))
            elif method == "$/refused":
                self.refused = message["params"]

    async def _call(self, request_id: int, params: dict[str, Any]) -> None:
        result = await getattr(self, params["function"])(*params["args"])
        await self.ws.send_json({"jsonrpc": "2.0", "id": request_id, "result": result})


@pytest.fixture
async def served(engine_config: Callable[..., dict[str, Any]]) -> AsyncIterator[tuple[Engine, str]]:
    config = engine_config(hot_reload={"enabled": False}, security={"plugin_connect": {"token": TOKEN}})
    async with Engine(config) as fox:
        endpoint = await serve_admin(fox, ("127.0.0.1", 0))
        yield fox, f"{endpoint.url}/plugin/connect"


async def connected(
    url: str, session: aiohttp.ClientSession, manifest: dict[str, Any] = MANIFEST
) -> tuple[RemotePlugin, asyncio.Task[None]]:
    ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {TOKEN}"})
    plugin = RemotePlugin(ws, manifest)
    return plugin, asyncio.ensure_future(plugin.serve())


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_connected_plugin_serves_searches_through_the_gate_and_leaves_when_it_disconnects(
    served: tuple[Engine, str],
) -> None:
    fox, url = served
    async with aiohttp.ClientSession() as session:
        remote, serving = await connected(url, session)
        await until(lambda: "remote" in {info.id for info in fox.plugins})
        first = await fox.search("night drive")
        second = await fox.search("night drive")
        info = fox.plugin("remote")
        await remote.ws.close()
        await serving
        await until(lambda: "remote" not in {info.id for info in fox.plugins})

    assert first.errors == {} and [(song.source, song.title) for song in first.items] == [
        ("remote", "night drive (remote)")
    ]
    assert second.items[0].extra == {
        "seen": 2,
        "notify": {"error": "PermissionDenied"},
    }  # storage granted, ui.notify not
    assert (info.runtime, info.state, info.provides) == ("process", "running", ("search",))
    assert info.path.startswith("ws:127.0.0.1:")


async def test_an_uncaught_permission_error_reaches_the_caller(served: tuple[Engine, str]) -> None:
    fox, url = served

    class Careless(RemotePlugin):
        """Lets the host's error for fox.ui.notify escape its search, as an uncaught exception would."""

        async def _call(self, request_id: int, params: dict[str, Any]) -> None:
            error = (await self.request("fox.ui.notify", ["hi"]))["error"]
            await self.ws.send_json({"jsonrpc": "2.0", "id": request_id, "error": {**error, "code": -32000}})

    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {TOKEN}"})
        remote = Careless(ws, MANIFEST)
        serving = asyncio.ensure_future(remote.serve())
        await until(lambda: "remote" in {info.id for info in fox.plugins})
        with pytest.raises(PermissionDenied, match=r"without the `ui.notify` permission"):
            await fox.call("remote", "search", "x", {})
        await ws.close()
        await serving


async def test_a_manifest_the_policy_refuses_is_answered_and_closed(
    engine_config: Callable[..., dict[str, Any]],
) -> None:
    config = engine_config(
        hot_reload={"enabled": False},
        security={"plugin_connect": {"token": TOKEN}, "allowed_permissions": ["storage"]},
    )
    greedy = {**MANIFEST, "permissions": {"player.control": True}}
    async with Engine(config) as fox:
        endpoint = await serve_admin(fox, ("127.0.0.1", 0))
        async with aiohttp.ClientSession() as session:
            remote, serving = await connected(f"{endpoint.url}/plugin/connect", session, greedy)
            await asyncio.wait_for(serving, 5)

    assert remote.refused is not None and remote.refused["error"] == "PermissionDenied"
    assert "asks for permission `player.control`, which the policy does not allow" in remote.refused["message"]
    assert [info.id for info in fox.plugins] == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong-token-of-some-length"}, 401)],
)
async def test_a_plugin_without_the_token_is_refused(served: tuple[Engine, str], headers: dict, status: int) -> None:
    fox, url = served
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(url, headers=headers)

    assert caught.value.status == status
    assert fox.plugins == []


async def test_without_a_configured_token_the_endpoint_is_off(engine_config: Callable[..., dict[str, Any]]) -> None:
    async with Engine(engine_config(hot_reload={"enabled": False})) as fox:
        endpoint = await serve_admin(fox, ("127.0.0.1", 0))
        async with aiohttp.ClientSession() as session, session.get(f"{endpoint.url}/plugin/connect") as response:
            body = await response.json()

    assert response.status == 403
    assert "set security.plugin_connect.token" in body["message"]


async def test_only_loopback_peers_by_default(engine_config: Callable[..., dict[str, Any]]) -> None:
    config = engine_config(hot_reload={"enabled": False}, security={"plugin_connect": {"token": TOKEN}})
    async with Engine(config) as fox:
        endpoint = PluginEndpoint(fox)
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            ("192.0.2.7", 40000) if name == "peername" else default
        )
        request = make_mocked_request(
            "GET", "/plugin/connect", headers={"Authorization": f"Bearer {TOKEN}"}, transport=transport
        )
        response = await endpoint.connect(request)

    assert response.status == 403
    assert "192.0.2.7 is not this machine" in json.loads(response.body)["message"]
