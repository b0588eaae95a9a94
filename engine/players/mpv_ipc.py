"""One mpv process and our end of its JSON IPC socket: commands matched to answers by `request_id`, and one
reader thread that consumes every line mpv writes on the socket and on stderr.

Every line is read because go-musicfox went silent after a dozen songs when its connection only wrote: mpv
stalled on a full socket. mpv gets its own end of a socketpair (`--input-ipc-client=fd://N`), never a fixed
socket path, so two engines never collide, and it quits when our end closes: it dies with the engine however the
engine ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import PlayerError

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 2.0
"""Seconds one IPC command may take; mpv answers in well under a millisecond when it is alive."""
STDERR_TAIL = 5


def mpv_version(path: str = "mpv") -> str | None:
    """`mpv 0.35.1 ...`'s version if `path` runs, else None (what `foxplug doctor` reports)."""
    executable = shutil.which(path)
    if executable is None:
        return None
    try:
        first = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = first.split()
    return words[1] if len(words) > 1 and words[0] == "mpv" else None


class MpvConnection:
    """One mpv process and our end of its socket; `on_message` and `on_exit` run on the reader thread."""

    def __init__(
        self,
        argv: Sequence[str],
        on_message: Callable[[dict[str, Any]], None],
        on_exit: Callable[[MpvConnection], None],
    ) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [*argv, f"--input-ipc-client=fd://{theirs.fileno()}"],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # `foxplug serve --stdio` owns stdout: protocol lines only
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C at the terminal reaches the engine, which stops mpv itself
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._socket = ours
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._ids = 0
        self.stderr: deque[str] = deque(maxlen=STDERR_TAIL)
        self.closed = False
        self._on_message, self._on_exit = on_message, on_exit
        self._reader = threading.Thread(target=self._read, name=f"foxplug-mpv-{self.process.pid}", daemon=True)
        self._reader.start()

    def command(self, *args: Any, timeout: float = COMMAND_TIMEOUT) -> Any:
        """Send one command and wait for its answer (matched by request_id); its `data`, or PlayerError."""
        done, answer = threading.Event(), []
        with self._send_lock:
            if self.closed:
                raise PlayerError(f"mpv is not running: {self.describe()}", hint="play a song to start it again")
            self._ids += 1
            request_id = self._ids
            self._pending[request_id] = (done, answer)
            try:
                self._socket.sendall(json.dumps({"command": list(args), "request_id": request_id}).encode() + b"\n")
            except OSError:
                self._pending.pop(request_id, None)
                raise PlayerError(
                    f"mpv is not running: {self.describe()}", hint="play a song to start it again"
                ) from None
        if not done.wait(timeout):
            self._pending.pop(request_id, None)
            raise PlayerError(f"mpv did not answer `{args[0]}` within {timeout:g} s", hint="is mpv stuck?")
        if not answer:
            raise PlayerError(f"mpv exited during `{args[0]}`: {self.describe()}", hint="play a song to start again")
        reply = answer[0]
        if reply.get("error") != "success":
            raise PlayerError(f"mpv refused `{' '.join(map(str, args))}`: {reply.get('error')}")
        return reply.get("data")

    def describe(self) -> str:
        code = self.process.poll()
        how = "it is still running" if code is None else f"it exited with status {code}"
        if code is not None and code < 0:
            how = f"it was killed by signal {-code}"
        last = f"; its last message: {self.stderr[-1]!r}" if self.stderr else ""
        return how + last

    def _read(self) -> None:
        """Every line mpv writes, on the socket and on stderr, until both end."""
        stderr = self.process.stderr
        assert stderr is not None
        streams = {self._socket.fileno(): bytearray(), stderr.fileno(): bytearray()}
        while streams:
            readable, _, _ = select.select(list(streams), [], [])
            for fd in readable:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # ECONNRESET when mpv is killed with data unread: the end, as an empty read
                    chunk = b""
                if not chunk:
                    del streams[fd]
                    continue
                buffer = streams[fd]
                buffer += chunk
                *lines, rest = buffer.split(b"\n")
                buffer[:] = rest
                for line in lines:
                    if fd == stderr.fileno():
                        self.stderr.append(line.decode("utf-8", "replace").strip())
                    elif line:
                        self._dispatch(line)
        self.process.wait()
        self._finish()

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            log.warning("mpv sent a line that is not JSON: %r", line[:80])
            return
        if "request_id" in message and "event" not in message:
            waiter = self._pending.pop(message["request_id"], None)
            if waiter is not None:
                waiter[1].append(message)
                waiter[0].set()
            return
        try:
            self._on_message(message)
        except Exception:  # a bug in event handling must not stop the reading, or mpv stalls
            log.exception("handling mpv's %s failed", message.get("event"))

    def _finish(self) -> None:
        with self._send_lock:
            self.closed = True
            pending, self._pending = self._pending, {}
        for done, _ in pending.values():
            done.set()
        self._socket.close()
        self._on_exit(self)

    def close(self) -> None:
        """Close our end: mpv quits; kill it if it has not within a second."""
        with self._send_lock:
            self.closed = True
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if threading.current_thread() is not self._reader:
            self._reader.join(1.0)
