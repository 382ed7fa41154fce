"""The one way XenBox runs a program in dom0, and the error that says what happened.

- `run`          run it, read what it printed (LANG=C.UTF-8, so parsers see one language)
- `spawn`        start it in the background, detached; nobody waits for it (a DHCP client, poweroff)
- `on_terminal`  hand it this terminal until it ends (the shell); its exit code
- `attach`       the same for a guest's console, its error output kept for the message
- `become`       this process becomes the program (`xenbox appliance console`)

Nothing else in hypervisor/ or tui/ starts a program: tests/unit/test_one_runner.py checks.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import NoReturn, Protocol, Sequence


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


# The programs below talk to a person on the terminal in the person's own language: no LANG forced.

def on_terminal(argv: Sequence[str]) -> int:
    """Hand this terminal (stdin, stdout, stderr) to a program until it ends; returns its exit code."""
    try:
        return subprocess.run(list(argv)).returncode
    except OSError as error:
        raise not_started(argv, error) from None


def attach(argv: Sequence[str]) -> None:
    """Hand this terminal's input and output to a program until it ends (a guest's console); its error
    output is kept instead, for the CommandError raised when it fails."""
    try:
        done = subprocess.run(list(argv), stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as error:
        raise not_started(argv, error) from None
    if done.returncode != 0:
        raise CommandError(tuple(argv), done.returncode, done.stderr or "")


def become(argv: Sequence[str]) -> NoReturn:
    """Replace this process with the program (exec): it keeps the terminal, and its exit code is ours."""
    try:
        os.execvp(argv[0], list(argv))
    except OSError as error:
        raise not_started(argv, error) from None
