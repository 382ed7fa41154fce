"""Two of `make torture`'s power cuts (tests/torture): QEMU killed while `xenbox appliance add` copies a
bundle, and while `xenbox storage init` makes the data store; then the same disks booted and checked.

Each moment is drawn uniformly in the operation's span, which the first host measures uncut (its data
store and an appliance's add). The seed is fixed, so every run cuts at the same fraction of the span
(TORTURE_SEED=n draws others). Killing QEMU keeps what it had written to this machine's page cache
(its disks are cache=writeback): the cut loses only what dom0 had not written yet.
One machine at a time, in order: the first test's host is the measuring one.
"""
import os
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from machine import booted
from tests.torture.checks import check_after_cut
from tests.torture.expected import Appliance, Expected
from tests.torture.host import blank_disk, bring_up
from tests.torture.operations import AddAppliance, StorageInit
from tests.torture.power import PowerCut, Window, cut

SEED = int(os.environ.get("TORTURE_SEED", "15"))


@pytest.fixture(scope="module")
def measured(iso, tmp_path_factory):
    """A blank host made a data store, an appliance added to it: both timed, uncut. Left running."""
    disk = blank_disk(tmp_path_factory.mktemp("power-cut-add") / "data.img")
    with booted(iso, "power-cut-add", disks=[disk]) as console:
        problems = []
        assert bring_up(console, (), False, problems), problems
        durations = {}
        for operation in (StorageInit(), AddAppliance("cargo")):
            window = Window(console)
            operation.drive(console, window)
            operation.leave(console)
            durations[operation.name] = window.duration
        yield SimpleNamespace(console=console, disk=disk, durations=durations, cargo=operation.checksum)


def cut_during(operation, console, duration: float, seed: int):
    """Drive `operation` and kill QEMU at a moment drawn uniformly in its span."""
    window = Window(console, random.Random(seed).random(), duration)
    try:
        operation.drive(console, window)
    except PowerCut:
        pass
    return cut(window)


def checked(iso, name: str, disks: list[Path], expected: Expected, where) -> None:
    with booted(iso, name, disks=disks) as console:
        problems, _ = check_after_cut(console, expected)
    assert not problems, f"cut {where} (TORTURE_SEED={SEED}):\n" + "\n".join(problems)


def test_a_cut_while_an_appliance_is_added_leaves_it_whole_or_absent_and_the_others_whole(iso, measured):
    add = AddAppliance("newcomer")
    where = cut_during(add, measured.console, measured.durations["appliance-add"], SEED)
    before = Expected(data_store=True, appliances={"cargo": Appliance((measured.cargo,), True)})
    checked(iso, "power-cut-add-after", [measured.disk], add.expected(before, where.acknowledged), where)


def test_a_cut_while_the_data_store_is_made_leaves_one_that_mounts_or_none(iso, measured, tmp_path):
    disk = blank_disk(tmp_path / "data.img")
    init = StorageInit()
    with booted(iso, "power-cut-init", disks=[disk]) as console:
        problems = []
        assert bring_up(console, (), False, problems), problems
        where = cut_during(init, console, measured.durations["storage-init"], SEED + 1)
    checked(iso, "power-cut-init-after", [disk], init.expected(Expected(), where.acknowledged), where)
