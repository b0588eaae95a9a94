"""A plugin process: started in its own process group with only the environment it is given, tied to the host's
life, spoken to over stdin/stdout as a Channel, its stderr pumped line by line into the plugin's log.

On Linux the program runs under a keeper (reaper.py), a subreaper that ends the program's whole tree, including
descendants that left its process group with `setsid()`, when the plugin stops and when the host dies, even by
SIGKILL. Elsewhere the process group is all there is: a descendant that calls `setsid()` can outlive the plugin."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import math
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.runtimes.process.rpc import ChannelClosed, FrameTooLarge

log = logging.getLogger(__name__)

MAX_LOG_LINE = 4096
"""Bytes of one stderr line kept in a log record; the rest of a longer line is cut."""
STDERR_TAIL = 20
"""stderr lines remembered for the message that explains a crash."""
SHUTDOWN_GRACE = 0.2
"""Seconds a plugin has to exit after `shutdown` and the end of its stdin, before its group is killed."""
_READ_CHUNK = 65536
_SHUTDOWN = b'{"jsonrpc":"2.0","method":"shutdown"}'

_PR_SET_PDEATHSIG = 1
try:
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None
_REAPER = Path(__file__).with_name("reaper.py")
KEEPER_GRACE = 2.0
"""Seconds the keeper has to end the program's tree after SIGTERM before the group is SIGKILLed."""


def _kept(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The command line that runs `argv` under the keeper, where the keeper works (Linux)."""
    if _prctl is None:
        return argv
    return (sys.executable, "-S", "-I", str(_REAPER), *argv)


@dataclass(frozen=True)
class Command:
    """What to start: the program and its arguments, where, and the whole environment it gets."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]


def _in_child(parent: int) -> Callable[[], None]:
    """Runs between fork and exec: die with the host, and write no core files.

    PR_SET_PDEATHSIG fires when the *thread* that forked exits; plugins are started from their actor's or
    their supervisor's thread, both of which outlive the process they start.
    """

    def setup() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:  # the host died before the guard was armed
                os._exit(1)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return setup


_LIVE: set[Child] = set()


@atexit.register
def _kill_all() -> None:
    """A host that exits without closing its engine still leaves no plugin process behind."""
    for child in list(_LIVE):
        child.close()


class Child:
    """One running plugin process; implements `engine.runtimes.process.rpc.Channel` over its stdin/stdout."""

    def __init__(self, command: Command, logger: logging.Logger, max_message: int) -> None:
        self._kept = _prctl is not None
        self._process = subprocess.Popen(
            _kept(command.argv),
            cwd=command.cwd,
            env=dict(command.env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # its own process group: one killpg ends everything it started
            preexec_fn=_in_child(os.getpid()),
        )
        _LIVE.add(self)
        self.pid = self._process.pid
        assert self._process.stdin and self._process.stdout and self._process.stderr
        self._to = self._process.stdin.fileno()
        self._from = self._process.stdout.fileno()
        os.set_blocking(self._to, False)
        os.set_blocking(self._from, False)
        try:
            self.exit_fd: int | None = os.pidfd_open(self.pid)
            """Readable once the process has exited (even if a grandchild still holds its stdout)."""
        except (AttributeError, OSError):
            self.exit_fd = None
        self._poll = select.poll()
        self._poll.register(self._from, select.POLLIN)
        if self.exit_fd is not None:
            self._poll.register(self.exit_fd, select.POLLIN)
        self._buffer = bytearray()
        self._scanned = 0
        self._max = max_message
        self._closed = False
        self._killed = False
        self._stopped_by_host = False
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self._logger = logger
        self._pump = threading.Thread(
            target=self._pump_log, args=(self._process.stderr, logger), name=f"foxplug:stderr:{self.pid}"
        )
        self._pump.daemon = True
        self._pump.start()

    def send(self, data: bytes, deadline: float) -> bool:
        data += b"\n"
        try:
            written = os.write(self._to, data)
        except BlockingIOError:
            written = 0
        except OSError:
            raise ChannelClosed from None
        while written < len(data):  # the pipe is full: the plugin is not reading
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self._to], [], left)[1]:
                return False
            try:
                written += os.write(self._to, memoryview(data)[written:])
            except BlockingIOError:
                continue
            except OSError:
                raise ChannelClosed from None
        return True

    def receive(self, deadline: float) -> bytes | None:
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(buffer)
            if self._scanned > self._max:
                raise FrameTooLarge(self._max)
            left = deadline - time.monotonic()
            if left <= 0 or not self._poll.poll(math.ceil(left * 1000)):
                if time.monotonic() >= deadline:
                    return None
                continue
            try:  # never more than the cap (+1, to tell "exactly the cap" from "over it") is held
                chunk = os.read(self._from, min(_READ_CHUNK, self._max + 1 - len(buffer)))
            except BlockingIOError:  # only the exit fd is readable: it is gone
                raise ChannelClosed from None
            except OSError:
                raise ChannelClosed from None
            if not chunk:
                raise ChannelClosed
            if not buffer and chunk.find(b"\n") == len(chunk) - 1:  # the usual: exactly one whole message
                return chunk[:-1]
            buffer += chunk

    def log_stdout(self) -> None:
        """From now on stdout is log lines, like stderr: for programs whose stdout carried only a handshake
        (gRPC plugins, engine/runtimes/grpc/launch.py); it is drained, so a chatty plugin never blocks on it."""
        os.set_blocking(self._from, True)
        pending, self._buffer = bytes(self._buffer), bytearray()
        threading.Thread(
            target=self._pump_log,
            args=(self._process.stdout, self._logger, "stdout", pending),
            name=f"foxplug:stdout:{self.pid}",
            daemon=True,
        ).start()

    def _pump_log(self, stream: object, logger: logging.Logger, name: str = "stderr", pending: bytes = b"") -> None:
        """Each line of `stream` as a log record of the plugin's logger (`stream` names it in `extra`)."""
        fd = stream.fileno()  # type: ignore[attr-defined]
        extra = {"plugin": logger.name.removeprefix("foxplug.plugin."), "stream": name, "pid": self.pid}
        while True:
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except OSError:
                break
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            if len(pending) > MAX_LOG_LINE:
                lines.append(pending)
                pending = b""
            for line in lines:
                text = line[:MAX_LOG_LINE].decode("utf-8", "replace").rstrip("\r")
                text += "…" if len(line) > MAX_LOG_LINE else ""
                self._stderr_tail.append(text)
                logger.info("%s", text, extra=extra)
        if pending:
            text = pending[:MAX_LOG_LINE].decode("utf-8", "replace")
            self._stderr_tail.append(text)
            logger.info("%s", text, extra=extra)

    def _running(self) -> bool:
        if self.exit_fd is not None:  # asks without reaping, so the group id cannot be reused before killpg
            return os.waitid(os.P_PIDFD, self.exit_fd, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        return self._process.poll() is None

    def kill(self) -> None:
        """End the program and everything it started, without waiting for it (`close` reaps it): the keeper is
        asked (it SIGKILLs the whole tree at once); without one, the process group is SIGKILLed."""
        if self._killed:
            return
        self._killed = True
        try:
            self._stopped_by_host = self._running()
        except ChildProcessError:
            self._stopped_by_host = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self._kept:
                os.kill(self.pid, signal.SIGTERM)
            else:
                os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill the program's whole tree now and reap the process."""
        if self._closed:
            return
        self._closed = True
        self.kill()
        try:
            self._process.wait(timeout=KEEPER_GRACE if self._kept else 5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # a keeper that does not answer: its group, at least
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("plugin process %d did not die after SIGKILL", self.pid)
        self._pump.join(0.5)  # the rest of its stderr, for `describe`
        streams = [self._process.stdin, self._process.stdout]
        if not self._pump.is_alive():
            streams.append(self._process.stderr)
        for stream in streams:
            if stream is not None:
                stream.close()
        if self.exit_fd is not None:
            os.close(self.exit_fd)
        _LIVE.discard(self)

    def shutdown(self) -> None:
        """Ask it to exit (`shutdown`, then end of input), wait a moment, then kill what is left of its group."""
        if self._closed:
            return
        with contextlib.suppress(ChannelClosed):
            self.send(_SHUTDOWN, time.monotonic() + 0.05)
        with contextlib.suppress(OSError):
            self._process.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=SHUTDOWN_GRACE)
        self.close()

    def describe(self, when: str = "") -> str:
        """How it ended, and its last stderr line: `the process exited with status 1{when}; its last stderr
        line: ValueError: ...`."""
        if not self._closed and self.exit_fd is not None:  # its stdout closes a moment before it can be reaped
            select.select([self.exit_fd], [], [], 0.1)
        self.close()
        code = self._process.returncode
        if self._stopped_by_host:
            how = "was stopped by the host"
        elif code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        tail = [line for line in self._stderr_tail if line.strip()]
        return f"the process {how}{when}" + (f"; its last stderr line: {tail[-1].strip()[:300]}" if tail else "")

    def memory(self) -> int | None:
        """Resident bytes of the program (not its children, nor the keeper), from /proc."""
        try:
            pid = self.pid
            if self._kept:
                with open(f"/proc/{pid}/task/{pid}/children", "rb") as children:
                    pid = int(children.read().split()[0])
            with open(f"/proc/{pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            return None
