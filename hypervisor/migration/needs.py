"""What a guest needs on any host it moves to, read from its manifest and this host's storage.

A disk can move only if the target sees the very same storage: an NFS share (by its server:/export) or
an iSCSI LUN (by its stable id). A disk on the data store (pools local and files, a bundle's own image),
on a folder pool, or a local host disk exists on this host only: the guest is then not movable, and the
reason names the disk. A CD drive holding an image from this host's ISO library counts the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from hypervisor.appliances.manifest import Disk, Manifest

NFS, ISCSI = "nfs", "iscsi"


@dataclass(frozen=True)
class StorageNeed:
    kind: str           # NFS | ISCSI
    identity: str       # server:/export, or a LUN's stable id
    disk: str           # "disk xvdb on pool nas": which disk needs it, for the message


@dataclass(frozen=True)
class GuestNeeds:
    name: str
    type: str                               # pv | pvh | hvm
    memory_mib: int                         # what the guest has now, all of which the target must give it
    bridges: tuple[str, ...]
    storage: tuple[StorageNeed, ...]
    local_only: tuple[str, ...]             # disks that exist on this host only: the guest cannot move


def normal_share(share: str) -> str:
    """nas:/export/xen/ and nas:/export//xen are the same share as nas:/export/xen."""
    server, _, export = share.partition(":")
    parts = [part for part in export.split("/") if part]
    return f"{server.lower()}:/{'/'.join(parts)}"


def guest_needs(manifest: Manifest, memory_mib: int, nfs_pools: Mapping[str, str],
                nfs_folders: Mapping[Path, str], is_iscsi_lun: Callable[[str], bool]) -> GuestNeeds:
    """`nfs_pools`: NFS pool name -> its share; `nfs_folders`: where each share is mounted -> the share
    (a disk given by path may lie in one); `is_iscsi_lun(device id)`: is that disk a LUN of an iSCSI target."""
    storage, local = [], []
    for disk in manifest.disks:
        need, why = _disk_need(disk, nfs_pools, nfs_folders, is_iscsi_lun)
        if need is not None:
            storage.append(need)
        else:
            local.append(why)
    return GuestNeeds(manifest.name, manifest.type, memory_mib, tuple(dict.fromkeys(n.bridge for n in manifest.network)),
                      tuple(storage), tuple(local))


def _disk_need(disk: Disk, nfs_pools: Mapping[str, str], nfs_folders: Mapping[Path, str],
               is_iscsi_lun: Callable[[str], bool]) -> tuple[StorageNeed | None, str]:
    label = f"{'CD drive' if disk.cdrom else 'disk'} {disk.target}"
    if disk.device is not None:
        if is_iscsi_lun(disk.device):
            return StorageNeed(ISCSI, disk.device, f"{label} (iSCSI LUN {disk.device})"), ""
        return None, f"{label} is this host's own disk {disk.device}"
    if disk.pool is not None:
        if disk.pool in nfs_pools:
            share = normal_share(nfs_pools[disk.pool])
            return StorageNeed(NFS, share, f"{label} on pool {disk.pool} ({share})"), ""
        where = "the data store" if disk.pool in ("local", "files") else f"folder pool {disk.pool}"
        return None, f"{label} is on {where}, on this host only"
    if disk.file is not None:
        for folder, share in nfs_folders.items():
            if disk.file.is_relative_to(folder):
                share = normal_share(share)
                return StorageNeed(NFS, share, f"{label} ({disk.file.name} on {share})"), ""
        return None, f"{label} is the file {disk.file}, on this host only"
    return None, f"{label} has no storage named"
