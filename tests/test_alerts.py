"""Alerts: a plugin passing a threshold raises an `alert` event within one evaluation period, and a webhook hears it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from engine import Engine, PluginError
from engine.monitoring.alerts import severity

INTERVAL = 0.3
FLAKY_LUA = """
--[[---
id: flaky
version: 1.0.0
---]]
local M = {}
function M.ok() return "fine" end
function M.fail() error("upstream said no") end
return M
"""


class Webhook:
    """A local HTTP server standing in for an alert receiver."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.url = ""

    async def receive(self, request: web.Request) -> web.Response:
        self.received.append((time.monotonic(), await request.json()))
        self.arrived.set()
        return web.Response(status=204)

    async def next(self, timeout: float) -> dict[str, Any]:
        await asyncio.wait_for(self.arrived.wait(), timeout)
        self.arrived.clear()
        return self.received[-1][1]


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/alerts", hook.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hook.url = f"http://127.0.0.1:{port}/alerts"
    yield hook
    await runner.cleanup()


@pytest.fixture
async def fox(engine_config, write_plugin, webhook: Webhook) -> AsyncIterator[tuple[Engine, list[dict[str, Any]]]]:
    directory = write_plugin("flaky.lua", FLAKY_LUA).parent
    config = engine_config(
        [directory],
        hot_reload={"enabled": False},
        monitoring={
            "alert_thresholds": {"error_rate": 0.5, "call_rate": 1000},
            "alert_interval": f"{int(INTERVAL * 1000)}ms",
            "alert_webhook": webhook.url,
        },
    )
    events: list[dict[str, Any]] = []
    async with Engine(config) as engine:
        engine.on("alert", events.append)
        yield engine, events


async def test_an_error_rate_alert_fires_within_one_period_and_reaches_the_webhook(fox, webhook: Webhook) -> None:
    engine, events = fox
    for _ in range(3):  # only failures, so however the calls fall into windows each one's error rate is 100 %
        with pytest.raises(PluginError):
            await engine.call("flaky", "fail")
    passed = time.monotonic()

    alert = await webhook.next(timeout=INTERVAL + 2)

    assert webhook.received[-1][0] - passed <= INTERVAL + 1, "within one evaluation period (and a generous margin)"
    assert alert["plugin"] == "flaky" and alert["kind"] == "error_rate" and alert["status"] == "firing"
    assert (alert["value"], alert["threshold"]) == (1.0, 0.5)
    assert alert["severity"] == "critical", "twice the threshold"
    assert "100% of calls failing" in alert["message"]
    assert [e for e in events if e["kind"] == "error_rate"] == [alert], "the same alert as an engine event"


async def test_an_alert_is_not_repeated_while_it_lasts_and_is_resolved_when_it_ends(fox, webhook: Webhook) -> None:
    engine, events = fox
    for _ in range(2):
        with pytest.raises(PluginError):
            await engine.call("flaky", "fail")
    firing = await webhook.next(timeout=INTERVAL + 2)
    with pytest.raises(PluginError):
        await engine.call("flaky", "fail")
    await asyncio.sleep(INTERVAL * 2.5)  # two more periods of errors at the same severity: no new alert
    repeated = len(webhook.received)
    for _ in range(3):
        await engine.call("flaky", "ok")

    resolved = await webhook.next(timeout=INTERVAL + 2)

    assert (firing["status"], firing["severity"], firing["value"]) == ("firing", "critical", 1.0)
    assert repeated == 1
    assert resolved["status"] == "resolved" and resolved["kind"] == "error_rate" and resolved["value"] == 0.0
    assert [e["status"] for e in events] == ["firing", "resolved"]


@pytest.mark.parametrize(
    ("value", "expected"), [(1.1, "info"), (1.2, "warning"), (1.49, "warning"), (1.5, "error"), (2.0, "critical")]
)
def test_severity_is_the_ratio_to_the_threshold(value: float, expected: str) -> None:
    assert severity(value * 10, 10) == expected
