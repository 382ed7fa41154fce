"""The power cut: QEMU killed (SIGKILL) at a moment drawn inside an operation's span.

An operation's span runs from its start marker to its end marker, both seen on the serial line. A
calibration run (never cut) measures how long the span takes; a cut run draws the moment uniformly
in [start, start + that duration]. When the operation ends sooner, the power goes after its end
marker: what it acknowledged must then survive.

Killing QEMU loses what dom0 had not yet written to its virtual disks, but not what QEMU had
already written to the host's page cache (its disks use QEMU's default cache=writeback): see the
README's torture paragraph.
"""
from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass

import pexpect

from serial import SerialConsole, Timeout


class PowerCut(Exception):
    """The drawn moment came while the operation was still being driven."""


class Window:
    """One operation's span on the serial line, and the power cut drawn in it.

    `fraction` (0..1) of `duration` seconds after the start marker; no fraction: a calibration run.
    """

    def __init__(self, console: SerialConsole, fraction: float | None = None, duration: float | None = None):
        self.console = console
        self.fraction, self.planned = fraction, duration
        self.started = self.ended = self.cut_at = None
        self.end_mark: tuple[str, bytes | str] = ("output", b"$^")
        self.since = 0

    @property
    def cutting(self) -> bool:
        return self.fraction is not None

    def begin(self, where: str, end: bytes | str) -> None:
        """The start marker was seen: the span starts now, and with it the cut's clock. Its end marker
        is `end`, a regex on the raw serial output (where="output") or on the screen ("screen")."""
        self.end_mark = (where, end)
        self.started = time.monotonic()
        self.since = len(self.console.transcript)
        if self.cutting:
            self.cut_at = self.started + self.fraction * self.planned

    def left(self) -> float:
        return float("inf") if self.cut_at is None else self.cut_at - time.monotonic()

    def _guarded(self, wait, limit: float):
        if self.left() <= 0:
            raise PowerCut
        try:
            return wait(min(limit, self.left()))
        except Timeout:
            if self.left() <= 0:
                raise PowerCut from None
            raise

    # -- driving the console inside the span: each step first asks whether the power is still on ------
    def wait_for_output(self, pattern: bytes, limit: float) -> re.Match:
        return self._guarded(lambda t: self.console.wait_for_output(pattern, t, since=self.since), limit)

    def wait_for_screen(self, pattern: str, limit: float) -> re.Match:
        return self._guarded(lambda t: self.console.wait_for_screen(pattern, t), limit)

    def press(self, keys: str) -> None:
        if self.left() <= 0:
            raise PowerCut
        self.console.press(keys)

    def type_line(self, line: str) -> None:
        if self.left() <= 0:
            raise PowerCut
        self.console.type_line(line)

    def finish(self, limit: float) -> re.Match:
        """Wait for the end marker: the operation is acknowledged."""
        where, pattern = self.end_mark
        match = (self.wait_for_output(pattern, limit) if where == "output" else self.wait_for_screen(pattern, limit))
        self.ended = time.monotonic()
        return match

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


def cut(window: Window) -> Cut:
    """Wait for the drawn moment (if the operation ended first), kill QEMU, and read what it had
    printed before it died: an end marker among those bytes was acknowledged before the cut too."""
    console = window.console
    while window.left() > 0:
        console.settle(min(window.left(), 0.2))
    at = time.monotonic()
    os.kill(console.child.pid, signal.SIGKILL)
    _drain(console)
    return Cut(offset=at - window.started, fraction=window.fraction, planned=window.planned,
               acknowledged=window.ended is not None or _end_seen(window))


def _drain(console: SerialConsole) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            console.pump(0.2)
        except pexpect.EOF:
            return


def _end_seen(window: Window) -> bool:
    where, pattern = window.end_mark
    if where == "output":
        return re.search(pattern, window.console.transcript[window.since:]) is not None
    return re.search(pattern, window.console.display()) is not None


@dataclass(frozen=True)
class Cut:
    """Where the power went: seconds after the start marker, and whether the end marker had come."""
    offset: float
    fraction: float
    planned: float
    acknowledged: bool

    def __str__(self) -> str:
        said = "after its end marker" if self.acknowledged else "before its end marker"
        return f"{self.offset:.1f} s after its start ({self.fraction:.0%} of {self.planned:.1f} s), {said}"
