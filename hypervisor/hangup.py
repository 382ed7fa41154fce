"""A program left on the console's terminal (a shell, a guest's console): how long the terminal has had no
input, and hanging the program up as a terminal line drop would. hypervisor/runner.py starts the program
and uses these while it waits.

No input is seen from outside the program: the kernel stamps a terminal's access time whenever a program
reads from it (in steps of 8 s: tty_update_time in drivers/tty/tty_io.c), and keys typed but not read yet
wait in its input queue.
"""
from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios
import time
from pathlib import Path

STAMP_STEP_SECONDS = 8          # the access time's step: a terminal read from just now may look 8 s idle


class TerminalInput:
    """When this terminal last had input, on the monotonic clock (a clock set meanwhile changes nothing)."""

    def __init__(self, terminal: int) -> None:
        self.terminal = terminal
        self._seen = self._look()
        self._since = time.monotonic()

    def _look(self) -> tuple[float, int]:
        try:
            read_at = os.fstat(self.terminal).st_atime
            waiting = struct.unpack("i", fcntl.ioctl(self.terminal, termios.FIONREAD, b"\0" * 4))[0]
        except OSError:
            return (0.0, 0)
        return (read_at, waiting)

    def idle_seconds(self) -> float:
        seen = self._look()
        if seen != self._seen:
            self._seen, self._since = seen, time.monotonic()
        return time.monotonic() - self._since


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Every process started from `pid`, its children's children too, still running."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue            # gone meanwhile
        fields = stat.rsplit(")", 1)[-1].split()     # after "pid (command name)": state, ppid, ...
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def hang_up(pid: int) -> None:
    """SIGHUP to the program and every process started from it, as when a terminal's line drops (and
    SIGCONT, so a stopped job hears it): a command running in a shell dies with it, unless it ignores
    SIGHUP (nohup)."""
    for each in [pid, *descendants(pid)]:
        for sent in (signal.SIGHUP, signal.SIGCONT):
            try:
                os.kill(each, sent)
            except ProcessLookupError:
                break


def take_terminal_back(terminal: int) -> None:
    """Make this process's group the terminal's foreground again: a shell killed mid-job never gave it
    back, and reading from a terminal held by another group would stop the console (SIGTTIN)."""
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)     # asked from the background: not stopped for it
    try:
        os.tcsetpgrp(terminal, os.getpgrp())
    except OSError:
        pass                    # not this process's controlling terminal (a test's pty): nothing to take
    finally:
        signal.signal(signal.SIGTTOU, old)
