"""Host disks given whole to one guest: a local disk, one of its partitions, or a SCSI/SAS/FC LUN.

A manifest names one by its stable id (`device = "wwn-0x5000c500a1b2c3d4"`, the ID column of
`xenbox storage disks`), never by its kernel name: sda today may be sdb after a reboot or a new
controller. It is looked up at each start, and refused when it is not attached, or when the
host itself or another running guest uses it: two writers on one disk corrupt it, and XenBox's
block hotplug script (unlike Xen's) does no sharing check of its own.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.storage import StorageError
from hypervisor.storage.datastore import boot_device
from hypervisor.storage.disks import Disk, Disks, boot_disk

VBD_PATH = re.compile(r'^/local/domain/0/backend/vbd/(\d+)/\d+/physical-device-path = "(.*)"$')


def parse_vbd_paths(text: str) -> dict[str, int]:
    """`xenstore-ls -f /local/domain/0/backend/vbd`: each attached device's path -> its guest's domid."""
    return {match.group(2): int(match.group(1)) for match in map(VBD_PATH.match, text.splitlines()) if match}


def attached_vbd_paths(run: runner.Runner = runner.run) -> dict[str, int]:
    try:
        return parse_vbd_paths(run(["xenstore-ls", "-f", "/local/domain/0/backend/vbd"], timeout=30))
    except runner.CommandError:
        return {}           # no guest has a block device yet: the folder does not exist


class HostDisks:
    def __init__(self, run: runner.Runner = runner.run, disks: Disks | None = None,
                 booted: Callable[[], str | None] = boot_device, sysfs: Path = Path("/sys")) -> None:
        self._run = run
        self._disks = disks or Disks(run, given=dict)   # finding a device by its id: whose it is matters not
        self._booted = booted
        self._sysfs = sysfs

    def device(self, target: str, stable_id: str, partition: int | None = None) -> Path:
        """The device node to give the guest as `target`; StorageError saying why it cannot be given."""
        disks = self._disks.list()
        named = f"the host disk {stable_id}" + (f", partition {partition}" if partition else "")
        disk = next((d for d in disks if d.known_as(stable_id)), None)
        if disk is None:
            raise StorageError(f"its disk {target} is {named}, which is not attached to this host: plug it in (or "
                               "log in to its iSCSI target), or fix device in appliance.toml (`xenbox storage "
                               "disks` lists the disks there are, with their ids)")
        named += f" ({disk.path})"
        if boot_disk([disk], self._booted()):
            raise StorageError(f"its disk {target} is {named}, the XenBox boot medium, which no guest is given")
        chosen = disk
        if partition is not None:
            chosen = disk.partition(partition)
            if chosen is None:
                have = ", ".join(p.name for p in disk.partitions) or "none"
                raise StorageError(f"its disk {target} is {named}, which has no partition {partition} (its "
                                   f"partitions: {have}): fix partition in appliance.toml")
            named = f"{chosen.path} ({stable_id}, partition {partition})"
        reason = self._used_by_host(disk, chosen)
        if reason:
            raise StorageError(f"its disk {target} is {named}, which {reason}: a disk given to a guest must be "
                               "unused by the host")
        attached = attached_vbd_paths(self._run)
        for part in (*chosen.walk(), *([disk] if chosen is not disk else [])):
            if part.path in attached:
                raise StorageError(f"its disk {target} is {named}, and {part.path} is already a disk of the running "
                                   f"guest with domain id {attached[part.path]}: a host disk goes to one guest at a "
                                   "time; shut that guest down first")
        return Path(chosen.path)

    def _used_by_host(self, disk: Disk, chosen: Disk) -> str | None:
        for part in chosen.walk():
            if part.mountpoint:
                return f"has {part.path} mounted at {part.mountpoint}"
            if part.vg:
                return f"holds {part.path}, a physical volume of the host's volume group {part.vg}"
            holders = self._holders(part.name)
            if holders:
                return f"has {part.path} in use by the host's device mapper ({', '.join(holders)})"
        if chosen is not disk and disk.vg:
            return f"is a physical volume of the host's volume group {disk.vg}"
        return None

    def _holders(self, name: str) -> list[str]:
        """Device-mapper devices (LVM volumes, dm-crypt) built on the device: the host has it open."""
        try:
            return sorted(entry.name for entry in (self._sysfs / "class" / "block" / name / "holders").iterdir())
        except OSError:
            return []
