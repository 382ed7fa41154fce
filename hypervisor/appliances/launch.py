"""Start one appliance: check it can run here, write its xl.cfg, `xl create` it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Protocol

from hypervisor.appliances.manifest import Manifest
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.storage import StorageError
from hypervisor.runner import CommandError
from hypervisor.xl import Xl, libxl_reason

CONFIG_DIR = Path("/run/xenbox/xl")     # generated, never edited: the manifest is the source


class CannotStart(Exception):
    """The appliance was not started; the message says why and what to do."""


class Pool(Protocol):
    def volume(self, appliance: str, target: str, size_mib: int, disk_format: str = "raw") -> Path: ...


OpenPool = Callable[[str], Pool]
# (target, stable id, partition) -> the host disk's device node (hypervisor.storage.host_disks)
HostDisk = Callable[[str, str, "int | None"], Path]


def start(manifest: Manifest, xl: Xl, config_dir: Path = CONFIG_DIR, pools: OpenPool | None = None,
          host_disk: HostDisk | None = None) -> Path:
    running = xl.domain(manifest.name)
    if running is not None:
        raise CannotStart(f"{manifest.name} is already running (domain {running.domid})")
    free = xl.info().free_memory_mib
    if manifest.memory.initial_mib > free:
        raise CannotStart(f"{manifest.name} needs {manifest.memory.initial_mib} MiB but Xen has only {free} MiB "
                          f"free: stop another guest or lower memory.initial_mib in its appliance.toml")
    # Host disks first: finding them changes nothing, while a pool volume is made at first start.
    manifest = with_pool_volumes(with_host_disks(manifest, host_disk), pools)
    missing = [str(d.file) for d in manifest.disks if d.file is not None and not d.file.exists()]
    if missing:
        raise CannotStart(f"{manifest.name}'s disk {missing[0]} is missing: attach it or fix disks in appliance.toml")
    config_dir.mkdir(parents=True, exist_ok=True)
    cfg = config_dir / f"{manifest.name}.cfg"
    cfg.write_text(to_xl_cfg(manifest))
    try:
        xl.create(str(cfg))
    except CommandError as error:
        raise CannotStart(f"Xen refused to start {manifest.name}: {libxl_reason(error.output) or error.sentence}") \
            from error
    return cfg


def with_pool_volumes(manifest: Manifest, pools: OpenPool | None = None) -> Manifest:
    """The manifest with each pool disk's volume or image made (at first start) and named by its path."""
    if not any(disk.pool for disk in manifest.disks):
        return manifest
    if pools is None:
        from hypervisor.storage.pools import open_pool     # LVM only for appliances that use it
        pools = open_pool
    try:
        disks = tuple(replace(d, file=pools(d.pool).volume(manifest.name, d.target, d.size_mib, d.format))
                      if d.pool else d for d in manifest.disks)
    except StorageError as error:
        raise CannotStart(f"{manifest.name}: {error}") from error
    return replace(manifest, disks=disks)


def with_host_disks(manifest: Manifest, host_disk: HostDisk | None = None) -> Manifest:
    """The manifest with each host disk found by its stable id and named by its device node."""
    if not any(disk.device for disk in manifest.disks):
        return manifest
    if host_disk is None:
        from hypervisor.storage.host_disks import HostDisks    # lsblk and xenstore only when needed
        host_disk = HostDisks().device
    try:
        disks = tuple(replace(d, file=host_disk(d.target, d.device, d.partition)) if d.device else d
                      for d in manifest.disks)
    except StorageError as error:
        raise CannotStart(f"{manifest.name}: {error}") from error
    return replace(manifest, disks=disks)
