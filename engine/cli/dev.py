"""`foxplug dev PATH [--call METHOD ARG...]`: the plugin author's loop — save, see it reload, see the result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from engine.config import Config
from engine.engine import Engine
from engine.errors import FoxplugError
from script_api.results import check_result


class DevSession:
    """Loads one plugin with hot reload on and reports every (re)load, and the probe call's result, to `out`."""

    def __init__(self, engine: Engine, path: Path, call: list[Any] | None, out: TextIO) -> None:
        """`out` gets one line per event: a (re)load, a failure, an unchanged save, the probe call's result and
        its problems, and everything the plugin prints or notifies."""
        self.engine = engine
        self.path = path.resolve()
        self.call = call
        self.out = out
        self._probes: set[asyncio.Task[None]] = set()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run(self, stop: asyncio.Event) -> None:
        events = (
            "plugin_loaded",
            "plugin_reloaded",
            "reload_failed",
            "load_failed",
            "plugin_unloaded",
            "plugin_unchanged",
        )
        for event in events:
            self.engine.on(event, lambda payload, event=event: self._report(event, payload))
        try:
            await self.engine.load(self.path)
        except FoxplugError as error:
            self._report("load_failed", {"error": error.to_dict()})
        self.engine.watch([self.path.parent], only=self.path)
        self.say(f"watching {self.path} — save to reload, Ctrl-C to stop")
        await stop.wait()

    def _report(self, event: str, payload: dict[str, Any]) -> None:
        if event == "plugin_loaded":
            self.say(f"loaded {payload['id']} {payload['version']} ({payload['runtime']})")
        elif event == "plugin_reloaded":
            self.say(
                f"reload ok: {payload['id']} {payload['version']} serving {payload['duration_ms']:.1f} ms after "
                f"the save (state {payload['state']})"
            )
        elif event in ("reload_failed", "load_failed"):
            error = payload["error"]
            keeps = " — the previous version keeps serving" if event == "reload_failed" else ""
            self.say(f"reload FAILED: {error['error']}: {error['message']}{keeps}")
            return
        elif event == "plugin_unloaded":
            self.say(f"unloaded {payload['id']} (file removed)")
            return
        elif event == "plugin_unchanged":
            self.say(f"unchanged: the save brings back {payload['id']} {payload['version']}, which is already running")
            return
        if self.call:
            task = asyncio.ensure_future(self._probe(payload["id"]))
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)

    async def _probe(self, plugin_id: str) -> None:
        method, *args = self.call or [""]
        shown = ", ".join(json.dumps(a) for a in args)
        try:
            result = check_result(method, await self.engine.call(plugin_id, method, *args), tuple(args))
        except FoxplugError as error:
            self.say(f"  {method}({shown}) -> {type(error).__name__}: {error}")
            return
        self.say(f"  {method}({shown}) -> {json.dumps(result.value, ensure_ascii=False)}")
        for problem in result.problems:
            self.say(f"  PluginError: {problem}")


def dev_engine(config: Config, grants: Iterable[str] = ()) -> Engine:
    """The configured engine without its plugin directories: only the plugin under development runs."""
    return Engine(replace(config, directories=(), auto_load=False, hot_reload=False), grants=grants)
