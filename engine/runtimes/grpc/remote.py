"""A plugin that is a service running elsewhere (`target:`): the engine connects, never starts or stops it."""

from __future__ import annotations

import logging
from typing import Any

from engine.errors import PluginCrashed
from engine.runtimes.grpc.client import ServiceClient

log = logging.getLogger(__name__)


class RemoteService:
    """The Instance of a `target:` plugin.

    `init` and `start` reaching no address do not fail the load: the plugin stays loaded, its calls fail with
    PluginCrashed (and its breaker opens) until an address is SERVING, and `init`/`start` are sent before the
    first call that gets through, so a service that comes up later still gets its config.
    """

    _DEFERRABLE = ("init", "start")

    def __init__(self, client: ServiceClient, exports: frozenset[str]) -> None:
        self._client = client
        self._exports = exports
        self._pending: dict[str, tuple[Any, ...]] = {}

    def call(self, name: str, args: tuple[Any, ...], deadline: float) -> Any:
        if name in self._DEFERRABLE:
            self._pending[name] = args
            try:
                self._flush(deadline)
            except PluginCrashed as error:
                log.warning(
                    "%s; %s() is sent when it answers", error, name, extra={"plugin": self._client.link.ctx.plugin_id}
                )
            return None
        self._flush(deadline)
        return self._client.call(name, args, deadline)

    def _flush(self, deadline: float) -> None:
        for name in self._DEFERRABLE:
            if name in self._pending:
                self._client.call(name, self._pending[name], deadline)
                del self._pending[name]

    def exports(self) -> frozenset[str]:
        return self._exports

    def memory_used(self) -> int | None:
        return None  # in another process, maybe on another machine

    def close(self) -> None:
        self._client.channel.close()
