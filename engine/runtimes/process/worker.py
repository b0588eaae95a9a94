"""The child side of `isolation: process`: one Lua, JS or restricted-Python plugin in a process of its own, served
over the plugin protocol (docs/protocol.md) under RLIMIT_AS and RLIMIT_CPU, so the host can kill it at its deadline.

engine.runtimes.process.isolation runs this file as a script (`python -P engine/runtimes/process/worker.py`) with no environment but PYTHONPATH.
The `initialize` request carries what to load (`load`: runtime, path, source text, limits); every `fox.*` call
the plugin makes goes back to the host, where the permission gate is.
"""

from __future__ import annotations

import importlib.util
import math
import os
import resource
import sys
import time
import types
from typing import Any

MEMORY_HEADROOM = 64 << 20
"""Address space beyond the plugin's memory limit, for the interpreter's own work (JSON, tracebacks)."""


def _skip_host_modules() -> None:
    """Import only what a runtime needs, so a worker starts in ~0.1 s instead of ~0.9 s.

    The `engine` and `engine.runtimes` packages become bare packages (their __init__ imports the whole host and
    every runtime), and the module behind `fox.http` (aiohttp) a stand-in: host functions never run here.
    """
    runtimes = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name, path in (("engine", os.path.dirname(runtimes)), ("engine.runtimes", runtimes)):
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(path, "__init__.py"), submodule_search_locations=[path]
        )
        assert spec is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)  # created, never executed
    stand_in = types.ModuleType("script_api.host.http", "fox.http runs in the host, not in a worker")
    stand_in.__getattr__ = lambda name: _runs_in_the_host  # type: ignore[method-assign]
    sys.modules["script_api.host.http"] = stand_in


def _runs_in_the_host(*args: Any) -> Any:
    raise RuntimeError("host functions run in the host; a worker forwards every fox.* call to it")


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    _skip_host_modules()
    from pathlib import Path

    from engine import errors
    from engine.runtimes.base import Limits, Source, run_start_hooks
    from script_api.context import PluginContext
    from script_api.sdk import PLUGIN_ERROR, CallError, HostError, connect

    connection = connect()
    loaded: dict[str, Any] = {}

    def forward(ctx: PluginContext, name: str, args: Any) -> Any:
        try:
            return connection.request("fox." + name, list(args))
        except HostError as error:  # the host's own error, by class, so the runtime reports it as it would there
            raise (errors.error_class(error.kind) or errors.PluginError)(error.message) from None

    def failure(error: errors.FoxplugError) -> CallError:
        return CallError(error.message, PLUGIN_ERROR, error.wire_data())

    def initialize(params: dict[str, Any]) -> list[str]:
        load, plugin = params["load"], params["plugin"]
        limits = Limits(**load["limits"])
        ceiling = _vm_size() + limits.memory + MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
        backend = importlib.import_module(load["module"]).BACKEND
        ctx = PluginContext(
            plugin_id=plugin["id"],
            version=plugin["version"],
            path=plugin["path"],
            config=params["values"]["config"],
            grants=None,
            gate=None,  # type: ignore[arg-type]
            services=None,  # type: ignore[arg-type]
            route=forward,
        )
        source = Source(Path(load["path"]), load["text"])
        loaded.update(create=lambda: backend.create(source, ctx, limits), config=ctx.config, timeout=limits.timeout)
        try:
            loaded["instance"] = loaded["create"]()
        except errors.FoxplugError as error:
            raise failure(error) from None
        return sorted(loaded["instance"].exports())

    def renew() -> None:
        """After a limit the runtime may be in any state: a fresh one, as Plugin._replace does in a thread."""
        old = loaded.pop("instance", None)
        if old is not None:
            old.close()
        instance = loaded["instance"] = loaded["create"]()
        run_start_hooks(instance.exports(), instance.call, loaded["config"], loaded["timeout"])
        loaded["stale"] = False

    def call(function: str, args: list[Any], timeout: float) -> Any:
        # A backstop should the host be unable to kill us: SIGXCPU a second past this call's CPU budget.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        budget = math.ceil(usage.ru_utime + usage.ru_stime + timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (budget, resource.RLIM_INFINITY))
        try:
            if loaded.get("stale"):
                renew()  # until it succeeds, every call tries again
            return loaded["instance"].call(function, tuple(args), time.monotonic() + timeout)
        except (errors.PluginTimeout, errors.ResourceLimitExceeded) as error:
            loaded["stale"] = True
            raise failure(error) from None
        except errors.FoxplugError as error:
            raise failure(error) from None

    connection.run(call, initialize)


if __name__ == "__main__":
    main()
