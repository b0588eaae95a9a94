"""Generate the Python modules of schemas/proto into this folder (committed; run after editing a .proto):

    python -m script_api.protos.build

The modules are committed rather than built at install time so that a checkout, an editable install and a
plugin process run without grpcio-tools; tests/test_grpc_protos.py fails when they drift from the .proto files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "schemas" / "proto"
PROTOS = ("musicfox/plugin.proto", "foxplug/host/v1/host.proto")
_IMPORT = re.compile(r"^from (musicfox|foxplug)((?:\.\w+)*) import", re.MULTILINE)


def generate(out: Path = HERE) -> list[Path]:
    """Run protoc (from grpcio-tools) and make the generated imports absolute inside this package."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
    if protoc.main([*args, f"--pyi_out={out}", *PROTOS]) != 0:
        raise SystemExit("protoc failed")
    written = []
    for proto in PROTOS:
        stem = out / proto.removesuffix(".proto")
        for path in (stem.with_name(stem.name + "_pb2.py"), stem.with_name(stem.name + "_pb2_grpc.py")):
            text = _IMPORT.sub(r"from script_api.protos.\1\2 import", path.read_text())
            path.write_text(text)
            written.append(path)
        written.append(stem.with_name(stem.name + "_pb2.pyi"))
    for folder in {p.parent for p in written}:
        while folder != out:
            (folder / "__init__.py").touch()
            folder = folder.parent
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
