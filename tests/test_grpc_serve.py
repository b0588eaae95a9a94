"""`foxplug serve --grpc` (ARCHITECTURE §3.9): a player written in any language reaches the engine through
the seed's proto and foxplug.host.v1, with a client built from the .proto files alone."""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf.empty_pb2 import Empty
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from script_api.protos.foxplug.host.v1 import host_pb2, host_pb2_grpc
from script_api.protos.musicfox import plugin_pb2 as pb
from script_api.protos.musicfox import plugin_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parent.parent
REMOTE_CONTROL = """\
--[[---
id: remote-control
version: 1.0.0
permissions: {player.control: true, player.read: true, events.emit: true}
---]]
local M = {}
function M.pause_and_tell() fox.player.pause(); return fox.player.state() end
function M.shout(text) fox.events.emit("shouted", {text = text}); return true end
function M.menus(ctx) return {{id = "pause-now", label = "Pause now"}} end
function M.on_action(id, ctx) return "did " .. id end
return M
"""
BROKEN_SOURCE = """\
--[[---
id: broken-source
version: 1.0.0
provides: [search]
---]]
return { search = function(query) error("the catalogue server is down") end }
"""


class Served:
    def __init__(self, process: subprocess.Popen[str], handshake: str) -> None:
        self.process = process
        self.handshake = handshake
        self.address = handshake.split("|")[3]
        self.channel = grpc.insecure_channel(self.address)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "remote_control.lua").write_text(REMOTE_CONTROL, encoding="utf-8")
    (plugins / "broken_source.lua").write_text(BROKEN_SOURCE, encoding="utf-8")
    shutil.copy(REPO / "plugins_lua" / "demo_catalogue.lua", plugins)
    config = tmp_path / "plugins.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "plugins": {
                    "directories": [str(plugins)],
                    "storage": str(tmp_path / "storage.sqlite3"),
                    "hot_reload": {"enabled": False},
                    "monitoring": {"listen": "127.0.0.1:0"},
                }
            }
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", "--grpc", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    handshake = process.stdout.readline().strip()
    served = Served(process, handshake)
    yield served
    served.channel.close()
    if process.poll() is None:
        process.kill()
    process.wait(5)


def test_it_prints_the_handshake_then_answers_search_and_health_from_the_proto(served: Served) -> None:
    source = pb_grpc.MusicSourceServiceStub(served.channel)
    health = health_pb2_grpc.HealthStub(served.channel)

    found, call = source.Search.with_call(pb.SearchRequest(query="beethoven", limit=10), timeout=10)
    errors = json.loads(dict(call.trailing_metadata())["foxplug-errors-bin"])
    song = found.songs[0]
    url = source.GetSongURL(pb.SongURLRequest(song_id=song.id, song=song), timeout=10)
    plugin_health = health.Check(health_pb2.HealthCheckRequest(service="plugin"), timeout=5)
    overall = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    info = pb_grpc.PluginServiceStub(served.channel).GetInfo(Empty(), timeout=5)
    listing = reflection_pb2_grpc.ServerReflectionStub(served.channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    services = {s.name for s in next(listing).list_services_response.service}

    assert served.handshake.startswith("1|1|tcp|127.0.0.1:") and served.handshake.endswith("|grpc")
    assert [s.id for s in found.songs] == ["beethoven-fur-elise", "beethoven-moonlight", "beethoven-fifth"]
    assert {s.source for s in found.songs} == {"demo-catalogue"} and found.songs[0].artist
    assert url.url == "tone:beethoven-fur-elise"  # asked of the song's own source
    assert list(errors) == ["broken-source"] and "the catalogue server is down" in errors["broken-source"]
    assert plugin_health.status == overall.status == health_pb2.HealthCheckResponse.SERVING
    assert info.id == "foxplug" and "search" in info.capabilities
    assert {"musicfox.plugin.MusicSourceService", "foxplug.host.v1.Host", "grpc.health.v1.Health"} <= services


def test_host_call_returns_json_and_errors_carry_their_class(served: Served) -> None:
    host = host_pb2_grpc.HostStub(served.channel)

    url = host.Call(
        host_pb2.CallRequest(plugin="demo-catalogue", method="get_song_url", args_json='["satie-gymnopedie-1"]'),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as caught:
        host.Call(host_pb2.CallRequest(plugin="nobody", method="search"), timeout=10)

    assert json.loads(url.result_json) == "tone:satie-gymnopedie-1"
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details().startswith("PluginNotFound: no plugin `nobody`")
    assert ("foxplug-error-type", "PluginNotFound") in [(m.key, m.value) for m in caught.value.trailing_metadata()]


def test_plugins_drive_the_player_through_the_bridge_and_events_reach_the_player(served: Served) -> None:
    host = host_pb2_grpc.HostStub(served.channel)
    replies: queue.Queue[host_pb2.PlayerReply | None] = queue.Queue()
    replies.put(host_pb2.PlayerReply(id=0))  # opens the bridge
    commands: list[tuple[str, str]] = []

    def outgoing() -> Iterator[host_pb2.PlayerReply]:
        while (reply := replies.get()) is not None:
            yield reply

    bridge = host.PlayerBridge(outgoing())

    def player() -> None:  # the player's side: answer every command, until the stream ends
        with contextlib.suppress(grpc.RpcError):  # cancelled when the test closes its channel
            for command in bridge:
                commands.append((command.method, command.params_json))
                result = json.dumps("paused") if command.method == "state" else ""
                replies.put(host_pb2.PlayerReply(id=command.id, result_json=result))

    answering = threading.Thread(target=player, daemon=True)
    answering.start()
    events = host.Events(host_pb2.EventsRequest(names=["shouted"]), timeout=20)
    call = host_pb2.CallRequest(plugin="remote-control", method="pause_and_tell")
    state = _eventually_bridged(host, call)
    host.Call(host_pb2.CallRequest(plugin="remote-control", method="shout", args_json='["hi"]'), timeout=10)
    event = next(events)
    replies.put(None)  # the player leaves: the bridge ends
    events.cancel()
    answering.join(5)

    assert json.loads(state.result_json) == "paused"
    assert ("pause", "") in commands and ("state", "") in commands
    assert event.name == "shouted" and json.loads(event.payload_json) == {
        "plugin": "remote-control",
        "payload": {"text": "hi"},
    }


def _eventually_bridged(host: host_pb2_grpc.HostStub, call: host_pb2.CallRequest) -> host_pb2.CallResponse:
    """The bridge opens asynchronously: until it has, the engine's own player answers (`paused` too)."""
    import time

    deadline = time.monotonic() + 10
    while True:
        answer = host.Call(call, timeout=10)
        if json.loads(answer.result_json) == "paused" or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_go_plugin_streams_stay_open_and_a_shutdown_call_ends_the_server(served: Served) -> None:
    stdio = served.channel.unary_stream("/plugin.GRPCStdio/StreamStdio")(Empty().SerializeToString(), timeout=0.5)
    with pytest.raises(grpc.RpcError) as caught:
        next(stdio)
    pb_grpc.PluginServiceStub(served.channel).Shutdown(Empty(), timeout=5)

    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # open, silent; not UNIMPLEMENTED
    assert served.process.wait(10) == 0


def test_it_serves_on_a_unix_socket_and_refuses_the_network_without_tls(tmp_path: Path) -> None:
    socket_path = tmp_path / "foxplug.sock"
    config = tmp_path / "plugins.yaml"
    config.write_text(
        yaml.safe_dump(
            {"plugins": {"directories": [], "storage": str(tmp_path / "s.sqlite3"), "hot_reload": {"enabled": False}}}
        ),
        encoding="utf-8",
    )
    engine = [sys.executable, "-m", "engine", "--config", str(config), "serve"]
    open_to_all = subprocess.run([*engine, "--grpc", "0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    process = subprocess.Popen([*engine, "--grpc", f"unix:{socket_path}"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        handshake = process.stdout.readline().strip()
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="plugin"), timeout=5
            )
    finally:
        process.terminate()
        code = process.wait(10)

    assert open_to_all.returncode == 1 and open_to_all.stdout == ""
    assert open_to_all.stderr.startswith("ConfigError: ") and "--tls-cert" in open_to_all.stderr
    assert handshake == f"1|1|unix|{socket_path}|grpc"
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    assert code == 0


def test_menus_of_every_plugin_and_their_actions(served: Served) -> None:
    ui = pb_grpc.UIExtensionServiceStub(served.channel)

    menus = ui.GetMenuItems(pb.MenuRequest(), timeout=10)
    done = ui.HandleMenuAction(pb.MenuActionRequest(action_id="pause-now"), timeout=10)

    assert [(item.id, item.title, item.metadata["plugin"]) for item in menus.items] == [
        ("pause-now", "Pause now", "remote-control")
    ]
    assert done.success and done.message == "did pause-now"
