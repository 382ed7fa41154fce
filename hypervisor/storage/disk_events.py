"""Disks plugged in and pulled out, as the kernel announces them: its uevents, read through pyudev.

dom0 runs no udevd, so nothing re-sends the kernel's messages on udev's own socket: the monitor
listens on the kernel's netlink socket itself (`source="kernel"`). Those messages carry the kernel's
fields only (ACTION, DEVNAME, DEVTYPE), which is all a watcher needs to know that it should look
at the disks again. When that socket cannot be opened (no permission, a kernel without it), the
names under /sys/block are compared every POLL_SECONDS instead.
"""
from __future__ import annotations

import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor.storage.disks import NOT_DISKS

POLL_SECONDS = 5.0          # the fallback: how often /sys/block is compared when there is no monitor
SETTLE_SECONDS = 0.2        # events this close together come back as one batch (a disk and its siblings)
NOT_WATCHED = NOT_DISKS + ("dm-", "md")     # never a local disk: those lsblk's listing leaves out, and volumes


def could_be_disk(name: str) -> bool:
    return not name.startswith(NOT_WATCHED)


@dataclass(frozen=True)
class DiskEvent:
    action: str         # "add" or "remove"
    name: str           # the kernel's name: sdb, nvme1n1

    @property
    def sentence(self) -> str:
        return f"{self.name} appeared" if self.action == "add" else f"{self.name} is gone"


def block_devices(sysfs: Path = Path("/sys")) -> frozenset[str]:
    try:
        return frozenset(entry.name for entry in (sysfs / "block").iterdir())
    except OSError:
        return frozenset()


class DiskEvents:
    """One watcher's view of disks coming and going: `wait` returns the next ones. Use it in a thread."""

    def __init__(self, *, sysfs: Path = Path("/sys"), watched: Callable[[str], bool] = could_be_disk,
                 poll_seconds: float = POLL_SECONDS, use_uevents: bool = True) -> None:
        self._sysfs = sysfs
        self._watched = watched
        self._poll_seconds = poll_seconds
        self._monitor = self._open_monitor() if use_uevents else None
        self._known = block_devices(sysfs)
        self._next_poll = time.monotonic() + poll_seconds

    @property
    def source(self) -> str:
        return "uevents" if self._monitor is not None else f"/sys/block every {self._poll_seconds:g} s"

    @staticmethod
    def _open_monitor():
        try:
            import pyudev       # the console imports this module at start; libudev only when a watcher opens
            monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
            monitor.filter_by("block")
            monitor.start()
            return monitor
        except (ImportError, OSError):      # pyudev or libudev missing, or no netlink socket for us
            return None

    def wait(self, timeout: float) -> list[DiskEvent]:
        """The disks that came or went within `timeout` seconds (as soon as there is one), else []."""
        if self._monitor is None:
            return self._poll(timeout)
        events = self._receive(timeout)
        if events:
            events += self._receive(SETTLE_SECONDS)
        return events

    def _receive(self, timeout: float) -> list[DiskEvent]:
        events: list[DiskEvent] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._monitor], [], [], left)[0]:
                return events
            device = self._monitor.poll(timeout=0)
            while device is not None:
                if device.action in ("add", "remove") and device.device_type == "disk" and \
                        self._watched(device.sys_name):
                    events.append(DiskEvent(device.action, device.sys_name))
                device = self._monitor.poll(timeout=0)
            if events:
                return events

    def _poll(self, timeout: float) -> list[DiskEvent]:
        time.sleep(max(0.0, min(timeout, self._next_poll - time.monotonic())))
        if time.monotonic() < self._next_poll:
            return []
        self._next_poll = time.monotonic() + self._poll_seconds
        now = block_devices(self._sysfs)
        came, went = sorted(now - self._known), sorted(self._known - now)
        self._known = now
        return [DiskEvent("add", n) for n in came if self._watched(n)] + \
               [DiskEvent("remove", n) for n in went if self._watched(n)]

    def close(self) -> None:
        self._monitor = None        # pyudev closes the socket when the monitor goes (udev_monitor_unref)

    def __enter__(self) -> "DiskEvents":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
