"""Per-plugin metrics: what a Prometheus scrape of `/metrics` and `engine.report()` show after real calls."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine import Engine, FoxplugError, PluginError, PluginTimeout
from engine.admin import serve_admin

TUNES_LUA = """
--[[---
id: tunes
version: 1.0.0
provides: [search]
---]]
local M = {}
function M.search(q) fox.json.encode({ q = q }) return { { id = "1", title = q } } end
function M.fail() error("tunes is out of tune") end
function M.spin() while true do end end
return M
"""
WORDS_JS = """
/*---
id: words
version: 1.0.0
---*/
module.exports = {
  get_lyrics(song) { return { lrc: "[00:01.00]hi" }; },
  explode() { throw new Error("no words"); },
};
"""
ECHO_PY = '''
"""---
id: echo
version: 1.0.0
---"""
def echo(value):
    return value
'''

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def series(samples: Samples, name: str, **labels: str) -> dict[tuple[str, ...], float]:
    """The samples of one metric whose labels include `labels`, keyed by their other label values."""
    found = {}
    for (sample_name, sample_labels), value in samples.items():
        as_dict = dict(sample_labels)
        if sample_name == name and all(as_dict.get(k) == v for k, v in labels.items()):
            found[tuple(v for k, v in sample_labels if k not in labels)] = value
    return found


def check_with_promtool(text: str) -> None:
    """`promtool check metrics` too, where Debian's prometheus package is installed (.ci/run installs it)."""
    if shutil.which("promtool"):
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
async def fox(engine_config, write_plugin) -> AsyncIterator[Engine]:
    directory = write_plugin("tunes.lua", TUNES_LUA).parent
    write_plugin("words.js", WORDS_JS)
    write_plugin("echo.py", ECHO_PY)
    async with Engine(engine_config([directory], hot_reload={"enabled": False})) as engine:
        yield engine


async def scrape(fox: Engine) -> str:
    endpoint = await serve_admin(fox)
    async with aiohttp.ClientSession() as session, session.get(f"{endpoint.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await response.text()


async def fails(call: Any) -> None:
    with pytest.raises(FoxplugError):
        await call


async def test_metrics_count_every_call_by_plugin_method_and_outcome(fox: Engine) -> None:
    for query in ("a", "b", "c"):
        await fox.call("tunes", "search", query)
    for _ in range(2):
        await fails(fox.call("tunes", "fail"))
    await fox.call("words", "get_lyrics", {"title": "t"})
    await fails(fox.call("words", "explode"))
    await fox.call("echo", "echo", 42)
    await fails(fox.call("echo", "missing"))

    text = await scrape(fox)

    samples = parse(text)
    assert series(samples, "foxplug_plugin_calls_total") == {
        ("search", "ok", "tunes"): 3,
        ("fail", "PluginError", "tunes"): 2,
        ("get_lyrics", "ok", "words"): 1,
        ("explode", "PluginError", "words"): 1,
        ("echo", "ok", "echo"): 1,
        ("missing", "PluginNotFound", "echo"): 1,
    }
    for plugin, method, calls in (("tunes", "search", 3), ("tunes", "fail", 2), ("words", "explode", 1)):
        labels = {"plugin": plugin, "method": method}
        assert series(samples, "foxplug_plugin_call_duration_seconds_count", **labels) == {(): calls}
        buckets = series(samples, "foxplug_plugin_call_duration_seconds_bucket", **labels)
        counts = [count for _, count in sorted(buckets.items(), key=lambda item: float(item[0][0]))]
        assert counts == sorted(counts) and counts[-1] == calls, "cumulative, ending at +Inf = the count"
        assert 0 < series(samples, "foxplug_plugin_call_duration_seconds_sum", **labels)[()] < 5
        assert series(samples, "foxplug_plugin_in_flight", **labels) == {(): 0}
    assert series(samples, "foxplug_host_calls_total", plugin="tunes") == {("json.encode",): 3}
    for plugin in ("tunes", "words", "echo"):
        assert series(samples, "foxplug_plugin_state", plugin=plugin)[("running",)] == 1
        assert sum(series(samples, "foxplug_plugin_state", plugin=plugin).values()) == 1
        assert series(samples, "foxplug_plugin_cpu_seconds_total", plugin=plugin)[()] > 0
    assert series(samples, "foxplug_plugin_memory_bytes", plugin="tunes")[()] > 0
    assert series(samples, "foxplug_plugin_memory_bytes", plugin="words")[()] > 0
    check_with_promtool(text)


async def test_a_call_in_progress_is_in_flight_and_a_timeout_is_its_own_outcome(fox: Engine) -> None:
    cpu_before = (await fox.report("tunes")).cpu_seconds
    spinning = asyncio.ensure_future(fox.call("tunes", "spin", timeout=1.5))
    await asyncio.sleep(0.1)

    during = parse(await scrape(fox))
    with pytest.raises(PluginTimeout):
        await spinning
    after = parse(await scrape(fox))

    assert series(during, "foxplug_plugin_in_flight", plugin="tunes", method="spin") == {(): 1}
    assert series(after, "foxplug_plugin_in_flight", plugin="tunes", method="spin") == {(): 0}
    assert series(after, "foxplug_plugin_calls_total", plugin="tunes", method="spin") == {("PluginTimeout",): 1}
    cpu = series(after, "foxplug_plugin_cpu_seconds_total", plugin="tunes")[()]
    assert cpu > cpu_before, "the spinning call burnt the actor thread's CPU (how much depends on the machine's load)"


async def test_counters_survive_reloads_and_reloads_are_counted_by_result(fox: Engine, write_plugin) -> None:
    await fox.call("tunes", "search", "before")
    cpu_before = (await fox.report("tunes")).cpu_seconds

    write_plugin("tunes.lua", TUNES_LUA.replace("1.0.0", "1.1.0"))
    await fox.reload("tunes")
    await fox.call("tunes", "search", "after")
    write_plugin("tunes.lua", "--[[---\nid: tunes\nversion: 1.2.0\n---]]\nreturn {")
    with pytest.raises(FoxplugError):
        await fox.reload("tunes")

    samples = parse(await scrape(fox))
    assert series(samples, "foxplug_plugin_calls_total", plugin="tunes", method="search") == {("ok",): 2}
    assert series(samples, "foxplug_plugin_reloads_total", plugin="tunes") == {("ok",): 1, ("failed",): 1}
    assert series(samples, "foxplug_host_calls_total", plugin="tunes") == {("json.encode",): 2}
    assert series(samples, "foxplug_plugin_cpu_seconds_total", plugin="tunes")[()] >= cpu_before
    assert fox.plugin("tunes").version == "1.1.0", "the failed reload left the running version serving"


async def test_performance_report_gives_rates_and_percentiles(fox: Engine) -> None:
    for _ in range(8):
        await fox.call("tunes", "search", "q")
    for _ in range(2):
        await fails(fox.call("tunes", "fail"))

    report = await fox.report("tunes")

    assert (report.plugin, report.state, report.calls, report.errors) == ("tunes", "running", 10, 2)
    assert report.error_rate == pytest.approx(0.2)
    assert report.p50 is not None and report.p95 is not None and report.p99 is not None
    assert 0 < report.p50 <= report.p95 <= report.p99 < 5
    assert report.methods["fail"].errors == {"PluginError": 2}
    assert report.methods["search"].calls == 8
    assert report.host_calls == {"json.encode": 8}
    assert report.memory and report.memory > 0 and report.cpu_seconds > 0
    assert "out of tune" in (report.last_error or "")
    assert {r.plugin for r in await fox.reports()} == {"tunes", "words", "echo"}
    assert report.to_dict()["methods"]["fail"]["errors"] == {"PluginError": 2}


async def test_each_engine_has_its_own_registry_and_it_agrees_with_metrics(
    fox: Engine, engine_config, tmp_path: Path
) -> None:
    await fox.call("tunes", "search", "q")
    await fails(fox.call("words", "explode"))
    text = await scrape(fox)

    async with Engine(engine_config(storage=str(tmp_path / "other.sqlite3"))) as other:
        assert "tunes" not in other.metrics.render().decode()
    assert not any(family.name.startswith("foxplug") for family in REGISTRY.collect())
    from_registry = parse(generate_latest(fox.metrics.registry).decode())
    scraped = parse(text)
    # CPU seconds are read live from the actor threads, which keep running after a call's answer is delivered:
    # the counter may only have grown between the two collections; every other sample is the same recorded value.
    live = "foxplug_plugin_cpu_seconds_total"
    assert {k: v for k, v in from_registry.items() if k[0] != live} == {
        k: v for k, v in scraped.items() if k[0] != live
    }
    assert series(scraped, live).keys() == series(from_registry, live).keys() != set()
    assert all(series(from_registry, live)[key] >= value for key, value in series(scraped, live).items())


async def test_with_monitoring_off_calls_are_not_recorded(engine_config, write_plugin) -> None:
    directory = write_plugin("tunes.lua", TUNES_LUA).parent
    async with Engine(engine_config([directory], hot_reload={"enabled": False}, monitoring={"enabled": False})) as fox:
        await fox.call("tunes", "search", "q")
        with pytest.raises(PluginError):
            await fox.call("tunes", "fail")
        report = await fox.report("tunes")
        samples = parse(fox.metrics.render().decode())

    assert (report.calls, report.errors) == (0, 0)
    assert series(samples, "foxplug_plugin_calls_total") == {}
    assert series(samples, "foxplug_plugin_state", plugin="tunes")[("running",)] == 1
