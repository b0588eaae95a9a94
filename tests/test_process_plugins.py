"""Process plugins (`runtime: process`): real child processes speaking JSON-RPC on stdio, supervised.

Timing bounds here are generous (they catch hangs); the tight figures are in benchmarks/process.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import (
    Engine,
    ManifestError,
    PermissionDenied,
    PluginCrashed,
    PluginError,
    PluginTimeout,
    ResourceLimitExceeded,
)
from engine.cli.console import plugins_table
from engine.runtimes.process import supervisor as supervision

REPO = Path(__file__).resolve().parent.parent
METRONOME = REPO / "plugins_py" / "metronome"
TUNER = REPO / "plugins_js" / "tuner"

ACTS = """
import os, subprocess, sys, time
from script_api.sdk import fox, serve

def search(query, opts=None):
    seen = fox.storage.get("seen", 0) + 1
    fox.storage.set("seen", seen)
    return [{"id": "1", "title": query, "extra": {"seen": seen}}]

def pid():
    return os.getpid()

def sleep(seconds):
    time.sleep(seconds)
    return "woke"

def grandchild():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid

def environment():
    with open("/proc/self/environ", "rb") as environ:  # as exec'd: Python adds LC_CTYPE to os.environ itself
        return sorted(entry.split(b"=")[0].decode() for entry in environ.read().split(b"\\0") if entry)

def talk(text):
    print(text)
    return "said"

def notify():
    fox.ui.notify("hello")

def fail():
    return {}["missing"]

serve({name: fn for name, fn in globals().items() if callable(fn) and name not in ("serve", "fox")})
"""

RAW = """
import json, sys

def send(message):
    sys.stdout.write(json.dumps(message) + "\\n")
    sys.stdout.flush()

for line in sys.stdin:
    message = json.loads(line)
    method, request_id = message.get("method"), message.get("id")
    if method == "initialize":
{initialize}
    elif method == "call":
{call}
"""
GOOD_HANDSHAKE = 'send({"jsonrpc": "2.0", "id": request_id, "result": {"protocol_version": 1, "exports": ["go"]}})'
GOOD_CALL = 'send({"jsonrpc": "2.0", "id": request_id, "result": "ok"})'


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone, or going while we read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture
def process_plugin(tmp_path: Path) -> Callable[..., Path]:
    """`process_plugin("acts", source, file="main.py", command=None, **manifest)` -> a plugin folder."""

    def write(plugin_id: str, source: str, *, file: str = "main.py", **manifest: Any) -> Path:
        folder = tmp_path / "plugins" / plugin_id
        folder.mkdir(parents=True)
        data = {"id": plugin_id, "version": "1.0.0", "runtime": "process", "command": ["python", file], **manifest}
        (folder / "plugin.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        (folder / file).write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return folder

    return write


def raw(initialize: str = GOOD_HANDSHAKE, call: str = GOOD_CALL) -> str:
    indent = " " * 8
    return RAW.format(initialize=textwrap.indent(initialize, indent), call=textwrap.indent(call, indent))


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]]) -> AsyncIterator[Engine]:
    async with Engine(engine_config(hot_reload={"enabled": False})) as engine:
        yield engine


@pytest.fixture
async def acts(fox: Engine, process_plugin: Callable[..., Path]) -> str:
    folder = process_plugin("acts", ACTS, permissions={"storage": True}, provides=["search"])
    return (await fox.load(folder)).id


# -- the bundled plugins, through the CLI and the engine ---------------------------------------------------------


def foxplug(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def config_file(tmp_path: Path, engine_config: Callable[..., dict[str, Any]]) -> Path:
    path = tmp_path / "plugins.yaml"
    path.write_text(yaml.safe_dump(engine_config(directories=[])), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("folder", "query", "first_id"),
    [(METRONOME, "metronome 96", "metronome-96"), (TUNER, "tuning violin", "tone-G3")],
)
def test_foxplug_call_answers_from_both_bundled_process_plugins(
    config_file: Path, folder: Path, query: str, first_id: str
) -> None:
    result = foxplug(config_file, "call", str(folder), "search", query)
    refused = foxplug(config_file, "call", str(folder), "announce", "hi")
    granted = foxplug(config_file, "call", str(folder), "announce", "hi", "--grant", "ui.notify")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["id"] == first_id
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"PermissionDenied: plugin `{folder.name}` called fox.ui.notify('hi') without the `ui.notify` permission"
        " — add `ui.notify: true` under permissions in its manifest"
        f" (or plugin_configs.{folder.name}.permissions in the config)"
    ]
    assert granted.returncode == 0, granted.stderr


async def test_engine_search_reaches_both_bundled_process_plugins_through_the_gate(fox: Engine) -> None:
    await fox.load(METRONOME)
    await fox.load(TUNER)

    first = await fox.search("metronome tuning guitar 132")
    again = await fox.search("metronome tuning guitar")
    recent = await fox.call("metronome", "recent")
    searches = await fox.call("tuner", "searches")
    with pytest.raises(PermissionDenied, match=r"without the `ui.notify` permission"):
        await fox.call("tuner", "announce", "hi")
    with pytest.raises(PermissionDenied, match=r"without the `ui.notify` permission"):
        await fox.call("metronome", "announce", "hi")

    assert first.errors == {} and again.errors == {}
    assert [song.id for song in first.items if song.source == "metronome"] == ["metronome-132"]
    assert [song.title for song in first.items if song.source == "tuner"][:2] == ["E2 · 82.41 Hz", "A2 · 110.00 Hz"]
    assert [song.id for song in again.items if song.source == "metronome"][:2] == ["metronome-132", "metronome-60"]
    assert recent == [132]  # fox.storage, granted, from the Python process
    assert searches == 2  # ... and from the Node.js one
    infos = {info.id: info for info in fox.plugins}
    assert (infos["metronome"].runtime, infos["tuner"].runtime) == ("process", "process")
    assert infos["tuner"].exports == ("announce", "get_song_url", "search", "searches")


async def test_a_script_error_names_the_file_and_line_in_the_plugin(fox: Engine, acts: str) -> None:
    with pytest.raises(PluginError) as caught:
        await fox.call(acts, "fail")

    assert "fail() failed: KeyError: 'missing'" in str(caught.value)
    assert caught.value.file is not None and caught.value.file.endswith("main.py")
    assert caught.value.line == ACTS.lstrip("\n").splitlines().index('    return {}["missing"]') + 1
    assert "Traceback" in (caught.value.traceback or "")


# -- supervision ---------------------------------------------------------------------------------------------------


async def test_kill_9_mid_call_fails_that_call_fast_and_the_plugin_serves_again(fox: Engine, acts: str) -> None:
    pid = await fox.call(acts, "pid")
    call = asyncio.ensure_future(fox.call(acts, "sleep", 30))
    await asyncio.sleep(0.2)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(PluginCrashed) as caught:
        await call
    failed = time.monotonic() - killed
    new_pid = await fox.call(acts, "pid")
    serving = time.monotonic() - killed

    assert "crashed in sleep(): the process was killed by SIGKILL; it is being restarted" in str(caught.value)
    assert failed < 1.0
    assert serving < 1.5  # benchmarks/process.py measures it: ~0.1-0.2 s here
    assert new_pid != pid and not running(pid)
    assert fox.plugin(acts).state == "running"


async def serving_pid(fox: Engine, plugin_id: str) -> int:
    """The pid of the plugin's process once it serves (a call that meets the dead process fails first)."""
    for _ in range(3):
        try:
            return await fox.call(plugin_id, "pid")
        except PluginCrashed:
            continue
    raise AssertionError(f"{plugin_id} does not serve again")


async def test_the_fourth_crash_within_five_minutes_disables_the_plugin(fox: Engine, acts: str) -> None:
    for crash in range(4):
        pid = await serving_pid(fox, acts)
        os.kill(pid, signal.SIGKILL)
        if crash < 3:
            assert await gone(pid)

    with pytest.raises(PluginCrashed) as caught:
        for _ in range(100):  # the watcher may notice the last exit a moment after the kill
            await fox.call(acts, "pid")
            await asyncio.sleep(0.02)
    info = fox.plugin(acts)

    assert "is disabled: it crashed 4 times within 5 minutes; the last time the process was killed by SIGKILL" in str(
        caught.value
    )
    assert info.state == "disabled"
    assert info.last_error and info.last_error.startswith("it crashed 4 times within 5 minutes")
    assert " disabled " in plugins_table([info.to_dict()])  # what `foxplug list` and the console print


async def test_a_hung_plugin_times_out_is_killed_and_the_others_keep_serving(
    fox: Engine, acts: str, process_plugin: Callable[..., Path]
) -> None:
    other = (await fox.load(process_plugin("other", ACTS, permissions={"storage": True}))).id
    pid = await fox.call(acts, "pid")
    started = time.monotonic()
    hung = asyncio.ensure_future(fox.call(acts, "sleep", 30, timeout=0.5))
    meanwhile = await fox.call(other, "search", "still here")
    with pytest.raises(PluginTimeout) as caught:
        await hung
    took = time.monotonic() - started

    assert "exceeded its 0.5 s deadline in sleep()" in str(caught.value)
    assert took < 0.5 + 1.0  # benchmarks: deadline + ~55 ms
    assert meanwhile[0]["title"] == "still here"
    assert await gone(pid)
    assert await fox.call(acts, "pid") != pid


async def test_stderr_and_print_reach_the_plugins_log(fox: Engine, acts: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=f"foxplug.plugin.{acts}")

    said = await fox.call(acts, "talk", "hello from the plugin")
    for _ in range(100):
        if "hello from the plugin" in caplog.messages:
            break
        await asyncio.sleep(0.01)

    assert said == "said"  # print() did not break the protocol: the SDK moved it to stderr
    assert ("foxplug.plugin.acts", logging.INFO, "hello from the plugin") in caplog.record_tuples


async def test_the_child_gets_only_the_environment_it_lists(
    fox: Engine, process_plugin: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOXPLUG_TEST_SECRET", "s3cret")
    monkeypatch.setenv("FOXPLUG_TEST_LISTED", "yes")
    folder = process_plugin("envy", ACTS, env=["FOXPLUG_TEST_LISTED", "NOT_SET_ANYWHERE"])
    plugin_id = (await fox.load(folder)).id

    assert await fox.call(plugin_id, "environment") == ["FOXPLUG_TEST_LISTED", "PYTHONPATH"]


async def test_no_plugin_process_survives_the_engine(
    engine_config: Callable[..., dict[str, Any]], process_plugin: Callable[..., Path]
) -> None:
    async with Engine(engine_config(hot_reload={"enabled": False})) as fox:
        plugin_id = (await fox.load(process_plugin("acts", ACTS))).id
        pids = [await fox.call(plugin_id, "pid"), await fox.call(plugin_id, "grandchild")]
        assert all(map(running, pids))

    assert [pid for pid in pids if not await gone(pid, timeout=2.0)] == []


# -- a misbehaving plugin fails alone, with a clear error --------------------------------------------------------


@pytest.mark.parametrize(
    ("initialize", "problem"),
    [
        ('print("starting up...", flush=True)', "failed the handshake: it wrote a line that is not a JSON-RPC message"),
        (
            'send({"jsonrpc": "2.0", "id": request_id, "result": {"protocol_version": 99, "exports": []}})',
            "failed the handshake: it answered the handshake with protocol version 99; this host speaks 1",
        ),
        ("sys.exit(3)", "failed the handshake: the process exited with status 3 before answering"),
    ],
)
async def test_a_bad_handshake_fails_that_plugin_only(
    fox: Engine, process_plugin: Callable[..., Path], tmp_path: Path, initialize: str, problem: str
) -> None:
    process_plugin("bad", raw(initialize=initialize))
    process_plugin("good", raw())

    loaded = await fox.load_directories([tmp_path / "plugins"])
    [(path, error)] = fox.load_errors.items()

    assert [info.id for info in loaded] == ["good"]
    assert path.endswith("bad") and isinstance(error, PluginError)
    assert f"plugin `bad` ({path}) {problem}" in str(error)


async def test_a_silent_handshake_times_out(
    fox: Engine, process_plugin: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervision, "HANDSHAKE_TIMEOUT", 0.3)
    folder = process_plugin("mute", raw(initialize="pass"))

    with pytest.raises(PluginError, match=r"plugin `mute` .* failed the handshake: no answer within 0.3 s"):
        await fox.load(folder)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            'print("Loading the catalogue...", flush=True)\n' + GOOD_CALL,
            PluginCrashed,
            "crashed in go(): it broke the protocol: it wrote a line that is not a JSON-RPC message: "
            "'Loading the catalogue...'",
        ),
        (
            'send({"jsonrpc": "2.0", "id": 999, "result": "forged"})',
            PluginCrashed,
            "crashed in go(): it broke the protocol: it answered request id 999, which the host never sent",
        ),
        (
            'sys.stdout.write("[" + "1," * 400000 + "1]\\n"); sys.stdout.flush()',
            ResourceLimitExceeded,
            "exceeded its 65536-byte message limit in go()",
        ),
    ],
)
async def test_a_protocol_violation_fails_that_call_and_the_plugin_restarts(
    engine_config: Callable[..., dict[str, Any]],
    process_plugin: Callable[..., Path],
    call: str,
    error: type[Exception],
    message: str,
) -> None:
    config = engine_config(hot_reload={"enabled": False}, performance={"max_result_size": "64KB"})
    async with Engine(config) as fox:
        await fox.load(process_plugin("rogue", raw(call=call)))
        await fox.load(process_plugin("bystander", raw()))

        with pytest.raises(error) as caught:
            await fox.call("rogue", "go")
        bystander = await fox.call("bystander", "go")
        crashed = fox.plugin("rogue").state

    assert message in str(caught.value)
    assert bystander == "ok"
    assert crashed == "running"  # restarted (a violation is one crash; the fourth in 5 min disables)


async def test_a_reload_swaps_in_a_new_process_and_stops_the_old_one(
    fox: Engine, process_plugin: Callable[..., Path]
) -> None:
    source = 'import os\nfrom script_api.sdk import serve\nserve({"version": lambda: (VERSION, os.getpid())})\n'
    folder = process_plugin("versioned", source.replace("VERSION", "1"))
    await fox.load(folder)
    first, old_pid = await fox.call("versioned", "version")
    (folder / "main.py").write_text(source.replace("VERSION", "2"), encoding="utf-8")
    await fox.reload("versioned")
    second, new_pid = await fox.call("versioned", "version")

    assert (first, second) == (1, 2)
    assert new_pid != old_pid and await gone(old_pid)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"command": None}, "field `command`: a process plugin needs `command` — e.g. command: [python, main.py]"),
        (
            {"command": ["no-such-program-here", "main.py"]},
            "field `command`: command 'no-such-program-here' is not on the PATH",
        ),
        ({"command": ["./missing.sh"]}, "field `command`: command './missing.sh' is not a file in the plugin's folder"),
        ({"env": ["NOT A NAME"]}, "field `env[0]`"),
    ],
)
async def test_a_wrong_command_is_a_manifest_error_naming_the_field(
    fox: Engine, process_plugin: Callable[..., Path], manifest: dict[str, Any], message: str
) -> None:
    folder = process_plugin("wrong", raw(), **manifest)
    if manifest.get("command", ()) is None:
        text = (folder / "plugin.yaml").read_text(encoding="utf-8")
        (folder / "plugin.yaml").write_text(text.replace("command: null\n", ""), encoding="utf-8")

    with pytest.raises(ManifestError) as caught:
        await fox.load(folder)

    assert message in str(caught.value)


def test_a_killed_host_takes_its_plugin_processes_with_it(
    process_plugin: Callable[..., Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    folder = process_plugin("acts", ACTS)
    host = textwrap.dedent(f"""
        import asyncio
        from engine import Engine

        async def main():
            async with Engine({engine_config(hot_reload={"enabled": False})!r}) as fox:
                await fox.load({str(folder)!r})
                print(await fox.call("acts", "pid"), flush=True)
                await asyncio.sleep(60)

        asyncio.run(main())
    """)
    engine = subprocess.Popen([sys.executable, "-c", host], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert engine.stdout is not None
    pid = int(engine.stdout.readline())
    engine.kill()  # no atexit, no close: only PR_SET_PDEATHSIG is left to act
    engine.wait()

    assert asyncio.run(gone(pid, timeout=2.0))
