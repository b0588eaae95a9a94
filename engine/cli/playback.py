"""The console as a player: play, pause, skip and seek the engine's player, and lyrics that follow the song.

Player calls may wait for mpv (a round trip of well under a millisecond, bounded at 2 s), so they run on a worker
thread and the console's loop keeps printing notifications meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from engine.engine import Engine
from script_api.lyrics import Lyrics

FOLLOW_INTERVAL = 0.1
"""Seconds between looks at the position while lyrics follow the song."""

Show = Callable[[str], None]


def clock(ms: int | None) -> str:
    return f"{ms // 60000}:{ms // 1000 % 60:02d}" if ms is not None else "-:--"


def parse_position(text: str) -> int:
    """`90`, `1:30` or `01:30.5` -> milliseconds; ValueError says what is expected."""
    try:
        minutes, _, seconds = text.rpartition(":")
        return round((int(minutes or 0) * 60 + float(seconds)) * 1000)
    except ValueError:
        raise ValueError(f"{text!r} is not a position: give seconds (90) or minutes:seconds (1:30)") from None


class Playback:
    """Commands on `engine.player`; `results` gives the songs of the console's last search."""

    def __init__(self, engine: Engine, show: Show, results: Callable[[], Sequence[dict[str, Any]]]) -> None:
        self.engine, self.show, self._results = engine, show, results
        self._following: asyncio.Task[None] | None = None

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "play": self.play,
            "pause": self._control("pause"),
            "resume": self._control("resume"),
            "stop": self._control("stop"),
            "next": self._control("next"),
            "prev": self._control("previous"),
            "seek": self.seek,
            "volume": self.volume,
            "now": self.now,
        }

    async def _player(self, method: str, *args: Any) -> Any:
        return await asyncio.to_thread(getattr(self.engine.player, method), *args)

    def _control(self, method: str) -> Callable[[str], Awaitable[None]]:
        async def control(_: str) -> None:
            await self._player(method)
            await self.now("")

        return control

    async def play(self, number: str) -> None:
        results = self._results()
        if not number:
            await self._control("play")("")
            return
        if not results:
            self.show("nothing to play: search first")
            return
        if not number.isdigit() or not 1 <= int(number) <= len(results):
            self.show(f"usage: play N, with N from 1 to {len(results)} (the results of the last search)")
            return
        song = results[int(number) - 1]
        await self._player("play", song)  # the player tells the plugins (song_changed) and fetches the URL
        self.show(f"playing {song.get('title') or song.get('name')} ({song.get('source')})")

    async def seek(self, text: str) -> None:
        if not text:
            self.show("usage: seek SECONDS or seek M:SS")
            return
        await self._player("seek", parse_position(text))
        await self.now("")

    async def volume(self, text: str) -> None:
        if text:
            if not text.isdigit():
                self.show("usage: volume 0-100")
                return
            await self._player("set_volume", int(text))
        self.show(f"volume {await self._player('volume')}")

    async def now(self, _: str) -> None:
        player = self.engine.player
        song = await self._player("current")
        if song is None:
            self.show(f"{await self._player('state')}: nothing queued")
            return
        length = getattr(player, "duration_ms", None) or song.get("duration_ms")
        position = await self._player("position")
        state = await self._player("state")
        self.show(f"{state}: {song.get('title') or song.get('id')} {clock(position)} / {clock(length)}")

    async def follow_lyrics(self, lyrics: Lyrics, song: dict[str, Any]) -> None:
        """Print each synced line as the position passes it, until the song changes or playback stops."""
        self.stop_following()
        self._following = asyncio.ensure_future(self._follow(lyrics, song))

    def stop_following(self) -> None:
        if self._following is not None:
            self._following.cancel()
            self._following = None

    async def _follow(self, lyrics: Lyrics, song: dict[str, Any]) -> None:
        shown = -1
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                current = await self._player("current")
                if current is None or current.get("id") != song.get("id"):
                    return
                if await self._player("state") == "stopped":
                    return
                position = await self._player("position")
                reached = [i for i, line in enumerate(lyrics.lines) if line.time_ms <= position]
                if reached and reached[-1] != shown:
                    shown = reached[-1]
                    self.show(f"♪ {lyrics.lines[shown].text}")
                await asyncio.sleep(FOLLOW_INTERVAL)
