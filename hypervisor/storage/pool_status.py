"""Every pool appliance disks can go on, as the pools list shows it: its size, its free space, and
why it cannot take disks now (no data store, a share not mounted).
Read by `xenbox storage pool list` and the console's pools screen alike.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.named_pools import NamedPools


@dataclass(frozen=True)
class PoolRow:
    name: str
    type: str           # lvm | folder | nfs | file
    where: str
    size: int | None
    free: int | None
    problem: str | None


def space(folder: Path) -> tuple[int | None, int | None]:
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None, None
    return stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize


def pool_rows(pools: NamedPools | None = None, store: DataStore | None = None) -> list[PoolRow]:
    """Every pool with its space and, when it cannot take disks now, why."""
    pools, store = pools or NamedPools(), store or DataStore()
    status = store.status()
    missing = status.problem or (None if status.group else "this host has no data store (Storage screen, key t)")
    group = status.group
    rows = [PoolRow("local", "lvm", f"volume group {group.name}" if group else "the data store",
                    group.size if group else None, group.free if group else None, missing)]
    files = MOUNTPOINT / "images"
    rows.append(PoolRow("files", "file", str(files), *(space(MOUNTPOINT) if status.mounted else (None, None)),
                        missing or (None if status.mounted else "the data store is not mounted")))
    for pool in pools.list():
        problem = pools.problem(pool)
        rows.append(PoolRow(pool.name, pool.type, pool.where,
                            *(space(pools.folder(pool)) if problem is None else (None, None)), problem))
    return rows
