"""One cut: boot a host, run an operation, kill QEMU at the drawn moment, boot the same disks again
and check. Each cut starts from its own copy of the disks, so no cut's damage reaches another."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from machine import BOOT_TIMEOUT, booted
from serial import Timeout

from .calibrate import Sources
from .checks import check_after_cut
from .expected import Expected
from .host import blank_disk, bring_up, copy_disk, remove
from .operations import (AddAppliance, Autostart, ChangeNetwork, ChangePassword, FirstBootApply, Operation,
                         OperationFailed, ReplaceAppliance, StorageInit)
from .power import Cut, PowerCut, Window, cut

NAMES = ("appliance-add", "appliance-replace", "storage-init", "network-keep", "network-rollback", "password",
         "first-boot", "autostart")


def operation(name: str, number: int, sources: Sources) -> Operation:
    """A fresh operation for cut `number`: its own password and address, so a lost one shows."""
    return {
        "appliance-add": lambda: AddAppliance("newcomer"),
        "appliance-replace": ReplaceAppliance,
        "storage-init": StorageInit,
        "network-keep": lambda: ChangeNetwork(f"10.0.2.{100 + number % 100}/24", keep=True),
        "network-rollback": lambda: ChangeNetwork(f"10.0.2.{100 + number % 100}/24", keep=False),
        "password": lambda: ChangePassword(f"torture-pw-{number}"),
        "first-boot": lambda: FirstBootApply(sources.answer_checksum),
        "autostart": Autostart,
    }[name]()


def plan(seed: int, cuts: int) -> list[tuple[str, float]]:
    """Which operation each cut falls in, and where in its span (0..1): every operation once per round
    of eight, in a shuffled order. The same seed gives the same plan."""
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < cuts:
        round_ = list(NAMES)
        rng.shuffle(round_)
        names += round_
    return [(name, rng.random()) for name in names[:cuts]]


@dataclass
class Result:
    number: int
    name: str
    cut: Cut | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_cut(iso: Path, number: int, name: str, fraction: float, sources: Sources) -> Result:
    started = time.monotonic()
    result = Result(number, name)
    folder = sources.folder / f"cut{number:02}"
    folder.mkdir()
    op = operation(name, number, sources)
    disks, before = starting_point(op, folder, sources)
    try:
        with booted(iso, f"torture-cut{number:02}-{name}", disks=disks) as console:
            window = Window(console, fraction, sources.durations[name])
            if not op.during_boot and not ready(console, op, before, result):
                return result
            try:
                op.drive(console, window)
            except PowerCut:
                pass
            except (Timeout, OperationFailed) as error:
                result.problems.append(f"before the cut: {str(error).splitlines()[0]}")
                return result
            result.cut = cut(window)
        expected = op.expected(before, result.cut.acknowledged)
        with booted(iso, f"torture-cut{number:02}-{name}-after", disks=disks) as console:
            result.problems, result.notes = check_after_cut(console, expected)
    finally:
        remove(folder)
        result.seconds = time.monotonic() - started
    return result


def starting_point(op: Operation, folder: Path, sources: Sources) -> tuple[list[Path], Expected]:
    if op.starts_from == "golden":
        return [copy_disk(sources.golden, folder / "data.img")], sources.golden_expected
    disks = [blank_disk(folder / "data.img")]
    if op.starts_from == "answer":
        disks.append(copy_disk(sources.answer, folder / "answer.img"))
    return disks, Expected()


def ready(console, op: Operation, before: Expected, result: Result) -> bool:
    """The console up and unlocked, the boot's appliances started: the operation starts on a quiet host."""
    problems: list[str] = []
    if bring_up(console, before.passwords, before.password_required, problems) and "cargo" in before.appliances:
        try:
            console.wait_for_output(rb"xenbox: appliance cargo (started|NOT started)", BOOT_TIMEOUT)
        except Timeout:
            problems.append("cargo's autostart never said whether it started")
    result.problems += [f"before the cut: {problem}" for problem in problems]
    return not problems
