"""Disks coming and going: the kernel's own uevents on its netlink socket (as in dom0, where no udevd runs).

The events are real: writing an action to a block device's `uevent` file makes the kernel send that
uevent, as when a disk is plugged in or pulled out. Loop devices stand in for disks (a disk's own
event would reach whatever else listens on this machine); the watcher is told to watch them.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from hypervisor.storage.disk_events import DiskEvent, DiskEvents, block_devices, could_be_disk

LOOP = "loop5"
UEVENT = Path("/sys/block") / LOOP / "uevent"
needs_netlink = pytest.mark.skipif(os.geteuid() != 0 or not UEVENT.exists(),
                                   reason="sending a uevent needs root and /sys/block/loop5")


def send_later(*actions: str, after: float = 0.3) -> threading.Thread:
    def send():
        time.sleep(after)
        for action in actions:
            UEVENT.write_text(action)
    thread = threading.Thread(target=send)
    thread.start()
    return thread


@needs_netlink
def test_a_disk_that_comes_and_goes_is_heard_within_a_second():
    with DiskEvents(watched=lambda name: name == LOOP) as events:
        assert events.source == "uevents"
        sender = send_later("add")
        started = time.monotonic()
        assert events.wait(timeout=3) == [DiskEvent("add", LOOP)]
        assert time.monotonic() - started < 1.3          # 0.3 s before the disk came, then within a second
        sender.join()
        sender = send_later("change", "remove", after=0.1)   # a change (new media, a resize) is no coming or going
        assert events.wait(timeout=3) == [DiskEvent("remove", LOOP)]
        sender.join()


@needs_netlink
def test_nothing_is_heard_when_nothing_comes_or_goes():
    with DiskEvents(watched=lambda name: name == LOOP) as events:
        started = time.monotonic()
        assert events.wait(timeout=0.3) == []
        assert 0.3 <= time.monotonic() - started < 1


@needs_netlink
def test_loops_ram_disks_and_volumes_are_not_disks_by_default():
    assert [could_be_disk(n) for n in ("sda", "nvme0n1", "vdb", "mmcblk0", LOOP, "zram0", "dm-0", "sr0")] == \
        [True] * 4 + [False] * 4
    with DiskEvents() as events:
        sender = send_later("add", after=0.1)
        assert all(event.name != LOOP for event in events.wait(timeout=0.6))
        sender.join()


def test_without_a_monitor_the_sys_block_names_are_compared(tmp_path):
    (tmp_path / "block" / "vda").mkdir(parents=True)
    (tmp_path / "block" / "loop0").mkdir()
    with DiskEvents(sysfs=tmp_path, use_uevents=False, poll_seconds=0.05) as events:
        assert events.source == "/sys/block every 0.05 s"
        assert events.wait(timeout=0.1) == []
        (tmp_path / "block" / "sdb").mkdir()
        (tmp_path / "block" / "loop1").mkdir()
        (tmp_path / "block" / "vda").rmdir()
        assert events.wait(timeout=0.1) == [DiskEvent("add", "sdb"), DiskEvent("remove", "vda")]
        assert [e.sentence for e in [DiskEvent("add", "sdb"), DiskEvent("remove", "vda")]] == \
            ["sdb appeared", "vda is gone"]
        assert events.wait(timeout=0.1) == []


def test_block_devices_are_the_kernels_names_in_sysfs(tmp_path):
    for name in ("vda", "loop0", "sr0"):
        (tmp_path / "block" / name).mkdir(parents=True)
    assert block_devices(tmp_path) == {"vda", "loop0", "sr0"}
    assert block_devices(tmp_path / "nowhere") == frozenset()
