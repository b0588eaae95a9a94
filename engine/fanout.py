"""The one ask-many loop (as pluggy's `_multicall`): ask plugins the same function, all at once, or one at a
time by priority until the first accepted answer (`first_result`). Search, lyrics, `ui.*` and events use it;
what differs is a flag and what they do with the replies. Also the merged answer of a fan-out search.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from engine.errors import FoxplugError, PluginError
from engine.running.plugin import Plugin
from script_api.types import Playlist, songs_from_plugin

_NORMALISERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="foxplug-normalise")
"""Where answers are checked and reshaped: work that grows with what a plugin returned never runs on the event loop,
and has its own threads so it cannot starve the default executor (DNS lookups, reload swaps)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One plugin's answer, or the exception its call raised (never both)."""

    plugin: Plugin
    value: Any = None
    error: Exception | None = None


async def ask(
    plugins: Sequence[Plugin],
    function: str,
    args: tuple[Any, ...] | Callable[[Plugin], tuple[Any, ...]] = (),
    *,
    first_result: bool = False,
    accept: Callable[[Plugin, Any], Any] | None = None,
    timeout: float | None = None,
) -> list[Reply]:
    """Every plugin's reply, in the order given. `args` are the same for all, or made per plugin by a function of
    it. `accept(plugin, answer)` turns an answer into the value kept (None: no answer), off the event loop;
    whatever it raises becomes that plugin's `PluginError`. With
    `first_result`, plugins are asked in turn and asking stops at the first that answers; the replies up to it
    are returned, the answer last."""

    async def one(plugin: Plugin) -> Reply:
        try:
            value = await plugin.call(function, args(plugin) if callable(args) else args, timeout)
            if accept is not None:
                value = await asyncio.get_running_loop().run_in_executor(
                    _NORMALISERS, _accepted, accept, plugin, function, value
                )
            return Reply(plugin, value)
        except Exception as error:  # a plugin's failure is its reply; cancellation passes through
            return Reply(plugin, error=error)

    tracer = plugins[0].tracer if plugins else None
    if tracer is None:
        return await _ask_all(plugins, one, first_result)
    with tracer.start_as_current_span(f"foxplug.ask {function}", attributes={"foxplug.plugins": len(plugins)}):
        return await _ask_all(plugins, one, first_result)  # each call's span is a child: one trace per ask


async def _ask_all(
    plugins: Sequence[Plugin], one: Callable[[Plugin], Awaitable[Reply]], first_result: bool
) -> list[Reply]:
    if not first_result:
        return list(await asyncio.gather(*map(one, plugins)))
    replies = []
    for plugin in plugins:
        replies.append(reply := await one(plugin))
        if reply.error is None and reply.value:
            break
    return replies


def _accepted(accept: Callable[[Plugin, Any], Any], plugin: Plugin, function: str, answer: Any) -> Any:
    """Every field of an answer is hostile: any failure to read it (a bad type, a number past 2**53, nesting past
    the recursion limit, a bug of ours tripped by odd data) costs only this plugin's answer."""
    try:
        return accept(plugin, answer)
    except FoxplugError:
        raise
    except Exception as exc:
        reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        raise PluginError(f"{function}() returned {reason[:500]}", plugin=plugin.id) from None


@dataclass
class SearchResult:
    """Merged items in provider order, and what went wrong per plugin (never raised)."""

    items: list[Any] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, reply: Reply) -> None:
        """One source's normalised items (see `search_items`), or its failure as that source's error."""
        if reply.error is not None:
            self.errors[reply.plugin.id] = f"{type(reply.error).__name__}: {reply.error}"
        else:
            self.items.extend(reply.value)

    def to_dict(self) -> dict[str, Any]:
        items = [item.to_dict() if hasattr(item, "to_dict") else item for item in self.items]
        return {"items": items, "errors": dict(self.errors)}


def search_items(kind: str, limit: int) -> Callable[[Plugin, Any], list[Any]]:
    """The `accept` of a search: a source's answer as at most `limit` items of `kind`, stamped with its id."""

    def accept(plugin: Plugin, answer: Any) -> list[Any]:
        return _normalise(answer, kind, plugin.id)[:limit]

    return accept


def _normalise(answer: Any, kind: str, source: str) -> list[Any]:
    if kind == "song":
        return songs_from_plugin(answer, source=source, path="search()")
    items = answer.get("items", []) if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ValueError(f"search(): expected a list of {kind}s, got {type(items).__name__}")
    if kind == "playlist":
        return [Playlist.from_plugin(item, path=f"search()[{i}]") for i, item in enumerate(items)]
    return [{**item, "source": source} if isinstance(item, dict) else item for item in items]
