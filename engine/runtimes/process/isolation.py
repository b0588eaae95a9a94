"""`isolation: process`: a Lua, JS or restricted-Python plugin served by the engine's worker (engine/runtimes/process/worker.py) in a
process of its own, under RLIMIT_AS and RLIMIT_CPU, killed at its deadline, behind the same Instance protocol.

Costs a process (~25 MB resident, ~0.15 s to start) and ~0.1 ms per call; buys what no in-runtime hook can:
a stall inside one native call (`10**10**10`, a catastrophic pattern) ends at the deadline, and a memory bomb
hits the worker's address-space limit, not the host's memory.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from engine.runtimes.base import Backend, HostLink, Limits, Source
from engine.runtimes.process.backend import environment
from engine.runtimes.process.child import Command
from engine.runtimes.process.supervisor import Supervisor, hello, spawn
from script_api.context import PluginContext

WORKER = Path(__file__).with_name("worker.py")


def isolated(backend: Backend) -> Callable[[Source, PluginContext, Limits], Supervisor]:
    """A `create` for the backend table's signature that runs `backend` in a worker process."""

    def create(source: Source, ctx: PluginContext, limits: Limits) -> Supervisor:
        link = HostLink(ctx)
        load = {
            "runtime": backend.name,
            "module": backend.create.__module__,  # where the worker finds this backend's row
            "path": str(source.path),
            "text": source.text,
            "limits": dataclasses.asdict(limits),
        }
        # -P: the worker's folder is not put on sys.path; cwd `/`: nothing of the plugin's folder is importable
        command = Command((sys.executable, "-P", str(WORKER)), Path("/"), environment(()))
        params = {**hello(link, limits), "load": load}
        launch = partial(spawn, command, link, limits, params, trusted=True)
        return Supervisor(link, limits, launch)

    return create
