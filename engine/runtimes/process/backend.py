"""`runtime: process`: a plugin that is a program of its own, speaking JSON-RPC on stdin/stdout (docs/protocol.md).

Its source is its plugin.yaml: `command` (the program and its arguments), `cwd` (relative to the plugin's
folder) and `env` (names of host variables it may see; nothing else of the host's environment reaches it).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import Any

import yaml

import script_api
from engine.errors import ManifestError
from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.process.child import Command
from engine.runtimes.process.supervisor import Supervisor, hello, spawn
from script_api.context import PluginContext

SDK_ROOT = Path(script_api.__file__).resolve().parent.parent
"""Put on every child's PYTHONPATH, so `from script_api.sdk import serve` works in a Python plugin."""
_PYTHON = ("python", "python3")


def _program(name: str, folder: Path, manifest: Path) -> str:
    """`python` is the engine's own interpreter (it has the SDK, and works in a venv that is not activated);
    a name with a slash is inside the plugin's folder; any other name is looked up on the host's PATH."""
    if name in _PYTHON:
        return sys.executable
    if "/" in name:
        program = (folder / name).resolve()
        if program.is_file():
            return str(program)
        raise ManifestError(
            f"command {name!r} is not a file in the plugin's folder", file=str(manifest), field="command"
        )
    found = shutil.which(name)
    if found is None:
        raise ManifestError(
            f"command {name!r} is not on the PATH",
            file=str(manifest),
            field="command",
            hint=f"install {name}, or give its full path as the first item of `command`",
        )
    return found


def environment(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Only the listed host variables, plus what the protocol needs: the SDK on PYTHONPATH."""
    env = {name: os.environ[name] for name in names if name in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(SDK_ROOT), env.get("PYTHONPATH"))))
    return env


def command_of(source: Source) -> Command:
    spec: dict[str, Any] = yaml.safe_load(source.text)  # plugin.yaml, validated against the schema already
    folder = source.path.parent
    argv = list(spec["command"])
    argv[0] = _program(argv[0], folder, source.path)
    cwd = (folder / spec.get("cwd", ".")).resolve()
    if not cwd.is_dir():
        raise ManifestError(f"cwd {spec['cwd']!r} is not a folder", file=str(source.path), field="cwd")
    return Command(tuple(argv), cwd, environment(spec.get("env", ())))


def create(source: Source, ctx: PluginContext, limits: Limits) -> Supervisor:
    link = HostLink(ctx)
    return Supervisor(link, limits, partial(spawn, command_of(source), link, limits, hello(link, limits)))


BACKEND = Backend(
    name="process",
    extensions=(),
    front_matter=re.compile(r"(?!)"),  # always a folder with a plugin.yaml
    create=create,
    manifest_is_source=True,
    needs_one_of=("command",),
    needs_hint="e.g. command: [python, main.py] or command: [node, main.js]",
)
