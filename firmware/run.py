"""The one way the build runs a program, and the one way it gives up.

Every command is echoed so it can be pasted into a shell; a failure names the
command, its exit code and the tail of what it printed.

- `run`          a build step's command; its output as text when asked
- `output`       a command whose output is data (an archive, a compressed stream), as bytes
- `probe`        a question whose answer may be "no" (which commit? does KVM work?): never dies
- `on_terminal`  a program that takes this terminal until it ends (QEMU in `make run`)

Nothing else in firmware/ starts a program: tests/unit/test_one_runner.py checks.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence


class BuildError(Exception):
    """A build step failed; the message is for a person, the hint says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def die(message: str, hint: str = "") -> None:
    raise BuildError(message, hint)


def run(
    cmd: Sequence[str | os.PathLike],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = False,
    quiet: bool = False,
) -> str:
    argv = [str(a) for a in cmd]
    if not quiet:
        print(f"    $ {shlex.join(argv)}", file=sys.stderr, flush=True)
    full_env = _environment(env)
    try:
        done = subprocess.run(
            argv,
            env=full_env,
            cwd=cwd,
            stdout=subprocess.PIPE if capture or quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            text=True,
        )
    except FileNotFoundError:
        die(f"{argv[0]}: command not found", "run `make deps` to install the host tools")
    if done.returncode != 0:
        tail = (done.stdout or "").strip().splitlines()[-15:]
        die(
            f"{argv[0]} failed with exit code {done.returncode}",
            "\n".join(tail) if tail else "its output is above",
        )
    return done.stdout or ""


def _environment(env: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **(env or {})}


def output(cmd: Sequence[str | os.PathLike], *, input: bytes | None = None, cwd: Path | None = None) -> bytes:
    """Run a program quietly, `input` on its standard input, and return its standard output as bytes."""
    argv = [str(a) for a in cmd]
    try:
        done = subprocess.run(argv, input=input, capture_output=True, cwd=cwd, env=_environment())
    except FileNotFoundError:
        die(f"{argv[0]}: command not found", "run `make deps` to install the host tools")
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-15:]
        die(f"{shlex.join(argv)} failed with exit code {done.returncode}", "\n".join(tail))
    return done.stdout


def probe(cmd: Sequence[str | os.PathLike], *, cwd: Path | None = None, timeout: float | None = None) -> str:
    """Ask a program a question: its standard output, whatever its exit code; "" when it is not there or
    did not answer within `timeout` seconds. Not echoed: a probe is no build step."""
    argv = [str(a) for a in cmd]
    try:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace", cwd=cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=_environment()).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def on_terminal(cmd: Sequence[str | os.PathLike]) -> int:
    """Hand this terminal to a program until it ends; returns its exit code."""
    argv = [str(a) for a in cmd]
    try:
        return subprocess.run(argv).returncode
    except FileNotFoundError:
        die(f"{argv[0]}: command not found", "run `make deps` to install the host tools")


@contextmanager
def step(number: int, total: int, title: str) -> Iterator[None]:
    """Print a numbered build step and how long it took."""
    print(f"[{number}/{total}] {title} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    yield
    print(f"[{number}/{total}] {title}: done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
