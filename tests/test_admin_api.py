"""The admin REST API over real HTTP: list, inspect, health, disable/enable, stop/start, reload, rollback, probe."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine import Engine, PluginError
from engine.admin import serve_admin

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def tunes(version: str = "1.0.0", health: str = "return { ok = true, queue = 0 }") -> str:
    return f"""
--[[---
id: tunes
version: {version}
provides: [search]
---]]
local M = {{}}
function M.search(q) return {{ {{ id = "1", title = q .. " {version}" }} }} end
function M.fail() error("tunes is out of tune") end
function M.health() {health} end
return M
"""


QUIET_JS = """
/*---
id: quiet
version: 1.0.0
---*/
module.exports = { hush() { return "shh"; } };
"""


class Admin:
    """The admin server of a real engine, spoken to over HTTP."""

    def __init__(self, fox: Engine, url: str, session: aiohttp.ClientSession) -> None:
        self.fox, self.url, self.session = fox, url, session

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.url + path) as response:
            return response.status, await response.json()

    async def post(self, path: str, body: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.post(self.url + path, data=body, headers=AUTH if headers is None else headers) as r:
            text = await r.text()
            assert "Traceback" not in text
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def admin(engine_config, write_plugin, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Admin]:
    monkeypatch.setenv("FOXPLUG_TEST_ADMIN_TOKEN", TOKEN)
    directory = write_plugin("tunes.lua", tunes()).parent
    write_plugin("quiet.js", QUIET_JS)
    config = engine_config(
        [directory],
        hot_reload={"enabled": False},
        monitoring={"listen": "127.0.0.1:0", "token": "${FOXPLUG_TEST_ADMIN_TOKEN}"},
    )
    async with Engine(config) as fox, aiohttp.ClientSession() as session:
        endpoint = await serve_admin(fox)
        assert endpoint.host == "127.0.0.1" and endpoint.port > 0 and not endpoint.generated_token
        yield Admin(fox, endpoint.url, session)


async def test_lists_and_inspects_plugins_with_their_performance(admin: Admin) -> None:
    await admin.fox.call("tunes", "search", "q")

    status, listing = await admin.get("/api/v1/plugins")
    _, one = await admin.get("/api/v1/plugins/tunes")

    assert status == 200
    assert {entry["id"] for entry in listing["plugins"]} == {"tunes", "quiet"}
    assert listing["load_errors"] == []
    assert (one["id"], one["version"], one["runtime"], one["state"]) == ("tunes", "1.0.0", "lua", "running")
    assert one["performance"]["calls"] == 1 and one["performance"]["methods"]["search"]["calls"] == 1
    assert one["performance"]["memory"] > 0


async def test_an_unknown_plugin_or_route_is_a_json_404(admin: Admin) -> None:
    status, body = await admin.get("/api/v1/plugins/nope")
    route_status, route = await admin.get("/api/v2/nothing")
    action_status, action = await admin.post("/api/v1/plugins/tunes/explode")

    assert status == 404 and body["error"] == "PluginNotFound" and "nope" in body["message"]
    assert route_status == 404 and route["error"] == "NotFound"
    assert action_status == 404 and "rollback" in action["message"]


async def test_health_asks_the_plugin_on_post_and_reports_the_last_answer_on_get(admin: Admin, write_plugin) -> None:
    unchecked_status, unchecked = await admin.get("/api/v1/plugins/tunes/health")
    status, healthy = await admin.post("/api/v1/plugins/tunes/health")
    _, remembered = await admin.get("/api/v1/plugins/tunes/health")
    plain_status, plain = await admin.get("/api/v1/plugins/quiet/health")
    write_plugin("tunes.lua", tunes(health="return { ok = false, reason = 'backend down' }"))
    await admin.fox.reload("tunes")
    _, after_reload = await admin.get("/api/v1/plugins/tunes/health")
    sick_status, sick = await admin.post("/api/v1/plugins/tunes/health")

    assert unchecked_status == 200 and unchecked == {"id": "tunes", "state": "running", "healthy": True}
    assert status == 200 and healthy["healthy"] is True and healthy["health"] == {"ok": True, "queue": 0}
    assert remembered["health"] == healthy["health"] and remembered["checked_at"] == healthy["checked_at"]
    assert plain_status == 200 and plain == {"id": "quiet", "state": "running", "healthy": True}
    assert "health" not in after_reload, "a check of the old version says nothing about the new one"
    assert sick_status == 503 and sick["healthy"] is False and sick["health"]["reason"] == "backend down"


async def test_disable_makes_calls_fail_fast_with_a_clear_error_and_enable_brings_it_back(admin: Admin) -> None:
    status, disabled = await admin.post("/api/v1/plugins/tunes/disable")
    started = time.monotonic()
    with pytest.raises(PluginError, match="plugin `tunes` is disabled"):
        await admin.fox.call("tunes", "search", "q")
    failed_in = time.monotonic() - started
    probe_status, probe = await admin.post("/api/v1/plugins/tunes/call/search", '["q"]')
    search = await admin.fox.search("q")
    _, health = await admin.get("/api/v1/plugins/tunes/health")

    assert status == 200 and disabled["state"] == "disabled"
    assert failed_in < 0.5, "no waiting for a deadline"
    assert probe_status == 409 and probe["error"] == "PluginError" and "enable" in probe["message"]
    assert "tunes" in search.errors and "disabled" in search.errors["tunes"]
    assert health["healthy"] is False

    status, enabled = await admin.post("/api/v1/plugins/tunes/enable")
    assert status == 200 and enabled["state"] == "running"
    assert await admin.fox.call("tunes", "search", "q") == [{"id": "1", "title": "q 1.0.0"}]


async def test_stop_and_start(admin: Admin) -> None:
    status, stopped = await admin.post("/api/v1/plugins/tunes/stop")
    with pytest.raises(PluginError, match="plugin `tunes` is stopped"):
        await admin.fox.call("tunes", "search", "q")
    again, restarted = await admin.post("/api/v1/plugins/tunes/start")

    assert status == 200 and stopped["state"] == "stopped"
    assert again == 200 and restarted["state"] == "running"
    assert await admin.fox.call("tunes", "search", "q") == [{"id": "1", "title": "q 1.0.0"}]

    await admin.post("/api/v1/plugins/tunes/disable")
    refused, body = await admin.post("/api/v1/plugins/tunes/start")
    assert refused == 409 and "disabled" in body["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
async def test_a_post_without_the_token_is_401_and_changes_nothing(admin: Admin, write_plugin, headers) -> None:
    write_plugin("tunes.lua", tunes("2.0.0"))
    before = (await admin.fox.report("tunes")).calls

    for action in ("disable", "stop", "reload", "rollback", "enable", "start"):
        status, body = await admin.post(f"/api/v1/plugins/tunes/{action}", headers=headers)
        assert status == 401 and body["error"] == "Unauthorized", action
    status, _ = await admin.post("/api/v1/plugins/tunes/call/search", '["q"]', headers=headers)

    assert status == 401
    info = admin.fox.plugin("tunes")
    assert (info.state, info.version) == ("running", "1.0.0")
    assert (await admin.fox.report("tunes")).calls == before, "the plugin was not called"


async def test_reload_then_rollback_then_nothing_left_to_roll_back(admin: Admin, write_plugin) -> None:
    write_plugin("tunes.lua", tunes("2.0.0"))

    reloaded_status, reloaded = await admin.post("/api/v1/plugins/tunes/reload")
    answer_v2 = await admin.fox.call("tunes", "search", "q")
    rollback_status, rolled = await admin.post("/api/v1/plugins/tunes/rollback")
    answer_v1 = await admin.fox.call("tunes", "search", "q")
    again_status, again = await admin.post("/api/v1/plugins/tunes/rollback")

    assert reloaded_status == 200 and reloaded["version"] == "2.0.0"
    assert answer_v2 == [{"id": "1", "title": "q 2.0.0"}]
    assert rollback_status == 200 and rolled["version"] == "1.0.0"
    assert answer_v1 == [{"id": "1", "title": "q 1.0.0"}]
    assert again_status == 409 and again["error"] == "PluginNotFound" and "previous version" in again["message"]


async def test_a_reload_of_a_broken_file_is_refused_and_the_old_version_serves(admin: Admin, write_plugin) -> None:
    write_plugin("tunes.lua", tunes("2.0.0").replace("return M", "return M +"))

    status, body = await admin.post("/api/v1/plugins/tunes/reload")

    assert status == 409 and body["error"] == "PluginError" and "tunes.lua" in body["message"]
    assert await admin.fox.call("tunes", "search", "q") == [{"id": "1", "title": "q 1.0.0"}]


async def test_call_probes_a_plugin_with_a_json_array_of_arguments(admin: Admin) -> None:
    ok_status, ok = await admin.post("/api/v1/plugins/tunes/call/search", '["probe"]')
    no_args_status, no_args = await admin.post("/api/v1/plugins/quiet/call/hush")
    failing_status, failing = await admin.post("/api/v1/plugins/tunes/call/fail", "[]")
    missing_status, missing = await admin.post("/api/v1/plugins/tunes/call/nope", "[]")
    bad_json_status, bad_json = await admin.post("/api/v1/plugins/tunes/call/search", "[oops")
    not_array_status, not_array = await admin.post("/api/v1/plugins/tunes/call/search", '{"q": 1}')

    assert ok_status == 200 and ok == {"result": [{"id": "1", "title": "probe 1.0.0"}]}
    assert no_args_status == 200 and no_args == {"result": "shh"}
    assert failing_status == 502 and failing["error"] == "PluginError" and "out of tune" in failing["message"]
    assert missing_status == 404 and missing["error"] == "PluginNotFound"
    assert bad_json_status == 400 and bad_json["error"] == "BadRequest"
    assert not_array_status == 400 and "JSON array" in not_array["message"]


async def test_without_a_configured_token_one_is_generated(engine_config, tmp_path: Path) -> None:
    async with Engine(engine_config(monitoring={"listen": "127.0.0.1:0"})) as fox:
        endpoint = await serve_admin(fox)
        other = Engine(engine_config(monitoring={"listen": "127.0.0.1:0"}, storage=str(tmp_path / "b.sqlite3")))
        async with other:
            assert (await serve_admin(other)).token != endpoint.token

    assert endpoint.generated_token and len(endpoint.token) >= 24
