"""Bring the consoles up fast and back fast: import Textual once, fork a console per terminal.

Importing Textual is most of a console's start-up (seconds under emulation). One
process pays it once, for every terminal (the serial line and the screen), then
forks a console onto each from the warm interpreter, and a fresh one whenever a
console exits or is killed. The forked consoles share the imported pages, so the
second console costs neither the import's CPU during boot nor its memory.
busybox init respawns this supervisor itself if it dies (the slow path); the
consoles die with it.

Each console is the session leader of its own terminal, as a getty would be: when
it dies the kernel hangs up whatever it left in the foreground (a shell it
started). Before the next fork the supervisor puts the terminal's modes back and
leaves the alternate screen the dead console may have left behind.
"""
from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import fcntl
import gc
import os
import signal
import sys
import termios
import time
from typing import Callable

# Terminal resets a console killed mid-draw may leave undone: leave the alternate
# screen, stop mouse reporting, show the cursor, reset colours.
RESET = b"\x1b[?1049l\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?25h\x1b[0m\r\n"
CRASH_LOOP_SECONDS = 2.0    # a console that dies this fast is not restarted in a tight loop
STACKS_DIR = "/run/xenbox"
PR_SET_PDEATHSIG = 1        # linux/prctl.h
MCL_CURRENT, MCL_FUTURE = 1, 2      # sys/mman.h


def tty_path(tty: str) -> str:
    return tty if tty.startswith("/") else f"/dev/{tty}"


class Terminal:
    """One console's terminal as the supervisor knows it: the modes it had before any console ran."""

    def __init__(self, tty: str) -> None:
        self.tty = tty
        self.cooked = None
        with self._opened() as fd:
            try:
                self.cooked = termios.tcgetattr(fd)
            except termios.error:
                pass            # not a terminal (a file, in tests): no modes to put back

    @contextlib.contextmanager
    def _opened(self):
        # Opened afresh each time, never kept: when a console dies the kernel hangs its terminal
        # up, and every descriptor opened before that is dead for good.
        fd = os.open(tty_path(self.tty), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            yield fd
        finally:
            os.close(fd)

    def take_back(self) -> None:
        """After its console died: the modes it started with, and the main screen."""
        try:
            with self._opened() as fd:
                if self.cooked is not None:
                    termios.tcsetattr(fd, termios.TCSANOW, self.cooked)
                os.write(fd, RESET)
        except (OSError, termios.error):
            pass            # a full or gone line: the new console redraws all the same


def become_console_of(tty: str) -> None:
    """In the forked child: a session of its own, with `tty` as controlling terminal and stdio."""
    os.setsid()
    fd = os.open(tty_path(tty), os.O_RDWR)     # a session leader's first terminal becomes its own
    try:
        fcntl.ioctl(fd, termios.TIOCSCTTY, 1)   # and if a stray session still holds it, take it
    except OSError:
        pass
    for stdio in (0, 1, 2):
        os.dup2(fd, stdio)
    if fd > 2:
        os.close(fd)


def die_with_parent() -> None:
    """If the supervisor is killed, take this console down too: init starts a new supervisor,
    and an orphaned console would fight it for the terminal."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass            # not Linux: the orphan would only linger until its next xl call fails


@contextlib.contextmanager
def memory_prefaulted():
    """Map every page the block touches when it is first mapped, not page by page when first used.

    In a paravirtualized dom0 each page fault is a round trip through Xen, and the import
    fills some 39 MB. With every mapping filled at once (mlockall), importing the console
    took 4.0 s instead of 4.6 s in dom0 under emulation (three runs each). The lock is
    released afterwards: the pages stay, but the kernel may reclaim them like any others."""
    libc = None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
            libc = None     # not root, or a low RLIMIT_MEMLOCK: the import pays its faults one by one
    except (OSError, AttributeError):
        libc = None
    try:
        yield
    finally:
        if libc is not None:
            libc.munlockall()


def dump_stacks_on_request(tty: str) -> None:
    """`kill -USR2 <console pid>` writes where every thread of a stuck console is, to
    /run/xenbox/console-<tty>.stacks: the terminal itself may be what it is stuck on."""
    try:
        os.makedirs(STACKS_DIR, exist_ok=True)
        name = os.path.basename(tty) or "tty"
        stacks = open(os.path.join(STACKS_DIR, f"console-{name}.stacks"), "a")
        faulthandler.register(signal.SIGUSR2, file=stacks, all_threads=True)
    except (OSError, RuntimeError):
        pass            # no /run (tests) or no faulthandler: the console runs all the same


def run_console(tty: str) -> None:
    """In the forked child, on its own terminal: one console, until it exits."""
    from tui.app import XenBoxApp
    from tui.terminal import size_terminal
    die_with_parent()
    dump_stacks_on_request(tty)
    size_terminal(0)
    XenBoxApp(tty=os.path.basename(tty)).run()


def fork_console(tty: str, run: Callable[[str], None]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()          # or the child would print the parent's buffered lines again
    child = os.fork()
    if child:
        return child
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        become_console_of(tty)
        run(tty)
        code = 0
    except BaseException:           # the child must never return into the supervisor's loop
        import traceback
        traceback.print_exc()
    finally:
        os._exit(code)


def supervise(ttys: list[str], run: Callable[[str], None] = run_console, warm_up: bool = True) -> None:
    """Fork a console onto each terminal, and a new one whenever one ends. Never returns."""
    if warm_up:
        gc.disable()    # the import makes objects by the thousand and frees none: a tenth faster without
        with memory_prefaulted():
            import tui.app  # noqa: F401  -- the slow import, paid once here, shared by every console
        # Keep the imported objects out of the collector's reach, so children don't
        # copy the pages the collector would touch: memory stays shared after fork.
        gc.freeze()
        gc.enable()
        # Started ahead of the boot's other work for the import (see /usr/lib/xenbox/console); the
        # consoles themselves run beside it as equals.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    terminals = {tty: Terminal(tty) for tty in ttys}
    consoles = {fork_console(tty, run): (tty, time.monotonic()) for tty in ttys}
    while True:
        pid, _ = os.wait()
        if pid not in consoles:
            continue
        tty, started = consoles.pop(pid)
        terminals[tty].take_back()
        if time.monotonic() - started < CRASH_LOOP_SECONDS:
            print(f"xenbox: the console on {tty} stopped right after starting; restarting it in 2 s.",
                  flush=True)
            time.sleep(CRASH_LOOP_SECONDS)
        consoles[fork_console(tty, run)] = (tty, time.monotonic())


def main(ttys: list[str]) -> None:
    try:
        supervise(ttys)
    except KeyboardInterrupt:
        sys.exit(130)
