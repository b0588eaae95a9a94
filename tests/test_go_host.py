"""The Go example host (examples/go-host) built with the Go toolchain and run against the real engine: the proof
that a player in another language (go-musicfox is Go) can embed foxplug through `foxplug serve --stdio`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO


def test_the_go_host_searches_gets_lyrics_and_a_url_and_is_paused_by_a_plugin(tmp_path: Path) -> None:
    go = shutil.which("go")
    assert go, "needs Go ≥ 1.19 (apt-get install golang-go; .ci/run installs it)"
    env = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.setdefault("GOCACHE", str(Path.home() / ".cache" / "go-build"))  # not the test's empty cache dir
    binary, source = tmp_path / "go-host", REPO / "examples" / "go-host"
    subprocess.run([go, "vet", "."], cwd=source, env=env, check=True)
    gofmt = shutil.which("gofmt") or "gofmt"
    unformatted = subprocess.run([gofmt, "-l", "."], cwd=source, capture_output=True, text=True, check=True).stdout
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=source, env=env, check=True)
    config = tmp_path / "plugins.yaml"
    section = {
        "directories": [str(REPO / d) for d in ("plugins_lua", "plugins_js", "plugins_py")],
        "storage": str(tmp_path / "storage.sqlite3"),
        "hot_reload": {"enabled": False},
        "monitoring": {"enabled": False},
    }
    config.write_text(yaml.safe_dump({"plugins": section}), encoding="utf-8")
    foxplug = Path(sys.executable).with_name("foxplug")

    run = subprocess.run(
        [str(binary), "-foxplug", str(foxplug), "-config", str(config), "-query", "twinkle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert unformatted == ""  # gofmt has nothing to change
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert 'search "twinkle": 1 results' in out
    assert "first: Twinkle, Twinkle, Little Star (demo-catalogue)" in out
    assert "lyrics from demo-lyrics: Twinkle, twinkle, little star," in out
    tone = (tmp_path / "cache" / "foxplug" / "tones" / "trad-twinkle.wav").as_uri()
    assert f"url from demo-catalogue: {tone}" in out
    assert "notify [now-playing] info: Now playing: Twinkle, Twinkle, Little Star — Traditional" in out
    assert "player request player.pause" in out  # quick-controls' fox.player.pause(), answered in Go
    assert 'after quick-controls\'s "Pause": paused' in out
    assert "expected error: PluginNotFound" in out
    assert out[-1] == "engine exited cleanly"
