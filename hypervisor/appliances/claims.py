"""What the appliances claim on this host, read from their manifests when asked: the host disks
given to them (`device = ...`), the pools their disks go on, the volumes named after them.

Storage is told these by its callers (`Disks(given=...)`, `GuestVolumes(appliances=...)`,
`NamedPools.remove(name, users, ...)`): it never reads the appliances itself.
"""
from __future__ import annotations

from pathlib import Path

from hypervisor.storage.disks import Given


def disks_given() -> Given:
    """The host disks the appliances' manifests name: (stable id, partition) -> "appliance web as its disk xvdb"."""
    from hypervisor.appliances.catalog import discover     # bundles, read only when asked
    return {(disk.device, disk.partition): f"appliance {entry.name} as its disk {disk.target}"
            for entry in discover() if entry.manifest for disk in entry.manifest.disks if disk.device}


def appliance_names() -> list[str]:
    """Every appliance with a bundle, even one whose manifest is broken right now."""
    from hypervisor.appliances.catalog import discover
    return [entry.name for entry in discover()]


def appliances_on(pool: str) -> list[str]:
    """The appliances with a disk on `pool`."""
    from hypervisor.appliances.catalog import discover
    return sorted(entry.name for entry in discover()
                  if entry.manifest and any(disk.pool == pool for disk in entry.manifest.disks))


def appliances_with(path: Path) -> list[str]:
    """The appliances with `path` as a disk or CD (an ISO of the ISO library, say)."""
    from hypervisor.appliances.catalog import discover
    return sorted(entry.name for entry in discover()
                  if entry.manifest and any(disk.file == path for disk in entry.manifest.disks))
