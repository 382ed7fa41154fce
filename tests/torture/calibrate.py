"""The uncut runs a torture run starts with: how long each operation takes here and now, and the disks
the cuts start from.

- a blank disk made into the *golden host*, every step timed: storage init, adding cargo (an appliance
  that autostarts), replacing it, a network change kept (10.0.2.40), one rolled back, the console
  password; then powered off cleanly;
- a blank disk and an answer volume: the answer file's apply, timed;
- the golden host booted: its autostart, timed; then the after-cut checks, which must find nothing
  on a host that was never cut (else the checks, not the cuts, are wrong).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from machine import OVERVIEW, booted
from serial import SerialConsole, Timeout

from . import bundles
from .checks import check_after_cut
from .expected import Appliance, Expected
from .host import answer_disk, blank_disk, bring_up, copy_disk
from .operations import (ANSWER, Autostart, AddAppliance, ChangeNetwork, ChangePassword, FirstBootApply,
                         Operation, OperationFailed, ReplaceAppliance, StorageInit)
from .power import Window

GOLDEN_PASSWORD = "torture-pw-0"
GOLDEN_ADDRESS = "10.0.2.40/24"


class CalibrationFailed(Exception):
    pass


@dataclass
class Sources:
    """What the cuts start from, and how long each operation took uncut."""
    folder: Path
    golden: Path | None = None
    golden_expected: Expected | None = None
    answer: Path | None = None
    answer_checksum: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def measured(self, name: str, seconds: float) -> None:
        with self._lock:
            self.durations[name] = seconds


def calibrate(iso: Path, folder: Path, build: Path, jobs: int, say) -> Sources:
    sources = Sources(folder)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done in [pool.submit(golden_host, iso, sources, say), pool.submit(answer_host, iso, sources, build, say)]:
            done.result()
    autostart_host(iso, sources, say)
    return sources


def measure(console: SerialConsole, operation: Operation, sources: Sources, say) -> Operation:
    window = Window(console)
    try:
        operation.drive(console, window)
    except (Timeout, OperationFailed) as error:
        raise CalibrationFailed(f"{operation.name}: {str(error).splitlines()[0]}") from error
    sources.measured(operation.name, window.duration)
    say(f"calibration: {operation.name} took {window.duration:.1f} s")
    return operation


def golden_host(iso: Path, sources: Sources, say) -> None:
    disk = blank_disk(sources.folder / "golden.img")
    with booted(iso, "torture-calibrate-golden", disks=[disk]) as console:
        problems: list[str] = []
        if not bring_up(console, (), False, problems):
            raise CalibrationFailed(f"the blank host's console: {'; '.join(problems)}")
        steps = [StorageInit(), AddAppliance("cargo", autostart=True), ReplaceAppliance(),
                 ChangeNetwork(GOLDEN_ADDRESS, keep=True), ChangeNetwork("10.0.2.41/24", keep=False),
                 ChangePassword(GOLDEN_PASSWORD)]
        for step in steps:
            measure(console, step, sources, say).leave(console)
        power_off(console)
    cargo = Appliance((steps[2].checksum,), True)
    sources.golden = disk
    sources.golden_expected = Expected(True, (GOLDEN_PASSWORD,), True, {"cargo": cargo}, (GOLDEN_ADDRESS,))


def power_off(console: SerialConsole) -> None:
    """Key P and yes: guests shut down, the host powers off, QEMU ends. The golden disks are whole."""
    console.wait_for_screen(OVERVIEW, 180)
    console.press("P")
    console.wait_for_screen(r"Power off this host\?", 180)
    console.press("y")
    console.wait_for_exit(600)


def answer_host(iso: Path, sources: Sources, build: Path, say) -> None:
    sources.answer_checksum = bundles.make_on_host(sources.folder / "bundle" / "cargo", "cargo", True, build)
    sources.answer = answer_disk(sources.folder, ANSWER, sources.folder / "bundle" / "cargo")
    disks = [blank_disk(sources.folder / "answer-data.img"), copy_disk(sources.answer, sources.folder / "answer-copy.img")]
    operation = FirstBootApply(sources.answer_checksum)
    with booted(iso, "torture-calibrate-answer", disks=disks) as console:
        measure(console, operation, sources, say)
        complain_if_checks_fail(console, operation.expected(Expected(), True), "the answer file's host", say)


def autostart_host(iso: Path, sources: Sources, say) -> None:
    disk = copy_disk(sources.golden, sources.folder / "autostart.img")
    with booted(iso, "torture-calibrate-autostart", disks=[disk]) as console:
        measure(console, Autostart(), sources, say)
        complain_if_checks_fail(console, sources.golden_expected, "the golden host", say)


def complain_if_checks_fail(console: SerialConsole, expected: Expected, host: str, say) -> None:
    problems, notes = check_after_cut(console, expected)
    for problem in problems:
        say(f"calibration: {host}, never cut, fails a check: {problem}")
    if not problems:
        say(f"calibration: {host}, never cut, passes every check")
