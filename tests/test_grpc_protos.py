"""schemas/proto: the seed's proto kept exactly, completed so it compiles, and the committed Python modules
generated from the current .proto files."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from script_api.protos import build
from script_api.protos.foxplug.host.v1 import host_pb2
from script_api.protos.musicfox import plugin_pb2

REPO = Path(__file__).resolve().parent.parent
SEED = (REPO / "tests" / "data" / "seed_plugin.proto").read_text(encoding="utf-8")
_FIELD = re.compile(r"^\s*(repeated\s+)?(map<\s*\w+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", re.MULTILINE)
_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_FLOAT: "float",
}


def seed_messages() -> dict[str, dict[int, tuple[str, str, bool]]]:
    """{message: {number: (name, type, repeated)}} for every top-level message the seed defines."""
    messages = {}
    for match in re.finditer(r"^message (\w+) \{(.*?)^\}", SEED, re.MULTILINE | re.DOTALL):
        body = re.sub(r"enum \w+ \{.*?\}", "", match.group(2), flags=re.DOTALL)
        fields = {}
        for repeated, kind, name, number in _FIELD.findall(body):
            fields[int(number)] = (name, re.sub(r"\s+", "", kind), bool(repeated))
        messages[match.group(1)] = fields
    return messages


def type_of(field: FieldDescriptor) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return f"map<{type_of(key)},{type_of(value)}>"
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        full = field.message_type.full_name
        return full if full.startswith("google.") else field.message_type.name
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.name
    return _SCALARS[field.type]


def described(message: Descriptor) -> dict[int, tuple[str, str, bool]]:
    return {f.number: (f.name, type_of(f), f.is_repeated and not type_of(f).startswith("map<")) for f in message.fields}


def test_every_message_the_seed_defines_is_kept_exactly() -> None:
    ours = plugin_pb2.DESCRIPTOR.message_types_by_name
    seed = seed_messages()

    assert len(seed) == 12
    for name, fields in seed.items():
        assert described(ours[name]) == fields, name
    assert [v.name for v in ours["HealthResponse"].enum_types_by_name["Status"].values] == [
        "UNKNOWN",
        "SERVING",
        "NOT_SERVING",
        "SERVICE_UNKNOWN",
    ]


def test_the_seed_services_keep_every_rpc_and_every_referenced_message_is_defined() -> None:
    services = plugin_pb2.DESCRIPTOR.services_by_name
    seed_rpcs = re.findall(r"rpc (\w+)\(([\w.]+)\) returns \(([\w.]+)\)", SEED)
    seed_services = re.findall(r"^service (\w+)", SEED, re.MULTILINE)

    assert plugin_pb2.DESCRIPTOR.package == "musicfox.plugin"
    assert (
        seed_services
        == list(services)
        == ["PluginService", "MusicSourceService", "PlayerService", "UIExtensionService"]
    )
    ours = {
        (
            m.name,
            m.input_type.full_name.removeprefix("musicfox.plugin."),
            m.output_type.full_name.removeprefix("musicfox.plugin."),
        )
        for service in services.values()
        for m in service.methods
    }
    assert len(seed_rpcs) == 34
    for rpc, request, reply in seed_rpcs:
        assert (rpc, request, reply) in ours


def test_the_host_proto_offers_call_emit_events_and_the_player_bridge() -> None:
    host = host_pb2.DESCRIPTOR.services_by_name["Host"]
    methods = {m.name: (m.client_streaming, m.server_streaming) for m in host.methods}

    assert host_pb2.DESCRIPTOR.package == "foxplug.host.v1"
    assert methods == {
        "Call": (False, False),
        "Emit": (False, False),
        "Events": (False, True),
        "PlayerBridge": (True, True),
    }


def test_the_committed_python_modules_are_generated_from_the_current_protos(tmp_path: Path) -> None:
    fresh = build.generate(tmp_path)

    for path in fresh:
        committed = build.HERE / path.relative_to(tmp_path)
        assert path.read_text() == committed.read_text(), f"{committed} is stale: run python -m script_api.protos.build"
