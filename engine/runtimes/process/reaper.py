"""The keeper between the host and a plugin program: `python -S -I reaper.py PROGRAM ARGS...` (Linux).

It starts the program as its only child and is the subreaper of everything the program starts, so a descendant that
calls `setsid()` or double-forks still belongs to it. It ends every descendant, then itself with the program's exit
status, when the program exits, when the host asks (SIGTERM), and when the host dies (its parent-death signal is
SIGTERM, caught: a SIGKILLed host still gets its plugins' whole trees killed). A process group alone cannot do that:
`setsid()` leaves the group, and PR_SET_PDEATHSIG reaches only the direct child.

Standard library only, and no imports from the engine: it runs with `-S -I` to start fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def descendants(root: int) -> list[int]:
    """Every living process below `root`, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def end_everything() -> None:
    """SIGKILL every descendant until none is left (one may fork while the others die), reaping as they go."""
    me = os.getpid()
    while pids := descendants(me):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


def exec_environment() -> dict[bytes, bytes]:
    """The environment as the host gave it: Python's startup may add to os.environ (LC_CTYPE under a C locale)."""
    with open("/proc/self/environ", "rb") as environ:
        entries = [entry.partition(b"=") for entry in environ.read().split(b"\0") if entry]
    return {name: value for name, _, value in entries}


def main(argv: list[str]) -> None:
    host = os.getppid()
    environment = exec_environment()
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)  # replaces the SIGKILL the host armed: we clean up
    asked_to_end = False

    def stop(signum: int, frame: object) -> None:
        nonlocal asked_to_end
        asked_to_end = True
        end_everything()

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop)
    program = os.fork()
    if program == 0:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        try:
            os.execvpe(argv[0], argv, environment)
        except OSError as exc:
            os.write(2, f"cannot start {argv[0]}: {exc.strerror}\n".encode())
            os._exit(127)
    # The program holds the pipes; our copies would keep the host from seeing their end when it exits.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if os.getppid() != host:  # the host died before the parent-death signal was armed
        end_everything()
    status = None
    while status is None:
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == program:
            status = code
    end_everything()
    if status is None or asked_to_end:
        signum = signal.SIGKILL  # the host stopped it: it ends as a killed process, as without this keeper
    elif os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
    else:
        os._exit(os.WEXITSTATUS(status))
    with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
        signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


if __name__ == "__main__":
    main(sys.argv[1:])
