"""What `foxplug` shows a person: plugin, result and lyrics tables, and the interactive console of `foxplug run`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from engine.cli.playback import Playback
from engine.cli.text import error_line, parse_arg
from engine.engine import Engine
from engine.errors import FoxplugError
from engine.running.plugin import PluginInfo
from script_api.lyrics import Lyrics

HELP = """\
search QUERY            search every source plugin
play N                  play result N of the last search (plugins hear song_changed); `play` alone: the queue
pause, resume, stop     control playback (mpv when plugins.player.backend is mpv, else a silent clock)
next, prev              the next or previous song of the queue
seek POSITION           jump to seconds (90) or minutes:seconds (1:30)
volume [N]              show or set the volume, 0-100
now                     what is playing, and where
lyrics [TITLE [- ARTIST]] lyrics of the current song (synced lines follow it), or of any song
plugins                 the loaded plugins
call ID METHOD [ARG...] call a plugin function; each ARG is JSON if it parses, else a string
menus                   menu entries from ui.menu plugins, numbered
action N | PLUGIN ID    run menu entry N of the last `menus`, or a plugin's action by id
status                  status-line segments from ui.status plugins
help                    this list
quit                    stop the engine and leave"""


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    cells = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    )


def permissions_text(permissions: Mapping[str, Any]) -> str:
    names = [name for name, value in permissions.items() if name != "network" and value is True]
    hosts = [f"network:{host}" for host in permissions.get("network", ())]
    return ", ".join(names + hosts) or "-"


def plugins_table(plugins: Iterable[Mapping[str, Any]]) -> str:
    """Rows of `PluginInfo.to_dict()` (or the same keys for plugins that failed to load)."""
    return table(
        ("ID", "VERSION", "RUNTIME", "STATE", "PROVIDES", "PERMISSIONS", "PATH"),
        (
            (
                p["id"],
                p["version"] or "-",
                p["runtime"] or "-",
                p["state"],
                ", ".join(p["provides"]) or "-",
                permissions_text(p["permissions"]),
                p["path"],
            )
            for p in plugins
        ),
    )


def _duration(ms: int | None) -> str:
    return f"{ms // 60000}:{ms // 1000 % 60:02d}" if ms else ""


def results_table(items: Sequence[Mapping[str, Any]]) -> str:
    """Numbered search results (`SearchResult.to_dict()["items"]`) of any type: songs, albums, playlists..."""
    rows = []
    for number, item in enumerate(items, 1):
        artists = item.get("artists") or []
        album = item.get("album") or {}
        rows.append(
            (
                number,
                item.get("title") or item.get("name") or item.get("id", ""),
                ", ".join(a.get("name", "") if isinstance(a, Mapping) else str(a) for a in artists),
                album.get("name", "") if isinstance(album, Mapping) else str(album),
                _duration(item.get("duration_ms")),
                item.get("source", ""),
            )
        )
    return table(("#", "TITLE", "ARTISTS", "ALBUM", "TIME", "SOURCE"), rows)


def _timestamp(ms: int) -> str:
    return f"[{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000 // 10:02d}]"


def lyrics_text(lyrics: Lyrics) -> str:
    """`[mm:ss.xx] text` per line; a translation follows on its own line under the same time. Plain lyrics as
    they are."""
    if not lyrics.lines and lyrics.plain:
        return lyrics.plain
    lines = []
    for line in lyrics.lines:
        lines.append(f"{_timestamp(line.time_ms)} {line.text}".rstrip())
        if line.translation:
            lines.append(f"{' ' * 10} {line.translation}")
    return "\n".join(lines)


def song_for_lyrics(title: str, artist: str | None) -> dict[str, Any]:
    """The song dict `get_lyrics(song)` receives when a person only typed a title and maybe an artist."""
    return {"title": title, "artists": [{"id": "", "name": artist}] if artist else []}


Command = Callable[[str], Awaitable[None]]


class Console:
    """The face of `foxplug run`: engine events as they happen, and commands read one per line."""

    def __init__(self, engine: Engine, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.engine = engine
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self.results: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        """The menu entries of the last `menus`, which `action N` runs."""
        self.playback = Playback(engine, self.show, lambda: self.results)
        self.commands: dict[str, Command] = {
            "search": self.search,
            "lyrics": self.lyrics,
            "plugins": self.plugins,
            "call": self.call,
            "menus": self.menus,
            "action": self.action,
            "status": self.status,
            "help": self.help,
            **self.playback.commands(),
        }

    def show(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run(self) -> None:
        """Until `quit` or end of input; `foxplug run` cancels it on Ctrl-C."""
        lines = _LineReader(prompt="fox> " if sys.stdin.isatty() else None)
        self.show("type `help` for commands, `quit` to leave")
        while (line := await lines.next()) is not None and line.strip() not in ("quit", "exit"):
            await self.execute(line.strip())

    async def execute(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        if not name:
            return
        command = self.commands.get(name)
        if command is None:
            print(f"unknown command `{name}`; type `help`", file=self.err, flush=True)
            return
        try:
            await command(rest.strip())
        except (FoxplugError, ValueError) as error:  # ValueError: shlex on unbalanced quotes
            print(error_line(error), file=self.err, flush=True)

    def notify(self, event: Mapping[str, Any]) -> None:
        """A plugin's `fox.ui.notify`, printed as it arrives."""
        self.show(f"[{event['plugin']}] {event.get('level', 'info')}: {event['text']}")

    def follow(self) -> None:
        """Print notifications and every load, reload and unload from now on (hot reload runs in the engine)."""
        self.engine.on("notify", self.notify)
        self.engine.on("plugin_loaded", lambda p: self.show(f"loaded {p['id']} {p['version']} ({p['runtime']})"))
        self.engine.on(
            "plugin_reloaded", lambda p: self.show(f"reloaded {p['id']} {p['version']} in {p['duration_ms']:.0f} ms")
        )
        self.engine.on("plugin_unloaded", lambda p: self.show(f"unloaded {p['id']}"))
        self.engine.on("load_failed", lambda p: self._failed(p["error"], ""))
        self.engine.on("reload_failed", lambda p: self._failed(p["error"], f" — {p['id']} keeps its running version"))

    def _failed(self, error: Mapping[str, Any], consequence: str) -> None:
        print(f"{error['error']}: {error['message']}{consequence}", file=self.err, flush=True)

    async def help(self, _: str) -> None:
        self.show(HELP)

    async def search(self, query: str) -> None:
        if not query:
            self.show("usage: search QUERY")
            return
        result = (await self.engine.search(query)).to_dict()
        self.results = result["items"]
        self.show(results_table(self.results) if self.results else "no results")
        for plugin, message in result["errors"].items():
            print(f"{plugin}: {message}", file=self.err, flush=True)

    async def lyrics(self, text: str) -> None:
        title, _, artist = (part.strip() for part in text.partition(" - "))
        if not title:
            song = await asyncio.to_thread(self.engine.player.current)
            if song is None:
                self.show("usage: lyrics TITLE [- ARTIST], or play a song first for its lyrics")
                return
            lyrics = await self.engine.lyrics(song)
            self.show(lyrics_text(lyrics) if lyrics else f"no lyrics found for {song.get('title')!r}")
            if lyrics is not None and lyrics.lines:
                await self.playback.follow_lyrics(lyrics, song)
            return
        lyrics = await self.engine.lyrics(song_for_lyrics(title, artist or None))
        self.show(lyrics_text(lyrics) if lyrics else "no lyrics found")

    async def plugins(self, _: str) -> None:
        infos: list[PluginInfo] = self.engine.plugins
        self.show(plugins_table(p.to_dict() for p in infos) if infos else "no plugins loaded")

    async def call(self, text: str) -> None:
        words = shlex.split(text)
        if len(words) < 2:
            self.show("usage: call ID METHOD [ARG...]")
            return
        result = await self.engine.call(words[0], words[1], *map(parse_arg, words[2:]))
        self.show(json.dumps(result, indent=2, ensure_ascii=False))

    async def _ctx(self) -> dict[str, Any]:
        return {"song": await asyncio.to_thread(self.engine.player.current)}

    async def menus(self, _: str) -> None:
        self.entries = await self.engine.ui.menus(await self._ctx())
        rows = [(n, e["plugin"], e["id"], e["label"]) for n, e in enumerate(self.entries, 1)]
        self.show(table(("#", "PLUGIN", "ID", "LABEL"), rows) if rows else "(no menu entries)")

    async def action(self, text: str) -> None:
        words = text.split()
        if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= len(self.entries):
            entry = self.entries[int(words[0]) - 1]
            plugin, action_id = entry["plugin"], entry["id"]
        elif len(words) == 2:
            plugin, action_id = words
        else:
            count = f" (1 to {len(self.entries)})" if self.entries else "; `menus` lists them"
            self.show(f"usage: action N, a menu entry of the last `menus`{count}, or action PLUGIN ID")
            return
        result = await self.engine.ui.action(plugin, action_id, await self._ctx())
        self.show(json.dumps(result, ensure_ascii=False) if result is not None else f"{plugin}: {action_id} done")

    async def status(self, _: str) -> None:
        player = self.engine.player
        state = await asyncio.to_thread(
            lambda: {"state": player.state(), "position_ms": player.position(), "song": player.current()}
        )
        segments = await self.engine.ui.status(state)
        self.show(" | ".join(s["text"] for s in segments) or "(no status segments)")


class _LineReader:
    """Lines of stdin, read by a daemon thread so a blocked read never keeps the process from exiting on
    Ctrl-C. The thread reads only when asked, so the prompt shows after a command's output, not before it.
    With a prompt (a TTY), `input` gives line editing."""

    def __init__(self, prompt: str | None) -> None:
        self._prompt = prompt
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        if prompt is not None:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (importing it turns on line editing and history for input())
        threading.Thread(target=self._read, name="foxplug-console", daemon=True).start()

    async def next(self) -> str | None:
        """The next line, or None at end of input."""
        self._wanted.release()
        return await self._lines.get()

    def _read(self) -> None:
        line: str | None = ""
        while line is not None:
            self._wanted.acquire()
            try:
                line = input(self._prompt) if self._prompt is not None else sys.stdin.readline() or None
            except EOFError:
                line = None
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:  # the loop closed while we waited for input
                return
