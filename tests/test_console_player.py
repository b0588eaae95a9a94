"""`foxplug run` as a music player: the console plays the bundled catalogue's tones through a real mpv, pauses,
seeks, shows the current song's lyrics as it plays and runs menu actions; `--player` and `doctor` (§3.13)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO


class ConsoleSession:
    """`foxplug run --console` with a pipe for stdin; `expect` waits for a line of its stdout."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.seen: list[str] = []
        self._claimed: set[int] = set()
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, text: str, timeout: float = 15.0) -> str:
        """The first line with `text` not matched before, already seen or arriving within the timeout: the
        console prints notifications as they come, so they may come before or after a command's own output."""
        for index, line in enumerate(self.seen):
            if index not in self._claimed and text in line:
                self._claimed.add(index)
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                self._claimed.add(len(self.seen) - 1)
                return line
        raise AssertionError(f"no line with {text!r} within {timeout} s; saw:\n" + "\n".join(self.seen[-30:]))

    def quit(self) -> int:
        self.send("quit")
        return self.process.wait(15)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.yaml"
    section = {
        "directories": [str(REPO / d) for d in ("plugins_lua", "plugins_js", "plugins_py")],
        "storage": str(tmp_path / "storage.sqlite3"),
        "hot_reload": {"enabled": False},
        "monitoring": {"enabled": False},
        "player": {"backend": "mpv", "mpv": {"args": ["--ao=null"]}},  # real time, to no speaker
    }
    path.write_text(yaml.safe_dump({"plugins": section}), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def console(config: Path, env: dict[str, str]) -> Iterator[ConsoleSession]:
    session = ConsoleSession([sys.executable, "-m", "engine", "--config", str(config), "run", "--console"], env)
    yield session
    if session.process.poll() is None:
        session.process.kill()
        session.process.wait()


def test_the_console_plays_a_tone_pauses_seeks_and_follows_the_lyrics(console: ConsoleSession) -> None:
    console.expect("playing through mpv")
    console.send("search twinkle")
    console.expect("Twinkle, Twinkle, Little Star")
    console.send("play 1")
    console.expect("playing Twinkle, Twinkle, Little Star (demo-catalogue)")
    console.expect("[now-playing] info: Now playing: Twinkle")
    console.send("pause")
    console.expect("paused: Twinkle")
    console.send("seek 0:03.8")
    console.expect("paused: Twinkle, Twinkle, Little Star 0:03")
    console.send("lyrics")
    console.expect("[00:04.00] Twinkle, twinkle, little star,")
    console.send("resume")
    console.expect("playing: Twinkle")
    followed = console.expect("♪ Twinkle, twinkle, little star,")
    console.send("action quick-controls pause")
    action = console.expect('{"state": "paused"}')
    console.send("now")
    now = console.expect("paused: Twinkle")

    assert console.quit() == 0
    assert now.endswith("/ 0:05")  # the tone's own length, as mpv measured it (the catalogue says 1:36)
    assert followed.startswith("♪")
    assert action == '{"state": "paused"}'
    assert now.startswith("paused: Twinkle, Twinkle, Little Star 0:0")


def test_menus_are_numbered_and_run_by_number(console: ConsoleSession) -> None:
    console.expect("type `help` for commands")
    console.send("menus")
    row = console.expect("quick-controls  pause")
    console.send(f"action {row.split()[0]}")
    result = console.expect('{"state"')

    assert console.quit() == 0
    assert result == '{"state": "stopped"}'  # nothing was playing to pause


def test_run_says_when_it_falls_back_to_the_silent_player(tmp_path: Path, config: Path, env: dict[str, str]) -> None:
    data = yaml.safe_load(config.read_text())
    data["plugins"]["player"]["mpv"]["path"] = str(tmp_path / "no-mpv-here")
    config.write_text(yaml.safe_dump(data))

    missing = subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), "run", "--console"],
        input="search twinkle\nplay 1\nnow\nquit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    silent = subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), "run", "--console", "--player", "null"],
        input="quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert missing.returncode == 0, missing.stderr
    assert "mpv not found" in missing.stdout and "playing silently" in missing.stdout
    assert "playing: Twinkle, Twinkle, Little Star" in missing.stdout  # the null player's clock runs
    assert "playing silently (plugins.player.backend: null)" in silent.stdout


def test_doctor_reports_mpv(config: Path, env: dict[str, str]) -> None:
    text = subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), "doctor"], capture_output=True, text=True, env=env
    )
    data = subprocess.run(
        [sys.executable, "-m", "engine", "--config", str(config), "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )

    player = json.loads(data.stdout)["player"]
    assert player["backend"] == "mpv"
    assert player["mpv"]["found"] is True and player["mpv"]["version"]
    assert f"player    mpv     mpv {player['mpv']['version']}" in text.stdout


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_mpv_dies_with_a_killed_engine(console: ConsoleSession) -> None:
    console.send("search twinkle")
    console.expect("Twinkle, Twinkle, Little Star")
    console.send("play 1")
    console.expect("[now-playing] info: Now playing: Twinkle")
    deadline = time.monotonic() + 15
    while not (mpv := [c for c in _children(console.process.pid) if Path(f"/proc/{c}/comm").read_text() == "mpv\n"]):
        assert time.monotonic() < deadline, "mpv never started"
        time.sleep(0.02)

    console.process.kill()  # SIGKILL: no cleanup code runs in the engine
    console.process.wait()
    deadline = time.monotonic() + 5
    while _alive(mpv[0]):
        assert time.monotonic() < deadline, "mpv outlived the engine"
        time.sleep(0.02)
