"""Bring the console back fast when it dies: import Textual once, fork a fresh console each time.

Importing Textual is most of the console's start-up (seconds under emulation), so
this process pays it once and then forks a console from the warm interpreter
whenever the previous one exits or is killed. busybox init still respawns this
supervisor itself if it dies (the slow path).

The terminal is shared with whatever the dead console left behind (a shell it
started, raw mode, the alternate screen): before each fork the supervisor
takes the terminal back, as the kernel would on a hang-up.
"""
from __future__ import annotations

import ctypes
import faulthandler
import gc
import os
import signal
import sys
import termios
import time

# Terminal resets a console killed mid-draw may leave undone: leave the alternate
# screen, stop mouse reporting, show the cursor, reset colours.
RESET = b"\x1b[?1049l\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?25h\x1b[0m\r\n"
CRASH_LOOP_SECONDS = 2.0    # a console that dies this fast is not restarted in a tight loop
STACKS_DIR = "/run/xenbox"
PR_SET_PDEATHSIG = 1        # linux/prctl.h


def take_back_terminal(fd: int, cooked: list) -> None:
    """Hang up whatever the dead console left in the foreground, and make the terminal ours again."""
    our_group = os.getpgrp()
    try:
        foreground = os.tcgetpgrp(fd)
        if foreground != our_group:
            os.killpg(foreground, signal.SIGHUP)
    except OSError:
        pass            # the foreground group is already gone
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)   # we may be in the background right now
    try:
        os.tcsetpgrp(fd, our_group)
        termios.tcsetattr(fd, termios.TCSANOW, cooked)
    except OSError:
        pass            # not a terminal (tests, pipes): nothing to take back
    finally:
        signal.signal(signal.SIGTTOU, previous)
    try:
        os.write(fd, RESET)
    except OSError:
        pass


def die_with_parent() -> None:
    """If the supervisor is killed, take this console down too: init starts a new supervisor,
    and an orphaned console would fight it for the terminal."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass            # not Linux: the orphan would only linger until its next xl call fails


def dump_stacks_on_request(tty: str) -> None:
    """`kill -USR2 <console pid>` writes where every thread of a stuck console is, to
    /run/xenbox/console-<tty>.stacks: the terminal itself may be what it is stuck on."""
    try:
        os.makedirs(STACKS_DIR, exist_ok=True)
        stacks = open(os.path.join(STACKS_DIR, f"console-{tty or 'tty'}.stacks"), "a")
        faulthandler.register(signal.SIGUSR2, file=stacks, all_threads=True)
    except (OSError, RuntimeError):
        pass            # no /run (tests) or no faulthandler: the console runs all the same


def run_console(tty: str) -> None:
    """In the forked child: one console, until it exits."""
    die_with_parent()
    dump_stacks_on_request(tty)
    from tui.app import XenBoxApp
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    XenBoxApp(tty=tty).run()


def supervise(tty: str, fd: int = 0) -> None:
    import tui.app  # noqa: F401  -- the slow import, paid once in the parent
    # Keep the imported objects out of the collector's reach, so children don't
    # copy the pages the collector would touch: memory stays shared after fork.
    gc.freeze()
    cooked = termios.tcgetattr(fd) if os.isatty(fd) else None
    while True:
        started = time.monotonic()
        child = os.fork()
        if child == 0:
            try:
                run_console(tty)
                code = 0
            except BaseException:       # the child must never return into the supervisor's loop
                import traceback
                traceback.print_exc()
                code = 1
            os._exit(code)
        os.waitpid(child, 0)
        if cooked is not None:
            take_back_terminal(fd, cooked)
        if time.monotonic() - started < CRASH_LOOP_SECONDS:
            print("xenbox: the console stopped right after starting; restarting it in 2 s.", flush=True)
            time.sleep(CRASH_LOOP_SECONDS)


def main(tty: str) -> None:
    try:
        supervise(tty)
    except KeyboardInterrupt:
        sys.exit(130)
