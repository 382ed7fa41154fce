"""The one way the build runs a program, and the one way it gives up.

Every command is echoed so it can be pasted into a shell; a failure names the
command, its exit code and the tail of what it printed.
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
    full_env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **(env or {})}
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


@contextmanager
def step(number: int, total: int, title: str) -> Iterator[None]:
    """Print a numbered build step and how long it took."""
    print(f"[{number}/{total}] {title} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    yield
    print(f"[{number}/{total}] {title}: done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
