"""What the sources answer: a fan-out search, the first lyrics, a song's URL. Each is one use of the one
ask-many loop (engine.fanout), with its own policy for the answers; the Engine's methods of the same names
delegate here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from engine.errors import FoxplugError, PluginError
from engine.fanout import Reply, SearchResult, ask, search_items
from engine.players.tones import is_tone, tone_file
from engine.running.plugin import Plugin
from script_api.lyrics import Lyrics
from script_api.player import song_dict
from script_api.types import Song, media_source_from_plugin

log = logging.getLogger(__name__)


class Sources:
    def __init__(self, ordered: Callable[[str | None], list[Plugin]]) -> None:
        self._ordered = ordered
        """The engine's plugins by priority, those providing a capability (None: all)."""

    async def search(
        self, query: str, *, type: str = "song", limit: int = 20, timeout: float | None = None
    ) -> SearchResult:
        """Ask every `search` provider at once; a slow or failing one costs only its own entry in `errors`."""
        result = SearchResult()
        for reply in await ask(
            self._ordered("search"),
            "search",
            (query, {"type": type, "limit": limit}),
            accept=search_items(type, limit),
            timeout=timeout,
        ):
            result.add(reply)
        return result

    async def lyrics(
        self, song: Mapping[str, Any] | Song, *, timeout: float | None = None, failures: dict[str, str] | None = None
    ) -> Lyrics | None:
        """The first `lyrics` provider, by priority, that answers with lyrics (its id in `Lyrics.source`).
        Providers that failed are logged, and named with their error in `failures` when one is given."""

        def parsed(plugin: Plugin, answer: Any) -> Lyrics | None:
            return Lyrics.from_plugin(answer, path="get_lyrics()") if answer else None

        replies = await ask(
            self._ordered("lyrics"), "get_lyrics", (song_dict(song),), first_result=True, accept=parsed, timeout=timeout
        )
        answer = _first_answer(replies, "lyrics", failures)
        return replace(answer.value, source=answer.plugin.id) if answer is not None else None

    async def song_url(
        self, song: Mapping[str, Any] | Song, quality: str | None = None, *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        """`{url, headers, source}` for a song: its own source first, then the other `song_url` providers by
        priority, then the song's own `url`; None if there is none. When none answers and the song's own source
        failed, its error is raised. Plugins of other ecosystems are given the whole song (their item is its
        `extra`). A `tone:NAME` URL (the demo catalogue's) becomes a wav file written on first use."""
        data = song_dict(song)
        source = data.get("source")

        def arguments(plugin: Plugin) -> tuple[Any, ...]:
            return (data if plugin.manifest.backend.song_url_takes_song else str(data.get("id", "")), quality)

        replies = await ask(
            sorted(self._ordered("song_url"), key=lambda p: p.id != source),
            "get_song_url",
            arguments,
            first_result=True,
            accept=lambda plugin, answer: media_source_from_plugin(answer, source="", path="get_song_url()"),
            timeout=timeout,
        )
        answer = _first_answer(replies, "song_url")
        if answer is not None:
            found = {**answer.value, "source": answer.plugin.id}
        elif (own := next((r for r in replies if r.plugin.id == source and r.error is not None), None)) is not None:
            if isinstance(own.error, FoxplugError):
                raise own.error
            raise PluginError(f"get_song_url() returned {own.error}", plugin=own.plugin.id)
        elif isinstance(data.get("url"), str) and data["url"]:
            found = {"url": data["url"], "headers": {}, "source": source or ""}
        else:
            return None
        if not is_tone(found["url"]):
            return found
        try:
            return {**found, "url": await asyncio.to_thread(tone_file, found["url"])}  # ms of writing, once a tone
        except ValueError as error:
            log.warning("song_url from %s failed: %s", found["source"], error, extra={"plugin": found["source"]})
            return None


def _first_answer(replies: list[Reply], capability: str, failures: dict[str, str] | None = None) -> Reply | None:
    """The answer of a first-result ask, if one came; the providers that failed on the way, whatever the failure,
    are logged (one provider's failure costs only its answer), and named with their error in `failures` when one
    is given."""
    for reply in replies:
        if reply.error is not None:
            kind = type(reply.error).__name__
            log.warning(
                "%s from %s failed: %s: %s",
                capability,
                reply.plugin.id,
                kind,
                reply.error,
                extra={"plugin": reply.plugin.id},
            )
            if failures is not None:
                failures[reply.plugin.id] = f"{kind}: {reply.error}"
    last = replies[-1] if replies else None
    return last if last is not None and last.error is None and last.value is not None else None
