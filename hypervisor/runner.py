"""The one way XenBox runs a program, and the error that says what happened."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Protocol, Sequence


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
