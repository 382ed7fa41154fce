"""The consoles' supervisor, on real pseudo-terminals: one process forks a console onto each
terminal, each console owns its terminal, and a console that dies is forked again.

The console itself is replaced by a small function (the Textual app is tested elsewhere);
what is exercised here is the fork, the session and controlling terminal, and the respawn.
"""
from __future__ import annotations

import mmap
import os
import pty
import signal
import time

import pytest

from tui import supervisor


def report_then_wait(tty: str) -> None:
    """Stands in for a console: says who it is and what its terminal is, then waits to be killed."""
    supervisor.die_with_parent()
    owns = os.tcgetpgrp(0) == os.getpgrp() and os.getsid(0) == os.getpid()
    os.write(1, f"console pid={os.getpid()} owns={owns} on={os.ttyname(0)}\n".encode())
    time.sleep(600)


def read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        try:
            data += os.read(fd, 4096)
        except OSError:         # nothing to read yet (BlockingIOError), or the terminal is between consoles
            time.sleep(0.05)
    return data


@pytest.fixture
def two_terminals():
    pairs = [pty.openpty() for _ in range(2)]
    for primary, _ in pairs:
        os.set_blocking(primary, False)
    yield [(primary, os.ttyname(secondary)) for primary, secondary in pairs]
    for primary, secondary in pairs:
        os.close(primary)
        os.close(secondary)


@pytest.fixture
def supervisor_on(two_terminals):
    ttys = [name for _, name in two_terminals]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()     # as busybox init starts it: a session of its own, no terminal
            supervisor.supervise(ttys, run=report_then_wait, warm_up=False)
        finally:
            os._exit(1)
    yield pid
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def console_pid(line: bytes) -> int:
    return int(line.split(b"pid=")[1].split()[0])


def test_one_process_starts_a_console_on_each_terminal_and_each_owns_its_terminal(two_terminals, supervisor_on):
    for primary, name in two_terminals:
        said = read_until(primary, b"\n")
        assert b"owns=True" in said, said
        assert f"on={name}".encode() in said, said


def test_a_killed_console_is_forked_again_on_its_terminal_and_the_other_is_untouched(two_terminals, supervisor_on):
    (first, first_name), (second, _) = two_terminals
    first_pid = console_pid(read_until(first, b"\n"))
    second_pid = console_pid(read_until(second, b"\n"))
    os.kill(first_pid, signal.SIGKILL)
    said = read_until(first, b"\n")      # the terminal put back, then the new console's line
    if b"console pid=" not in said:
        said += read_until(first, b"\n")
    assert b"owns=True" in said and f"on={first_name}".encode() in said, said
    assert console_pid(said[said.rindex(b"console pid="):]) != first_pid
    os.kill(second_pid, 0)      # still running: raises if it had been killed too


def locked_kib() -> int:
    status = open("/proc/self/status").read()
    return int(status.split("VmLck:")[1].split()[0])


def test_the_import_runs_with_its_memory_mapped_in_and_lets_go_after():
    """Around the import every page is mapped at once (VmLck counts them), and afterwards
    nothing stays locked. Unprivileged, the block runs all the same, without the lock."""
    before = locked_kib()
    with supervisor.memory_prefaulted():
        during = locked_kib()
        # A new mapping inside the block is filled at once too. (mmap, not a bytearray: malloc
        # may serve that from heap pages it already holds.)
        grown = mmap.mmap(-1, 8 << 20)
        during_after_growth = locked_kib()
    grown.close()
    assert locked_kib() == before == 0
    if os.geteuid() == 0:
        assert during > 0
        assert during_after_growth >= during + (8 << 10)
