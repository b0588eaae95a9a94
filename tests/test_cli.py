"""The `foxplug` command line (ARCHITECTURE §3.2), driven as a user would: real plugin files, a real process."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

Foxplug = Callable[..., subprocess.CompletedProcess[str]]

HELLO_LUA = """
--[[---
id: hello
version: 1.0.0
provides: [search]
permissions:
  network: ["127.0.0.1"]
---]]
local M = {}
function M.search(query, opts) return { { id = "1", title = query } } end
return M
"""
HELLO_JS = """
/*---
id: hello-js
version: 1.0.0
provides: [lyrics]
---*/
module.exports = { get_lyrics(song) { return { lrc: "[00:01.00]hi" } } };
"""
HELLO_PY = '''
"""---
id: hello-py
version: 1.0.0
provides: [search]
---"""
def search(query, opts=None):
    return [{"id": "1", "title": query}]
'''
COUNTER_LUA = """
--[[---
id: counter
version: 1.0.0
---]]
local M = {}
function M.bump(key)
  local n = (fox.storage.get(key) or 0) + 1
  fox.storage.set(key, n)
  return n
end
return M
"""
ECHO_PY = '''
"""---
id: echo
version: 2.0.0
---"""
def echo(a, b, c, d, e):
    return [a, b, c, d, e]

def fail():
    return missing({})

def missing(table):
    return table["key"]
'''
NOW_PLAYING_LUA = """
--[[---
id: now-playing
version: 1.0.0
provides: [events]
permissions: {ui.notify: true}
---]]
local M = {}
function M.on_song_changed(song) fox.ui.notify("now playing " .. song.title, "info") end
return M
"""


@pytest.fixture
def plugins_dir(tmp_path: Path) -> Path:
    """The folder `write_plugin` writes to, and the one directory of the test config."""
    return tmp_path / "plugins"


@pytest.fixture
def config_file(tmp_path: Path, plugins_dir: Path, engine_config: Callable[..., dict[str, Any]]) -> Path:
    path = tmp_path / "plugins.yaml"
    path.write_text(yaml.safe_dump(engine_config(directories=[plugins_dir])), encoding="utf-8")
    return path


@pytest.fixture
def foxplug(config_file: Path, tmp_path: Path) -> Foxplug:
    """`foxplug("call", "x.lua", "search")`: `python -m engine COMMAND --config <tmp config> ARGS...`."""

    def run(command: str, *args: str, stdin: str = "", program: tuple[str, ...] | None = None):
        program = program or (sys.executable, "-m", "engine")
        return subprocess.run(
            [*program, command, "--config", str(config_file), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )

    return run


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line stderr must hold on failure."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("name", "source", "call", "expected"),
    [
        ("hello.lua", HELLO_LUA, ["search", "q", '{"limit": 5}'], [{"id": "1", "title": "q"}]),
        ("hello.js", HELLO_JS, ["get_lyrics", '{"title": "t"}'], {"lrc": "[00:01.00]hi"}),
        ("hello.py", HELLO_PY, ["search", "q"], [{"id": "1", "title": "q"}]),
    ],
)
def test_call_runs_a_one_file_plugin_in_each_language(
    foxplug: Foxplug, write_plugin, name: str, source: str, call: list[str], expected: Any
) -> None:
    path = write_plugin(name, source)

    result = foxplug("call", str(path), *call, "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_call_takes_each_argument_as_json_if_it_parses_else_as_a_string(foxplug: Foxplug, write_plugin) -> None:
    path = write_plugin("echo.py", ECHO_PY)

    result = foxplug("call", str(path), "echo", "5", '{"a": [1]}', "true", "hello world", '"quoted"')

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [5, {"a": [1]}, True, "hello world", "quoted"]


def test_call_finds_a_plugin_by_id_in_the_configured_directories(foxplug: Foxplug, write_plugin) -> None:
    write_plugin("hello.py", HELLO_PY)
    write_plugin("echo.py", ECHO_PY)

    found = foxplug("call", "hello-py", "search", "by id")
    missing = foxplug("call", "nope", "search", "x")

    assert json.loads(found.stdout) == [{"id": "1", "title": "by id"}]
    assert missing.returncode == 1
    assert error_line(missing).startswith("PluginNotFound: no plugin `nope` (loaded: echo, hello-py)")


def test_a_storage_call_is_denied_until_granted(foxplug: Foxplug, write_plugin) -> None:
    path = write_plugin("counter.lua", COUNTER_LUA)

    denied = foxplug("call", str(path), "bump", "plays")
    granted = foxplug("call", str(path), "bump", "plays", "--grant", "storage")
    again = foxplug("call", str(path), "bump", "plays", "--grant", "storage")

    assert denied.returncode == 1
    assert denied.stdout == ""
    assert error_line(denied).startswith("PermissionDenied: plugin `counter` called fox.storage.get(")
    assert "without the `storage` permission" in denied.stderr
    assert (granted.returncode, json.loads(granted.stdout)) == (0, 1)
    assert json.loads(again.stdout) == 2, "storage is durable across runs"


FETCH_JS = """
/*---
id: fetch
version: 1.0.0
---*/
export async function fetch(url) { return (await fox.http.get(url)).json; }
"""


@pytest.fixture
async def api_url() -> AsyncIterator[str]:
    """A stand-in HTTP API on 127.0.0.1."""

    async def song(request: web.Request) -> web.Response:
        return web.json_response({"title": "from the api"})

    app = web.Application()
    app.router.add_get("/song", song)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/song"
    await runner.cleanup()


async def test_grant_network_host_lets_a_plugin_reach_only_that_host(
    config_file: Path, write_plugin, api_url: str
) -> None:
    path = write_plugin("fetch.js", FETCH_JS)

    async def call(*grants: str) -> tuple[int | None, str, str]:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "engine", "call", str(path), "fetch", api_url, "--config", str(config_file)),
            *grants,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        return process.returncode, out.decode(), err.decode()

    (denied, _, denial), (wrong, _, _), (granted, answer, _) = await asyncio.gather(
        call(), call("--grant", "network:example.org"), call("--grant", "network:127.0.0.1")
    )

    assert denied == wrong == 1
    assert denial.startswith("PermissionDenied: plugin `fetch` called fox.http.get(")
    assert "holds no network grant for 127.0.0.1" in denial
    assert (granted, json.loads(answer)) == (0, {"title": "from the api"})


def test_a_script_error_shows_the_plugin_traceback_only_with_verbose(foxplug: Foxplug, write_plugin) -> None:
    path = write_plugin("echo.py", ECHO_PY)

    quiet = foxplug("call", str(path), "fail")
    verbose = foxplug("call", str(path), "fail", "--verbose")

    assert quiet.returncode == verbose.returncode == 1
    assert error_line(quiet) == f"PluginError: {path}:12: fail() failed: KeyError: 'key'"
    assert verbose.stderr.startswith(error_line(quiet))
    assert "line 9, in fail" in verbose.stderr and 'return table["key"]' in verbose.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["call", "only-a-target"],
        ["search", "q", "--type", "podcast"],
        ["call", "x.lua", "f", "--grant", "filesystem"],
        ["call", "x.lua", "f", "--timeout", "soon"],
        ["new", "Not An Id", "--lang", "lua"],
    ],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert "usage: foxplug" in result.stderr


def test_config_may_come_before_the_command_and_a_missing_one_is_an_error(
    config_file: Path, write_plugin, tmp_path: Path
) -> None:
    path = write_plugin("hello.py", HELLO_PY)
    engine = [sys.executable, "-m", "engine"]

    ok = subprocess.run([*engine, "--config", str(config_file), "call", str(path), "search", "x"], capture_output=True)
    missing = subprocess.run(
        [*engine, "call", str(path), "search", "x", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )

    assert ok.returncode == 0
    assert missing.returncode == 1
    assert (
        error_line(missing) == f"ConfigError: {tmp_path / 'nope.yaml'}: cannot read config: No such file or directory"
    )


def test_check_names_the_bad_field_and_passes_good_plugins(foxplug: Foxplug, write_plugin) -> None:
    good = write_plugin("hello.lua", HELLO_LUA)
    bad = write_plugin("bad.lua", "--[[---\nid: bad\nversion: abc\n---]]\nreturn {}\n")

    result = foxplug("check", str(good), str(bad))

    assert result.returncode == 1
    assert result.stdout == f"OK hello 1.0.0 lua {good}\n"
    assert error_line(result) == (
        f"ManifestError: {bad}:3: field `version`: 'abc' is not a semantic version (expected e.g. 1.2.0)"
    )


def test_check_gives_file_and_line_of_a_syntax_error(foxplug: Foxplug, write_plugin) -> None:
    broken = write_plugin("broken.lua", "local M = {}\nfunction M.search(\nreturn M\n")
    broken_js = write_plugin("broken.js", "export function search(q) {\n  return [;\n}\n")

    result = foxplug("check", str(broken), str(broken_js))

    assert result.returncode == 1
    lua_error, js_error = result.stderr.strip().splitlines()
    assert lua_error.startswith(f"PluginError: {broken}:3: ")
    assert js_error.startswith(f"PluginError: {broken_js}:2: ")


def test_check_compiles_a_plugin_even_when_the_config_disables_it(
    write_plugin, tmp_path: Path, plugins_dir: Path, engine_config: Callable[..., dict[str, Any]]
) -> None:
    broken = write_plugin("muted.lua", "--[[---\nid: muted\nversion: 1.0.0\n---]]\nreturn {\n")
    config = tmp_path / "disabled.yaml"
    config.write_text(yaml.safe_dump(engine_config([plugins_dir], plugin_configs={"muted": {"enabled": False}})))

    result = subprocess.run(
        [sys.executable, "-m", "engine", "check", str(broken), "--config", str(config)], capture_output=True, text=True
    )

    assert result.returncode == 1
    assert error_line(result).startswith(f"PluginError: {broken}:6: ")


def test_check_json_reports_each_path(foxplug: Foxplug, write_plugin, plugins_dir: Path) -> None:
    good = write_plugin("hello.py", HELLO_PY)

    result = foxplug("check", str(good), str(plugins_dir / "missing.lua"), "--json")

    assert result.returncode == 1
    ok, failed = json.loads(result.stdout)
    assert ok == {"path": str(good), "ok": True, "id": "hello-py", "version": "1.0.0", "runtime": "python"}
    assert failed["ok"] is False
    assert failed["error"].startswith("ManifestError: ") and "no such plugin file" in failed["error"]


def test_list_shows_every_plugin_found_including_failures(foxplug: Foxplug, write_plugin) -> None:
    hello = write_plugin("hello.lua", HELLO_LUA)
    write_plugin("hello.js", HELLO_JS)
    bad = write_plugin("bad.lua", "--[[---\nid: bad\nversion: abc\n---]]\nreturn {}\n")

    listed = foxplug("list", "--json")
    table = foxplug("list")

    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"hello", "hello-js", "bad"}
    for row in rows.values():
        assert {"id", "version", "runtime", "state", "provides", "permissions", "path"} <= set(row)
    expected = {
        "version": "1.0.0",
        "runtime": "lua",
        "state": "running",
        "provides": ["search"],
        "permissions": {"network": ["127.0.0.1"]},
        "path": str(hello),
    }
    assert {key: rows["hello"][key] for key in expected} == expected
    assert (rows["bad"]["state"], rows["bad"]["path"]) == ("failed", str(bad))
    assert rows["bad"]["error"].startswith("ManifestError: ")
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["ID", "VERSION", "RUNTIME", "STATE", "PROVIDES", "PERMISSIONS", "PATH"]
    assert any(line.split()[:4] == ["hello", "1.0.0", "lua", "running"] for line in lines)


def test_search_merges_every_source_with_per_plugin_errors(foxplug: Foxplug, write_plugin) -> None:
    write_plugin("hello.lua", HELLO_LUA)
    write_plugin("hello.py", HELLO_PY)
    write_plugin(
        "broken.js",
        "/*---\nid: broken\nversion: 1.0.0\n---*/\nexport function search(q) { throw new Error('down'); }\n",
    )

    result = foxplug("search", "q", "--json", "--limit", "5")
    text = foxplug("search", "q")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"items", "errors"}
    assert sorted(item["source"] for item in data["items"]) == ["hello", "hello-py"]
    assert all(item["title"] == "q" for item in data["items"])
    assert list(data["errors"]) == ["broken"] and "down" in data["errors"]["broken"]
    header, *rows = text.stdout.splitlines()
    assert header.split() == ["#", "TITLE", "ARTISTS", "ALBUM", "TIME", "SOURCE"]
    assert [row.split()[0] for row in rows] == ["1", "2"]
    assert sorted(row.split()[1:] for row in rows) == [["q", "hello"], ["q", "hello-py"]]
    assert text.stderr.startswith("broken: PluginError: ")


def test_lyrics_from_the_first_provider_as_lrc_lines_or_json(foxplug: Foxplug, write_plugin) -> None:
    write_plugin(
        "words.lua",
        """
        --[[---
        id: words
        version: 1.0.0
        provides: [lyrics]
        ---]]
        local M = {}
        function M.get_lyrics(song)
          return { lrc = "[00:01.50]" .. song.title .. " by " .. song.artists[1].name .. "\\n[01:02.03]la" }
        end
        return M
        """,
    )

    text = foxplug("lyrics", "Song", "--artist", "Fox")
    data = foxplug("lyrics", "Song", "--artist", "Fox", "--json")

    assert text.returncode == 0, text.stderr
    assert text.stdout == "[00:01.50] Song by Fox\n[01:02.03] la\n"
    assert [line["time_ms"] for line in json.loads(data.stdout)["lines"]] == [1500, 62030]


def test_lyrics_without_an_answer_exits_1(foxplug: Foxplug, write_plugin) -> None:
    write_plugin("hello.py", HELLO_PY)

    result = foxplug("lyrics", "Song")

    assert result.returncode == 1
    assert error_line(result).startswith("PluginNotFound: no lyrics for 'Song': no lyrics plugin is loaded")


@pytest.mark.parametrize("lang", ["lua", "js", "py"])
def test_new_scaffolds_a_plugin_that_checks_and_answers_at_once(foxplug: Foxplug, tmp_path: Path, lang: str) -> None:
    created = foxplug("new", f"my-{lang}", "--lang", lang, "--dir", "made")
    path = tmp_path / "made" / f"my-{lang}.{lang}"

    checked = foxplug("check", str(path))
    called = foxplug("call", str(path), "search", "hello")

    assert created.returncode == 0, created.stderr
    assert str(Path("made") / path.name) in created.stdout
    assert "storage: true" in path.read_text() and "fox.http.get" in path.read_text()
    assert checked.stdout.startswith(f"OK my-{lang} 0.1.0 "), checked.stderr
    assert json.loads(called.stdout)[0]["title"] == "hello"


def test_new_never_overwrites_a_file(foxplug: Foxplug, tmp_path: Path) -> None:
    mine = tmp_path / "mine.lua"
    mine.write_text("-- my work\n")

    result = foxplug("new", "mine", "--lang", "lua")

    assert result.returncode == 1
    assert error_line(result) == f"FileExistsError: {Path('mine.lua')} already exists; pick another name or --dir"
    assert mine.read_text() == "-- my work\n"


def test_run_console_searches_plays_and_lists(foxplug: Foxplug, write_plugin) -> None:
    write_plugin("hello.lua", HELLO_LUA)
    write_plugin("now.lua", NOW_PLAYING_LUA)
    write_plugin("bad.lua", "--[[---\nid: bad\nversion: abc\n---]]\nreturn {}\n")

    result = foxplug("run", "--console", stdin="search fox song\nplay 1\nplugins\ncall hello search 42\nquit\n")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "foxplug running with 2 plugins" in out
    assert "1  fox song" in out and "hello" in out
    assert "playing fox song (hello)" in out
    assert "[now-playing] info: now playing fox song" in out
    assert out.count("now-playing  1.0.0    lua") == 2, "listed at start and by `plugins`"
    assert '"title": 42' in out
    assert "ManifestError: " in result.stderr and "field `version`" in result.stderr


@pytest.mark.timeout(15)
def test_run_on_a_terminal_opens_the_console_and_ctrl_c_stops_it(config_file: Path, write_plugin) -> None:
    write_plugin("hello.lua", HELLO_LUA)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: foxplug with the pseudo-terminal as its controlling terminal
        os.execv(sys.executable, [sys.executable, "-m", "engine", "run", "--config", str(config_file)])
    screen = b""

    def read_until(done: Callable[[bytes], bool]) -> None:
        nonlocal screen
        deadline = time.monotonic() + 10
        while not done(screen) and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                screen += os.read(terminal, 4096)
        assert done(screen), screen.decode(errors="replace")

    try:
        read_until(lambda screen: b"fox> " in screen)
        os.write(terminal, b"search on a tty\r")
        read_until(lambda screen: screen.count(b"fox> ") == 2)
        os.write(terminal, b"\x03")  # Ctrl-C, through the terminal's line discipline
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)

    assert os.waitstatus_to_exitcode(status) == 0
    assert b"1  on a tty  " in screen
    assert screen.index(b"SOURCE") < screen.rindex(b"fox> "), "the prompt comes back after the results"


@pytest.fixture
def serving(config_file: Path, plugins_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """`foxplug run` without a terminal, started and serving; killed after the test if still alive."""
    plugins_dir.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--config", str(config_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    read_until(process, "foxplug running with")
    yield process
    process.kill()
    process.communicate()


def read_until(process: subprocess.Popen[str], text: str) -> str:
    assert process.stdout is not None
    while text not in (line := process.stdout.readline()):
        assert line, f"foxplug run exited before printing {text!r}"
    return line


@pytest.mark.timeout(10)
def test_run_without_a_terminal_serves_until_sigint(serving: subprocess.Popen[str]) -> None:
    assert serving.poll() is None, "it keeps serving without a console"

    serving.send_signal(signal.SIGINT)
    _, err = serving.communicate(timeout=5)

    assert serving.returncode == 0, err
    assert err == ""


@pytest.mark.timeout(10)
def test_run_loads_new_plugins_and_reloads_on_save_keeping_the_old_version_on_a_bad_one(
    write_plugin, serving: subprocess.Popen[str]
) -> None:
    assert serving.stderr is not None

    write_plugin("hello.lua", HELLO_LUA)
    loaded = read_until(serving, "loaded")
    write_plugin("hello.lua", HELLO_LUA.replace("version: 1.0.0", "version: nope"))
    refused = serving.stderr.readline()
    write_plugin("hello.lua", HELLO_LUA.replace("version: 1.0.0", "version: 1.1.0"))
    reloaded = read_until(serving, "reloaded")
    serving.send_signal(signal.SIGTERM)
    serving.communicate(timeout=5)

    assert loaded == "loaded hello 1.0.0 (lua)\n"
    assert refused.startswith("ManifestError: ") and refused.endswith("hello keeps its running version\n")
    assert reloaded.startswith("reloaded hello 1.1.0 in ")
    assert serving.returncode == 0


def test_the_installed_console_script_is_the_same_cli(foxplug: Foxplug, write_plugin) -> None:
    script = Path(sys.executable).parent / "foxplug"
    assert os.access(script, os.X_OK), "the foxplug console script is not installed next to this Python"
    path = write_plugin("hello.py", HELLO_PY)

    result = foxplug("call", str(path), "search", "installed", program=(str(script),))

    assert json.loads(result.stdout) == [{"id": "1", "title": "installed"}]


SOURCE_WITH_A_BAD_ITEM = '''
"""---
id: half-good
version: 1.0.0
provides: [search]
---"""
def search(query, opts=None):
    print("region", fox.plugin.info()["config"]["region"])
    return [{"id": "1", "title": query}, {"id": "2", "title": None}, {"id": "3", "name": "alias"}]
'''


def test_call_names_a_bad_field_prints_the_good_items_and_shows_plugin_output(foxplug: Foxplug, write_plugin) -> None:
    path = write_plugin("half.py", SOURCE_WITH_A_BAD_ITEM)

    result = foxplug("call", str(path), "search", "q", "--plugin-config", "region=eu")

    assert result.returncode == 1
    assert json.loads(result.stdout) == [{"id": "1", "title": "q"}, {"id": "3", "name": "alias"}]
    assert result.stderr.splitlines() == [
        "[half-good] region eu",
        "PluginError: plugin `half-good`: search()[1].title: expected a string, got None",
    ]


def test_plugin_config_takes_a_json_object_and_a_bad_one_is_a_usage_error(foxplug: Foxplug, write_plugin) -> None:
    path = write_plugin("half.py", SOURCE_WITH_A_BAD_ITEM)

    good = foxplug("call", str(path), "suggest", "--plugin-config", '{"region": "us"}')
    bad = foxplug("call", str(path), "search", "q", "--plugin-config", "region")

    assert "[half-good]" not in good.stderr and "has no function suggest" in good.stderr
    assert bad.returncode == 2 and "expected KEY=VALUE or a JSON object" in bad.stderr


def test_check_a_directory_of_plugins_checks_every_plugin_in_it(foxplug: Foxplug, write_plugin, plugins_dir) -> None:
    good = write_plugin("hello.lua", HELLO_LUA)
    bad = write_plugin("bad.lua", "--[[---\nid: bad\nversion: abc\n---]]\nreturn {}\n")

    result = foxplug("check", str(plugins_dir))

    assert result.returncode == 1
    assert result.stdout == f"OK hello 1.0.0 lua {good}\n"
    assert error_line(result).startswith(f"ManifestError: {bad}:3: field `version`")


def test_call_checks_a_search_for_playlists_as_playlists(foxplug: Foxplug) -> None:
    soundscapes = str(Path(__file__).resolve().parent.parent / "plugins_py" / "soundscapes.py")

    result = foxplug("call", soundscapes, "search", "sleep", '{"type": "playlist"}')

    assert result.returncode == 0, result.stderr
    assert [p["name"] for p in json.loads(result.stdout)] == ["Sleep"]
