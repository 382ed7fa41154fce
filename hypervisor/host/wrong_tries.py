"""Wrong console passwords, counted for both consoles and across their restarts: a root-only file on /run
(a tmpfs, so the count lasts one boot).

Each wrong password makes the next try wait longer: STEP_SECONDS more for each, at most LONGEST_SECONDS.
A try is counted before its password is checked, so a console killed mid-check (or restarted to start
afresh) has still paid for it; the right password forgets them all. Times are CLOCK_MONOTONIC, one clock
for every process of a boot, which no clock setting moves.
"""
from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

WRONG_TRIES = Path("/run/xenbox/console-wrong-tries")
STEP_SECONDS = 2.0
LONGEST_SECONDS = 10.0


@dataclass(frozen=True)
class Tries:
    wrong: int = 0
    next_at: float = 0.0            # time.monotonic() from which the next try is taken

    def wait_left(self) -> float:
        return max(0.0, self.next_at - time.monotonic())


def delay(wrong: int) -> float:
    return min(STEP_SECONDS * wrong, LONGEST_SECONDS)


def _parse(text: str) -> Tries:
    try:
        wrong, next_at = text.split()
        return Tries(max(int(wrong), 0), float(next_at))
    except ValueError:
        return Tries()


def _opened(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)            # made by someone else, or before this rule: root's alone now
    return fd


def read(path: Path | None = None) -> Tries:
    try:
        return _parse((path or WRONG_TRIES).read_text())
    except OSError:
        return Tries()


def count_one(path: Path | None = None) -> Tries:
    """One more try: counted as wrong until the check says otherwise (forget)."""
    fd = _opened(path or WRONG_TRIES)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)      # both consoles may count at once
        before = _parse(os.pread(fd, 64, 0).decode(errors="replace"))
        tries = Tries(before.wrong + 1, time.monotonic() + delay(before.wrong + 1))
        text = f"{tries.wrong} {tries.next_at:.3f}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        return tries
    finally:
        os.close(fd)


def forget(path: Path | None = None) -> None:
    (path or WRONG_TRIES).unlink(missing_ok=True)
