"""Storage pools that appliance disks are carved from, and the volumes an appliance's disks become.

`local` is the data store's volume group: a manifest disk `pool = "local"` becomes the LVM
volume `<appliance>.<target>`, made at the appliance's first start and kept afterwards
(a later start never shrinks, grows or wipes it).
"""
from __future__ import annotations

from pathlib import Path

from hypervisor import runner
from hypervisor.storage import StorageError
from hypervisor.storage.datastore import DataStore
from hypervisor.storage.lvm import Lvm

POOLS = ("local",)
MIB = 1024 * 1024


def volume_name(appliance: str, target: str) -> str:
    return f"{appliance}.{target}"


class LocalPool:
    """Guest volumes in the data store's volume group."""

    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._lvm = Lvm(run)
        self._store = DataStore(run)

    def volume(self, appliance: str, target: str, size_mib: int, say=lambda line: None) -> Path:
        """The volume's device, made first if it does not exist yet."""
        status = self._store.status()
        if status.problem:
            raise StorageError(f"its disk {target} is a volume on the data store, which cannot be used now "
                               f"({status.problem})")
        if status.group is None:
            raise StorageError(f"its disk {target} is a volume on the data store, and this host has none: set one "
                               "up on the Storage screen (key t), or reattach its disks and reboot")
        group = status.group.name
        name = volume_name(appliance, target)
        found = [lv for lv in self._lvm.lvs(group) if lv.name == name]
        if not found:
            say(f"creating its {size_mib} MiB volume {group}/{name}")
            self._lvm.create_lv(group, name, size_mib * MIB)
        elif not found[0].active:
            self._lvm.activate(group, name)
        return Path(f"/dev/{group}/{name}")
