"""The one way XenBox runs a program in dom0, and the error that says what happened.

- `run`          run it, read what it printed (LANG=C.UTF-8, so parsers see one language)
- `follow`       run it, handing each piece of what it prints to a function as it comes (progress lines)
- `spawn`        start it in the background, detached; nobody waits for it (a DHCP client, poweroff)
- `on_terminal`  hand it this terminal until it ends (the shell); its exit code. With an idle limit, it is
                 hung up once the terminal had no input that long (hypervisor/hangup.py): LeftIdle
- `attach`       the same for a guest's console, its error output kept for the message
- `become`       this process becomes the program (`xenbox appliance console`)

Nothing else in hypervisor/ or tui/ starts a program: tests/unit/test_one_runner.py checks.
"""
from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, NoReturn, Protocol, Sequence

from hypervisor import hangup

IDLE_POLL_SECONDS = 1.0
HANG_UP_GRACE_SECONDS = 2.0     # for a program to end after SIGHUP, before it is killed


@dataclass
class CommandError(Exception):
    argv: tuple[str, ...]
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"{self.argv[0]} failed (exit {self.returncode}): {self.sentence}"

    @property
    def sentence(self) -> str:
        """What the program said, in one line: the part a person reads on the console."""
        lines = [line.strip() for line in self.output.strip().splitlines() if line.strip()]
        if self.returncode == 127 or not lines and self.returncode < 0:
            return f"{self.argv[0]} is not available"
        return lines[-1] if lines else f"exit code {self.returncode}"


class ParseError(ValueError):
    """A program's output that could not be read; names the program and the line."""


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 60) -> str: ...


def run(argv: Sequence[str], *, input: str | None = None, timeout: float = 60) -> str:
    """Run a program, return its standard output; raise CommandError on failure."""
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except FileNotFoundError:
        raise CommandError(tuple(argv), 127, f"{argv[0]}: not found") from None
    except subprocess.TimeoutExpired as expired:
        raise CommandError(tuple(argv), -1, f"{argv[0]} did not finish within {timeout:.0f} s") from expired
    if done.returncode != 0:
        raise CommandError(tuple(argv), done.returncode, done.stderr or done.stdout)
    return done.stdout


class Follower(Protocol):
    def __call__(self, argv: Sequence[str], each: Callable[[str], None], *, timeout: float = 60) -> None: ...


def follow(argv: Sequence[str], each: Callable[[str], None], *, timeout: float = 60) -> None:
    """Run a program, handing `each` every piece of its standard output as it comes: lines ended by a
    newline or a carriage return (a progress meter redraws its line with \\r). Raises CommandError on
    failure, with its error output, and kills it when it runs longer than `timeout` seconds."""
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    with tempfile.TemporaryFile() as errors:
        try:
            child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                     env=env)
        except OSError as error:
            raise not_started(argv, error) from None
        deadline, pending = time.monotonic() + timeout, b""
        with child.stdout:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    child.kill()
                    child.wait()
                    raise CommandError(tuple(argv), -1, f"{argv[0]} did not finish within {timeout:.0f} s")
                if not select.select([child.stdout], [], [], min(left, 1.0))[0]:
                    continue
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                *pieces, pending = (pending + chunk).replace(b"\r", b"\n").split(b"\n")
                for piece in pieces:
                    if piece.strip():
                        each(piece.decode(errors="replace"))
        if pending.strip():
            each(pending.decode(errors="replace"))
        returncode = child.wait()
        if returncode != 0:
            errors.seek(0)
            raise CommandError(tuple(argv), returncode, errors.read().decode(errors="replace"))


def not_started(argv: Sequence[str], error: OSError) -> CommandError:
    """The program could not be started at all: 127 when there is none (as a shell says), else 126."""
    return CommandError(tuple(argv), 127 if isinstance(error, FileNotFoundError) else 126,
                        f"{argv[0]}: {error.strerror}")


def spawn(argv: Sequence[str]) -> None:
    """Start a program in the background in its own session, its output discarded, and return at once."""
    try:
        subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        raise not_started(argv, error) from None


class LeftIdle(Exception):
    """The program was hung up: its terminal had no input for the idle limit."""


# The programs below talk to a person on the terminal in the person's own language: no LANG forced.
# `terminal` is the file descriptor they get as stdin, stdout and stderr (this process's own by default).

def on_terminal(argv: Sequence[str], *, idle_limit: float | None = None, terminal: int = 0) -> int:
    """Hand the terminal to a program (a shell) until it ends; returns its exit code. Raises LeftIdle when
    the terminal had no input for `idle_limit` seconds: the program was hung up."""
    return _hand_over(argv, idle_limit, terminal, keep_errors=False).returncode


def attach(argv: Sequence[str], *, idle_limit: float | None = None, terminal: int = 0) -> None:
    """The same for a guest's console, its error output kept instead, for the CommandError raised when
    it fails."""
    ended = _hand_over(argv, idle_limit, terminal, keep_errors=True)
    if ended.returncode != 0:
        raise CommandError(tuple(argv), ended.returncode, ended.errors or "")


@dataclass
class _Ended:
    returncode: int
    errors: str | None


def _hand_over(argv: Sequence[str], idle_limit: float | None, terminal: int, keep_errors: bool) -> _Ended:
    streams = {} if terminal == 0 else {"stdin": terminal, "stdout": terminal, "stderr": terminal}
    if keep_errors:
        streams["stderr"] = subprocess.PIPE
    try:
        child = subprocess.Popen(list(argv), text=True, errors="replace", **streams)
    except OSError as error:
        raise not_started(argv, error) from None
    input_seen = hangup.TerminalInput(terminal)
    while True:
        try:
            _, errors = child.communicate(timeout=None if idle_limit is None else IDLE_POLL_SECONDS)
            return _Ended(child.returncode, errors)
        except subprocess.TimeoutExpired:
            # The access time may lag a read by its step: the program is hung up only once the terminal
            # has surely had no input for the whole limit.
            if input_seen.idle_seconds() >= idle_limit + hangup.STAMP_STEP_SECONDS:
                break
    hangup.hang_up(child.pid)
    try:
        child.communicate(timeout=HANG_UP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()            # a shell that ignores SIGHUP (trap '' HUP) is not left holding the terminal
        child.communicate()
    hangup.take_terminal_back(terminal)
    raise LeftIdle(f"{argv[0]} was hung up: no input for {idle_limit:.0f} s")


def become(argv: Sequence[str]) -> NoReturn:
    """Replace this process with the program (exec): it keeps the terminal, and its exit code is ours."""
    try:
        os.execvp(argv[0], list(argv))
    except OSError as error:
        raise not_started(argv, error) from None
