"""`MpvPlayer`: the Player protocol (script_api.player) over mpv's JSON IPC (engine.players.mpv_ipc), one mpv
per engine.

    stopped ──play──▶ playing ◀──pause/resume──▶ paused
       ▲                 │ end of file: next song in the queue (song_changed), or stopped after the last
       └──stop / mpv exits (lost: control calls raise PlayerError; the next play starts a new mpv)

Rules:
- The queue is ours: mpv plays one file at a time (`loadfile ... replace`), and only the end of the file loaded
  last moves the queue on (a replaced file also ends, with reason `stop`).
- Resolving a song's URL may call a plugin, maybe the very plugin whose `fox.player.play` is running, so songs are
  loaded on a thread of their own and `play` returns at once; a newer `play` makes older loads moot (generation).
- mpv's reader thread never waits for the player's lock (whoever holds it may be waiting for the reader to bring
  an answer): what needs the lock is handed to the loader thread.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import PlayerError
from engine.players.mpv_ipc import MpvConnection
from script_api.player import PlayerHooks, song_dict

READY_TIMEOUT = 5.0
OBSERVED = ("time-pos", "volume", "duration")
"""What reads report without a round trip. Not `pause`: we are mpv's only controller (no terminal, no other
client), so our state is the truth, and mpv's change events would only arrive late and contradict it."""
BASE_ARGS = ("--idle=yes", "--no-video", "--force-window=no", "--input-terminal=no", "--msg-level=all=error")


class MpvPlayer:
    """Plays through one mpv it starts on the first `play`; safe to call from any thread."""

    def __init__(self, path: str = "mpv", args: Sequence[str] = ()) -> None:
        self.path = path
        self.args = tuple(args)
        self.queue: list[dict[str, Any]] = []
        self._index = -1
        self._state = "stopped"
        self._volume = 100
        self._position_ms = 0
        self.duration_ms: int | None = None
        """The current file's length as mpv found it (None until it is loaded)."""
        self._generation = 0
        self._entry: int | None = None
        """mpv's playlist_entry_id of the file loaded last: only its end moves the queue on."""
        self._lock = threading.RLock()
        self._mpv: MpvConnection | None = None
        self._lost: str | None = None
        """Why mpv went away when nobody asked it to; control calls say so until the next play."""
        self._errors: deque[str] = deque(maxlen=3)
        """mpv's error messages since the current song started (`request_log_messages error`): why it failed."""
        self._hooks = PlayerHooks()
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="foxplug-mpv-load")
        self._closed = False

    # Player protocol: reads come from what mpv reported (observed properties), never a round trip.

    def state(self) -> str:
        return self._state

    def position(self) -> int:
        return self._position_ms

    def volume(self) -> int:
        return self._volume

    def current(self) -> dict[str, Any] | None:
        with self._lock:
            return self.queue[self._index] if 0 <= self._index < len(self.queue) else None

    def play(self, song: Mapping[str, Any] | Any | None = None) -> None:
        """Play `song` (appended to the queue), or the current song of the queue; returns before it loads."""
        with self._lock:
            if song is not None:
                self.queue.append(song_dict(song))
                self._index = len(self.queue) - 1
            elif self._index < 0 and self.queue:
                self._index = 0
            if self._index < 0:
                return
            self._start(self._index)

    def pause(self) -> None:
        with self._lock:
            self._check_lost()
            if self._state == "playing":
                self._command("set_property", "pause", True)
                self._set_state("paused")

    def resume(self) -> None:
        with self._lock:
            self._check_lost()
            if self._state == "paused":
                self._command("set_property", "pause", False)
                self._set_state("playing")

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            self._entry, self._lost = None, None
            self._command("stop")
            self._position_ms = 0
            self._set_state("stopped")

    def seek(self, position_ms: int) -> None:
        with self._lock:
            self._check_lost()
            if self._state != "stopped":
                self._command("seek", max(0, int(position_ms)) / 1000, "absolute")
                self._position_ms = max(0, int(position_ms))

    def set_volume(self, volume: int) -> None:
        with self._lock:
            self._volume = max(0, min(100, int(volume)))
            self._command("set_property", "volume", self._volume)

    def next(self) -> None:
        self._step(1)

    def previous(self) -> None:
        self._step(-1)

    # What the engine gives it, and how it ends.

    def bind(self, hooks: PlayerHooks) -> None:
        self._hooks = hooks

    def close(self) -> None:
        """Stop mpv and wait for it to be gone (the engine calls this as it closes)."""
        with self._lock:
            self._closed = True
            self._generation += 1
            connection, self._mpv = self._mpv, None
        self._loader.shutdown(wait=True, cancel_futures=True)
        if connection is not None:
            connection.close()

    def get(self, name: str) -> Any:
        """One mpv property as mpv has it now (a round trip): `pause`, `path`, `volume`, `idle-active`..."""
        return self._live().command("get_property", name)

    def _live(self) -> MpvConnection:
        connection = self._mpv
        if connection is None or connection.closed:
            raise PlayerError(
                self._lost or "mpv is not running: nothing was played yet", hint="play a song to start it"
            )
        return connection

    @property
    def pid(self) -> int | None:
        """mpv's process id while it runs."""
        connection = self._mpv
        return connection.process.pid if connection is not None and not connection.closed else None

    def start(self) -> float:
        """Start mpv now rather than on the first play; returns the seconds it took to answer."""
        started = time.perf_counter()
        with self._lock:
            self._connect()
        return time.perf_counter() - started

    # Inside.

    def _step(self, delta: int) -> None:
        with self._lock:
            if self.queue:
                self._start((self._index + delta) % len(self.queue))

    def _start(self, index: int) -> None:
        """Make `index` the current song and have the loader thread open it (holding the lock)."""
        self._index = index
        self._generation += 1
        self._position_ms, self.duration_ms = 0, None
        song = self.queue[index]
        self._errors.clear()
        self._later(self._load, song, self._generation)
        self._hooks.emit("song_changed", song)
        self._set_state("playing")

    def _set_state(self, state: str) -> None:
        """The one place the state changes (holding the lock); plugins hear `player_state` when it does."""
        if state != self._state:
            self._state = state
            self._hooks.emit("player_state", state)

    def _load(self, song: dict[str, Any], generation: int) -> None:
        """On the loader thread: the song's URL (maybe from its plugin), then `loadfile` unless a newer play came."""
        title = song.get("title") or song.get("id") or "?"
        try:
            url = song.get("url") or self._hooks.resolve(song)
        except Exception as error:  # whatever failed, the user hears why and the next song plays
            url, why = None, f"{type(error).__name__}: {error}"
        else:
            why = "no plugin gave a URL for it"
        with self._lock:
            if generation != self._generation or self._closed:
                return
            if not url:
                self._skip(f"cannot play {title!r}: {why}")
                return
            try:
                connection = self._connect()
                answer = connection.command("loadfile", url, "replace")
                self._entry = answer.get("playlist_entry_id") if isinstance(answer, dict) else None
                connection.command("set_property", "pause", self._state == "paused")  # it outlives a file in mpv
            except (PlayerError, OSError) as error:
                self._set_state("stopped")
                self._hooks.notify(f"cannot play {title!r}: {error}", "error")

    def _skip(self, why: str) -> None:
        """A song that cannot be played: say so, and move on to the next one (or stop after the last)."""
        self._hooks.notify(why, "warn")
        if self._index + 1 < len(self.queue):
            self._start(self._index + 1)
        else:
            self._entry = None
            self._set_state("stopped")

    def _connect(self) -> MpvConnection:
        """The running mpv, or a new one that has answered (observing what state() and position() report)."""
        if self._mpv is not None and not self._mpv.closed:
            return self._mpv
        if shutil.which(self.path) is None:
            raise PlayerError(
                f"mpv not found: {self.path!r} is not an executable on PATH",
                field="plugins.player.mpv.path",
                hint="install mpv (apt-get install mpv) or set plugins.player.backend: null",
            )
        argv = [self.path, *BASE_ARGS, f"--volume={self._volume}", *self.args]
        connection = MpvConnection(argv, self._on_message, self._on_exit)
        try:
            for number, name in enumerate(OBSERVED, 1):
                connection.command("observe_property", number, name, timeout=READY_TIMEOUT)
            connection.command("request_log_messages", "error")  # its errors, not the audio libraries' chatter
        except PlayerError as error:
            connection.close()
            raise PlayerError(
                f"mpv did not start: {connection.describe()}",
                field="plugins.player.mpv.args",
                hint=f"try `{' '.join(argv)}` in a terminal to see why",
            ) from error
        self._mpv, self._lost = connection, None
        return connection

    def _check_lost(self) -> None:
        """After mpv went away by itself, control calls say so (once it was noticed) until the next play."""
        if self._lost:
            raise PlayerError(self._lost, hint="play a song to start mpv again")

    def _command(self, *args: Any) -> None:
        """A command to the running mpv; with none running there is nothing to change (it starts on play)."""
        if self._mpv is not None and not self._mpv.closed:
            self._mpv.command(*args)

    def _on_message(self, message: dict[str, Any]) -> None:
        """On the reader thread, which must never wait for the player's lock (whoever holds it may be waiting
        for the reader to bring an answer): plain values are stored here, the rest goes to the loader thread."""
        event = message.get("event")
        if event == "property-change":
            name, data = message.get("name"), message.get("data")
            if name == "time-pos" and isinstance(data, int | float):
                self._position_ms = int(data * 1000)
            elif name == "volume" and isinstance(data, int | float):
                self._volume = round(data)
            elif name == "duration":
                self.duration_ms = int(data * 1000) if isinstance(data, int | float) else None
        elif event == "end-file":
            self._later(self._ended, message)
        elif event == "log-message" and isinstance(message.get("text"), str):
            self._errors.append(message["text"].strip())

    def _later(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # closing: nothing more to do
            self._loader.submit(fn, *args)

    def _ended(self, message: dict[str, Any]) -> None:
        """mpv finished a file; only the one loaded last matters: at its end play the next song, or stop."""
        with self._lock:
            if self._entry is None or message.get("playlist_entry_id") != self._entry:
                return
            self._entry = None
            if message.get("reason") == "error":
                song = self.current() or {}
                why = message.get("file_error") or "it could not be opened"
                if self._errors:  # mpv's own words: `Cannot open file '/x.wav': No such file or directory`
                    why += f" (mpv: {'; '.join(self._errors)})"
                self._skip(f"cannot play {song.get('title') or song.get('id')!r}: {why}")
            elif message.get("reason") == "eof":
                if self._index + 1 < len(self.queue):
                    self._start(self._index + 1)
                else:
                    self._position_ms = 0
                    self._set_state("stopped")

    def _on_exit(self, connection: MpvConnection) -> None:
        self._later(self._exited, connection)

    def _exited(self, connection: MpvConnection) -> None:
        with self._lock:
            if self._mpv is not connection or self._closed:
                return
            self._mpv, self._entry = None, None
            self._lost = f"mpv exited: {connection.describe()}"
            was_playing = self._state != "stopped"
            self._set_state("stopped")
        if was_playing:
            self._hooks.notify(f"{self._lost} — play a song to start it again", "error")
