"""Installing plugins from a signed index served on 127.0.0.1, as a user does it: through `foxplug` itself."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp import web

LIB_B = """\
id: lib-b
version: {version}
entry: main.lua
"""
LIB_B_MAIN = (
    'return {{ answer = function(x) return {{ from = "lib-b", version = "{version}", doubled = x * 2 }} end }}\n'
)
APP_A = """\
/*---
id: app-a
version: {version}
dependencies: {{lib-b: "{range}"}}
permissions: {{plugins.call: true}}
compatibility: {{engine: ">=0.1"}}
---*/
export async function ask(x) {{ return await fox.plugins.call("lib-b", "answer", x); }}
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@dataclass
class World:
    root: Path
    site: Path
    config: Path
    url: str
    key: Path

    @property
    def install_dir(self) -> Path:
        return self.root / "installed"

    @property
    def lockfile(self) -> Path:
        return self.config.parent / "plugins.lock.json"

    async def foxplug(self, *args: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine", "--config", str(self.config), *args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return Result(process.returncode or 0, out.decode(), err.decode())

    async def ok(self, *args: str) -> Result:
        result = await self.foxplug(*args)
        assert result.code == 0, result.err
        return result

    def source(self, name: str) -> Path:
        folder = self.root / "src" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def lib_b(self, version: str) -> Path:
        folder = self.source(f"lib-b-{version}")
        (folder / "lib-b").mkdir()
        (folder / "lib-b" / "plugin.yaml").write_text(LIB_B.format(version=version))
        (folder / "lib-b" / "main.lua").write_text(LIB_B_MAIN.format(version=version))
        return folder

    def app_a(self, version: str, range: str = "^1.0") -> Path:
        folder = self.source(f"app-a-{version}")
        (folder / "app_a.js").write_text(APP_A.format(version=version, range=range))
        return folder

    async def publish(self, *sources: Path, expires_days: str = "30") -> None:
        for source in sources:
            await self.ok("index", "build", str(source), "--out", str(self.site), "--name", "community",
                          "--expires-days", expires_days)  # fmt: skip
        await self.ok("index", "sign", str(self.site / "index.json"), "--key", str(self.key))

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the install, and the lockfile: what must not change when something is refused."""
        installs = [p for base in self.root.glob("installed*") for p in base.rglob("*")]  # with .versions
        files = {str(p.relative_to(self.root)): p.read_bytes() for p in installs if p.is_file()}
        files["lock"] = self.lockfile.read_bytes() if self.lockfile.exists() else b""
        return files


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    site = tmp_path / "site"
    site.mkdir()
    app = web.Application()
    app.router.add_static("/", site)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = tmp_path / "cfg" / "plugins.yaml"
    config.parent.mkdir()
    config.write_text("plugins: {}\n")
    world = World(tmp_path, site, config, f"http://127.0.0.1:{port}", tmp_path / "keys" / "idx.key")
    keys = await world.ok("index", "keygen", "--out", str(tmp_path / "keys" / "idx"), "--json")
    world.write_config = lambda key=keys.json["public_key"], **registry: _write_config(world, key, **registry)  # type: ignore[attr-defined]
    world.write_config()  # type: ignore[attr-defined]
    yield world
    await runner.cleanup()


def _write_config(world: World, key: str | None, verify: bool = False, **registry: object) -> None:
    index = {"url": f"{world.url}/index.json", **({"key": key} if key else {})}
    section = {
        "directories": [],
        "storage": str(world.root / "storage.sqlite3"),
        "monitoring": {"enabled": False},
        "security": {"signature_verification": verify},
        "registry": {
            "indexes": {"community": index},
            "install_dir": str(world.install_dir),
            "cache_dir": str(world.root / "cache"),
            "timeout": "10s",
            **registry,
        },
    }
    world.config.write_text(yaml.safe_dump({"plugins": section}))


async def test_install_picks_the_highest_fitting_versions_and_the_plugins_work(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.lib_b("1.2.0"), world.lib_b("2.0.0"), world.app_a("1.0.0"))
    result = await world.ok("install", "app-a", "--json")
    assert sorted((c["id"], c["new"]) for c in result.json) == [("app-a", "1.0.0"), ("lib-b", "1.2.0")]
    lock = json.loads(world.lockfile.read_text())["plugins"]
    assert {pid: entry["version"] for pid, entry in lock.items()} == {"app-a": "1.0.0", "lib-b": "1.2.0"}
    assert lock["lib-b"]["index"] == "community" and len(lock["lib-b"]["sha256"]) == 64
    assert lock["lib-b"]["url"] == f"{world.url}/lib-b-1.2.0.zip"
    answer = await world.ok("call", "app-a", "ask", "21")  # install_dir loads like a configured directory
    assert json.loads(answer.out) == {"from": "lib-b", "version": "1.2.0", "doubled": 42}


async def test_outdated_update_and_rollback_follow_a_newer_index(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    assert (await world.ok("outdated", "--json")).json == []
    await world.publish(world.lib_b("1.1.0"), world.lib_b("2.0.0"))
    assert (await world.ok("outdated", "--json")).json == [
        {"id": "lib-b", "installed": "1.0.0", "latest": "2.0.0", "index": "community"}
    ]
    update = await world.ok("update")
    assert "updated lib-b 1.0.0 -> 1.1.0" in update.out  # app-a's ^1.0 keeps lib-b below 2.0.0
    assert json.loads(world.lockfile.read_text())["plugins"]["lib-b"]["version"] == "1.1.0"
    assert json.loads((await world.ok("call", "app-a", "ask", "1")).out)["version"] == "1.1.0"
    rolled = await world.ok("rollback", "lib-b", "--installed")
    assert "lib-b 1.1.0 -> 1.0.0" in rolled.out
    assert json.loads((await world.ok("call", "app-a", "ask", "1")).out)["version"] == "1.0.0"


async def test_uninstalling_a_dependency_is_refused_naming_its_dependents(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    before = world.snapshot()
    result = await world.foxplug("uninstall", "lib-b")
    assert result.code == 1
    assert result.err.startswith("DependencyError:") and "`app-a`" in result.err
    assert world.snapshot() == before
    await world.ok("uninstall", "app-a")
    await world.ok("uninstall", "lib-b")
    assert json.loads(world.lockfile.read_text()) == {"plugins": {}}


async def test_a_version_conflict_names_who_asked_for_what(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0", range="^2.0"))
    result = await world.foxplug("install", "app-a")
    assert result.code == 1
    assert result.err.startswith("DependencyError: no version of `app-a` satisfies you asked for `app-a` *")
    assert "`app-a 1.0.0` needs `lib-b` ^2.0, which no index has (`lib-b`: 1.0.0)" in result.err


async def _installed_then_refused(world: World, error: str, *, args: tuple[str, ...] = ("update",)) -> Result:
    """Each refusal below happens after a working install, which must go on serving unchanged."""
    before = world.snapshot()
    result = await world.foxplug(*args)
    assert result.code == 1, result.out
    assert result.err.startswith(f"{error}:"), result.err
    assert world.snapshot() == before
    assert json.loads((await world.ok("call", "app-a", "ask", "1")).out)["version"] == "1.0.0"
    return result


async def test_a_wrong_key_is_refused(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    other = await world.ok("index", "keygen", "--out", str(world.root / "keys" / "other"), "--json")
    await world.publish(world.lib_b("1.1.0"))
    world.write_config(key=other.json["public_key"])  # type: ignore[attr-defined]
    result = await _installed_then_refused(world, "SignatureError")
    assert "but the trusted key is" in result.err


async def test_a_tampered_artifact_is_refused(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    await world.publish(world.lib_b("1.1.0"))
    artifact = world.site / "lib-b-1.1.0.zip"
    data = bytearray(artifact.read_bytes())
    data[-30] ^= 0xFF  # same size, other bytes
    artifact.write_bytes(bytes(data))
    result = await _installed_then_refused(world, "ChecksumMismatch")
    assert "has sha256" in result.err


async def test_a_lower_serial_is_refused(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    old = {name: (world.site / name).read_bytes() for name in ("index.json", "index.json.minisig")}
    await world.publish(world.lib_b("1.1.0"))
    await world.ok("install", "app-a", "lib-b@1.0.0")  # sees serial 3
    for name, data in old.items():  # a mirror replays the signed serial-2 index
        (world.site / name).write_bytes(data)
    result = await _installed_then_refused(world, "StaleIndex")
    assert "serial 2, lower than 3" in result.err


async def test_an_expired_index_is_refused(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    await world.publish(world.lib_b("1.1.0"), expires_days="-1")
    result = await _installed_then_refused(world, "StaleIndex")
    assert "expired at" in result.err


async def test_a_zip_escaping_its_folder_is_refused(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    await world.publish(world.lib_b("1.1.0"))
    evil = world.site / "lib-b-1.1.0.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("lib-b/plugin.yaml", LIB_B.format(version="1.1.0"))
        archive.writestr("lib-b/main.lua", LIB_B_MAIN.format(version="1.1.0"))
        archive.writestr("../../escaped.lua", "return {}")
    index = json.loads((world.site / "index.json").read_text())
    release = next(v for v in index["plugins"]["lib-b"]["versions"] if v["version"] == "1.1.0")
    release.update(sha256=hashlib.sha256(evil.read_bytes()).hexdigest(), size=evil.stat().st_size)
    (world.site / "index.json").write_text(json.dumps(index))
    await world.ok("index", "sign", str(world.site / "index.json"), "--key", str(world.key))
    result = await _installed_then_refused(world, "UnsafeArchive")
    assert "climbs out of its folder" in result.err
    assert not list(world.root.rglob("escaped.lua"))


async def test_restore_reinstalls_exactly_the_lockfile_offline_without_touching_it(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.lib_b("1.3.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a", "lib-b@~1.0")
    lock_before = (world.lockfile.read_bytes(), world.lockfile.stat().st_mtime_ns)
    shutil.rmtree(world.install_dir)
    shutil.rmtree(world.site)  # offline: nothing to fetch from
    result = await world.ok("restore", "--json")
    assert sorted((c["id"], c["new"], c["action"]) for c in result.json) == [
        ("app-a", "1.0.0", "restored"),
        ("lib-b", "1.0.0", "restored"),
    ]
    assert (world.lockfile.read_bytes(), world.lockfile.stat().st_mtime_ns) == lock_before
    assert json.loads((await world.ok("call", "app-a", "ask", "3")).out)["doubled"] == 6


async def test_install_by_url_records_the_sha256_and_update_refetches_it(world: World) -> None:
    plugin = world.site / "solo.lua"
    plugin.write_text('--[[---\nid: solo\nversion: 1.0.0\n---]]\nreturn { hi = function() return "one" end }\n')
    result = await world.ok("install", f"{world.url}/solo.lua")
    assert "installed solo 1.0.0" in result.out
    entry = json.loads(world.lockfile.read_text())["plugins"]["solo"]
    assert entry["index"] is None and entry["url"] == f"{world.url}/solo.lua" and len(entry["sha256"]) == 64
    assert json.loads((await world.ok("call", "solo", "hi")).out) == "one"
    plugin.write_text('--[[---\nid: solo\nversion: 1.1.0\n---]]\nreturn { hi = function() return "two" end }\n')
    update = await world.ok("update", "solo")
    assert "solo 1.0.0 -> 1.1.0" in update.out
    assert json.loads((await world.ok("call", "solo", "hi")).out) == "two"


async def test_signature_verification_refuses_an_index_without_a_key(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"))
    world.write_config(key=None, verify=True)  # type: ignore[attr-defined]
    result = await world.foxplug("install", "lib-b")
    assert result.code == 1 and result.err.startswith("SignatureError:")
    assert "signature_verification" in result.err


async def test_an_index_signed_by_minisign_itself_verifies(world: World) -> None:
    await world.ok("index", "build", str(world.lib_b("1.0.0")), "--out", str(world.site))
    keys = world.root / "ms"
    keys.mkdir()
    subprocess.run(
        ["minisign", "-G", "-W", "-p", keys / "k.pub", "-s", keys / "k.key"], check=True, capture_output=True
    )
    subprocess.run(
        ["minisign", "-S", "-s", keys / "k.key", "-m", world.site / "index.json", "-t", "serial:1"],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    world.write_config(key=(keys / "k.pub").read_text().splitlines()[1])  # type: ignore[attr-defined]
    await world.ok("install", "lib-b")


async def test_a_running_engine_serves_what_is_installed_and_updated(world: World) -> None:
    from engine import Engine

    await world.publish(world.lib_b("1.0.0"))
    await world.ok("install", "lib-b")
    failures: list[dict] = []
    async with Engine.from_config(world.config) as fox:
        fox.on("load_failed", failures.append)
        assert fox.plugin("lib-b").version == "1.0.0"
        await world.publish(world.lib_b("1.1.0"))
        await world.ok("update")
        for _ in range(100):  # the switch is a rename in a watched directory: a hot reload
            if fox.plugin("lib-b").version == "1.1.0":
                break
            await asyncio.sleep(0.05)
        assert (await fox.call("lib-b", "answer", 1))["version"] == "1.1.0"
    assert failures == []


async def test_a_version_the_index_withdraws_stays_installed_and_does_not_block_other_installs(world: World) -> None:
    await world.publish(world.lib_b("1.0.0"), world.app_a("1.0.0"))
    await world.ok("install", "app-a")
    index = json.loads((world.site / "index.json").read_text())
    del index["plugins"]["lib-b"]  # withdrawn by the publisher
    index["serial"] += 1
    (world.site / "index.json").write_text(json.dumps(index))
    await world.ok("index", "sign", str(world.site / "index.json"), "--key", str(world.key))
    solo = world.source("solo")
    (solo / "solo.lua").write_text(
        "--[[---\nid: solo\nversion: 1.0.0\n---]]\nreturn { hi = function() return 1 end }\n"
    )
    await world.publish(solo)
    await world.ok("install", "solo")
    lock = json.loads(world.lockfile.read_text())["plugins"]
    assert {pid: entry["version"] for pid, entry in lock.items()} == {
        "app-a": "1.0.0",
        "lib-b": "1.0.0",
        "solo": "1.0.0",
    }
