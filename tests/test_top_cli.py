"""`foxplug run` with its admin server, seen from outside: /metrics, `foxplug stats`, `foxplug top`, `foxplug rollback`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "top-secret"
TUNES_LUA = """
--[[---
id: tunes
version: {version}
provides: [search]
---]]
local M = {{}}
function M.search(q) return {{ {{ id = "1", title = q }} }} end
function M.fail() error("out of tune") end
return M
"""


@dataclass
class Running:
    process: subprocess.Popen[str]
    url: str
    token: str | None
    output: list[str]

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read().decode()
                return response.status, raw if path == "/metrics" else json.loads(raw)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read().decode())


def foxplug(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def start_run(tmp_path: Path, engine_config: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Running]]:
    """`start_run(token=...)`: `foxplug run` in a subprocess, serving, its admin URL read from its output."""
    processes: list[subprocess.Popen[str]] = []

    def start(token: str | None, **alerts: Any) -> Running:
        directory = tmp_path / "plugins"
        directory.mkdir(exist_ok=True)
        (directory / "tunes.lua").write_text(TUNES_LUA.format(version="1.0.0"), encoding="utf-8")
        monitoring = {"listen": "127.0.0.1:0", **({"token": "${FOXPLUG_TEST_TOKEN}"} if token else {}), **alerts}
        config = tmp_path / "plugins.yaml"
        settings = engine_config([directory], hot_reload={"debounce": "20ms"}, monitoring=monitoring)
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "FOXPLUG_TEST_TOKEN": token or ""},
        )
        processes.append(process)
        assert process.stdout is not None
        output: list[str] = []
        while "foxplug running with" not in (line := process.stdout.readline()):
            assert line, f"foxplug run exited early: {process.stderr.read() if process.stderr else ''}"
            output.append(line)
        url = next(m.group(0) for text in output if (m := re.search(r"http://127\.0\.0\.1:\d+", text)))
        shown = next((text.rsplit(" ", 1)[1].strip() for text in output if "admin token" in text), None)
        return Running(process, url, token or shown, output)

    yield start
    for process in processes:
        process.kill()
        process.communicate()


def check_with_promtool(text: str) -> None:
    if shutil.which("promtool"):
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr


def wait_for_version(running: Running, version: str) -> None:
    deadline = time.monotonic() + 10
    while running.request("GET", "/api/v1/plugins/tunes")[1]["version"] != version:
        assert time.monotonic() < deadline, f"tunes {version} was not loaded in time"
        time.sleep(0.05)


@pytest.mark.timeout(60)
def test_run_serves_metrics_stats_top_and_rollback(start_run: Callable[..., Running], tmp_path: Path) -> None:
    running = start_run(TOKEN)
    for query in ("a", "b", "c"):
        assert running.request("POST", "/api/v1/plugins/tunes/call/search", [query], TOKEN)[0] == 200
    assert running.request("POST", "/api/v1/plugins/tunes/call/fail", [], TOKEN)[0] == 502

    status, text = running.request("GET", "/metrics")
    calls = {
        (s.labels["method"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "foxplug_plugin_calls_total" and s.labels["plugin"] == "tunes"
    }
    assert status == 200 and calls == {("search", "ok"): 3, ("fail", "PluginError"): 1}
    check_with_promtool(text)

    stats = foxplug("stats", "--json", "--url", running.url)
    assert stats.returncode == 0, stats.stderr
    (entry,) = json.loads(stats.stdout)["plugins"]
    assert (entry["id"], entry["state"], entry["performance"]["calls"], entry["performance"]["errors"]) == (
        "tunes",
        "running",
        4,
        1,
    )
    table = foxplug("stats", "--url", running.url)
    assert table.returncode == 0 and re.search(r"tunes\s+running\s+4\s+1\s", table.stdout), table.stdout

    top = foxplug("top", "--once", "--interval", "0.2", "--url", running.url)
    assert top.returncode == 0, top.stderr
    assert "CALLS/S" in top.stdout and "P95" in top.stdout
    assert re.search(r"tunes\s+running\s+[\d.]+\s+[\d.]+ ms\s+1 \(25%\)", top.stdout), top.stdout

    (tmp_path / "plugins" / "tunes.lua").write_text(TUNES_LUA.format(version="2.0.0"), encoding="utf-8")
    wait_for_version(running, "2.0.0")
    refused = foxplug("rollback", "tunes", "--url", running.url, env={"FOXPLUG_TOKEN": ""})
    assert refused.returncode == 1 and refused.stderr.startswith("PermissionDenied: "), refused.stderr
    assert running.request("GET", "/api/v1/plugins/tunes")[1]["version"] == "2.0.0", "nothing changed"

    rolled = foxplug("rollback", "tunes", "--url", running.url, env={"FOXPLUG_TOKEN": TOKEN})
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.startswith("rolled back tunes to 1.0.0")
    assert running.request("GET", "/api/v1/plugins/tunes")[1]["version"] == "1.0.0"

    nothing_left = foxplug("rollback", "tunes", "--url", running.url, "--token", TOKEN)
    assert nothing_left.returncode == 1 and nothing_left.stderr.startswith("PluginNotFound: ")


@pytest.mark.timeout(30)
def test_run_without_a_token_prints_the_one_it_made_up_and_shows_alerts(start_run: Callable[..., Running]) -> None:
    running = start_run(None, alert_thresholds={"error_rate": 0.5}, alert_interval="200ms")
    assert running.token and any(running.token in line for line in running.output)

    assert running.request("POST", "/api/v1/plugins/tunes/call/fail", [], token=running.token)[0] == 502
    assert running.process.stdout is not None
    while "alert" not in (line := running.process.stdout.readline()):
        assert line, "foxplug run exited before showing the alert"
    assert line.startswith("alert critical: plugin `tunes`: 100% of calls failing"), line

    assert running.request("POST", "/api/v1/plugins/tunes/disable")[0] == 401
    status, body = running.request("POST", "/api/v1/plugins/tunes/disable", token=running.token)
    assert status == 200 and body["state"] == "disabled"


def test_stats_without_a_running_engine_says_so() -> None:
    result = foxplug("stats", "--url", "http://127.0.0.1:9")

    assert result.returncode == 1
    assert result.stderr.startswith("ConnectionError: no foxplug admin API answers at http://127.0.0.1:9")
