"""Start one appliance: check it can run here, write its xl.cfg, `xl create` it."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from hypervisor.appliances import guest_paths, why_stopped
from hypervisor.appliances.manifest import Manifest
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.runner import CommandError
from hypervisor.storage import StorageError
from hypervisor.storage.iso_library import is_disc_image
from hypervisor.xen.domains import Domain, state_has, stopped_but_held
from hypervisor.xen.xl import Xl

if TYPE_CHECKING:
    from hypervisor.storage.pools import Pool

CONFIG_DIR = Path("/run/xenbox/xl")     # generated, never edited: the manifest is the source
# xl's monitor destroys a guest that has stopped within a second or so; a loaded host takes longer.
LET_GO_WAIT_S = 20


class CannotStart(Exception):
    """The appliance was not started; the message says why and what to do."""


OpenPool = Callable[[str], "Pool"]     # hypervisor.storage.pools.open_pool, unless a test gives its own
# (target, stable id, partition) -> the host disk's device node (hypervisor.storage.host_disks)
HostDisk = Callable[[str, str, "int | None"], Path]


def start(manifest: Manifest, xl: Xl, config_dir: Path = CONFIG_DIR, pools: OpenPool | None = None,
          host_disk: HostDisk | None = None, sleep: Callable[[float], None] = time.sleep,
          paused: bool = False) -> Path:
    """`paused`: built with its devices and firmware in place, not yet run (`xl create -p`; `xl unpause` runs it)."""
    held = domain_once_let_go(manifest.name, xl, sleep)
    if held is not None:
        raise CannotStart(why_held(held))
    # Kept (in RAM) for the Appliances screen and `appliance list`: why this start failed, or when it
    # began, so that a guest that stops by itself soon after is shown with its console's last lines.
    began = time.time()
    try:
        cfg = _start(manifest, xl, config_dir, pools, host_disk, began, paused)
    except CannotStart as error:
        why_stopped.record(manifest.name, why_stopped.Run(began, refused=str(error)))
        raise
    why_stopped.record(manifest.name, why_stopped.Run(began))
    return cfg


def _start(manifest: Manifest, xl: Xl, config_dir: Path, pools: OpenPool | None, host_disk: HostDisk | None,
           began: float, paused: bool) -> Path:
    free = xl.info().free_memory_mib
    if manifest.memory.initial_mib > free:
        raise CannotStart(f"{manifest.name} needs {manifest.memory.initial_mib} MiB but Xen has only {free} MiB "
                          f"free: stop another guest or lower memory.initial_mib in its appliance.toml")
    # Host disks first: finding them changes nothing, while a pool volume is made at first start.
    manifest = with_checked_paths(with_pool_volumes(with_host_disks(manifest, host_disk), pools))
    missing = [str(d.file) for d in manifest.disks if d.file is not None and not d.file.exists()]
    if missing:
        raise CannotStart(f"{manifest.name}'s disk {missing[0]} is missing: attach it or fix disks in appliance.toml")
    check_cd_images(manifest)
    config_dir.mkdir(parents=True, exist_ok=True)
    empty_drives = [disk.target for disk in manifest.disks if is_empty_drive(disk)]
    if empty_drives:
        manifest = with_placeholder_cds(manifest, config_dir)
    cfg = config_dir / f"{manifest.name}.cfg"
    cfg.write_text(to_xl_cfg(manifest))
    why_stopped.begin_console_log(manifest.name)
    try:
        xl.create(str(cfg), paused=paused or bool(empty_drives))
    except CommandError as error:
        # libxl's own error, and for an HVM guest what its device model (QEMU) said before it went:
        # a missing firmware, an ISO it could not open. Not `xl create`'s whole output.
        raise CannotStart(why_stopped.start_failure(manifest.name, error.output,
                                                    why_stopped.qemu_dm_tail(manifest.name, began),
                                                    error.sentence)) from error
    if empty_drives:
        _empty_before_it_runs(manifest.name, empty_drives, xl, paused)
    return cfg


# An HVM guest started with an empty CD drive cannot have a CD inserted later under libxl 4.17: its PV
# backend for the drive fails at start ("Could not stat file ''") and cd-insert then fails on QMP. A drive
# started with a file and ejected takes CDs (seen here). So an empty drive starts holding this small blank
# file, and is emptied while the guest is still paused, before its firmware runs. OpenXT does the same
# with a null.iso.
PLACEHOLDER_CD = "empty-cd.iso"


def is_empty_drive(disk) -> bool:
    return disk.cdrom and disk.file is None and disk.pool is None and disk.device is None


def with_placeholder_cds(manifest: Manifest, config_dir: Path) -> Manifest:
    placeholder = config_dir / PLACEHOLDER_CD
    if not placeholder.exists():
        placeholder.write_bytes(bytes(2048))        # one CD sector of zeros: no disc a firmware would boot
        placeholder.chmod(0o444)
    return replace(manifest, disks=tuple(replace(disk, file=placeholder) if is_empty_drive(disk) else disk
                                         for disk in manifest.disks))


def _empty_before_it_runs(name: str, drives: list[str], xl: Xl, paused: bool) -> None:
    try:
        for drive in drives:
            xl.cd_eject(name, drive)
    except CommandError as error:
        xl.destroy(name)        # built, never run: nothing of the guest's is lost
        raise CannotStart(f"{name} was not started: its empty CD drive could not be emptied "
                          f"({error.sentence}). Insert an ISO in its appliance.toml, or try again.") from error
    if not paused:
        xl.unpause(name)


def check_cd_images(manifest: Manifest) -> None:
    """Each CD-ROM image read where it says what it is, before Xen is asked: QEMU opens an image it cannot
    read, or one that is not a disc at all (a truncated download), and the guest then sits at its firmware's
    "no bootable device" with nothing said. An image QEMU cannot open at all fails later, in its log."""
    for disk in manifest.disks:
        if not disk.cdrom or disk.file is None or disk.format != "raw":
            continue
        try:
            disc = is_disc_image(disk.file)
        except OSError as error:
            raise CannotStart(f"{manifest.name}'s CD-ROM image {disk.file} cannot be read: {error.strerror}. "
                              f"Put a readable copy there, or eject it from {disk.target}.") from error
        if not disc:
            raise CannotStart(f"{manifest.name}'s CD-ROM image {disk.file} is not a CD or DVD image: it has no "
                              f"ISO 9660 or UDF descriptor at 32 KiB (a truncated or damaged download, or not an "
                              f"ISO). Download it again and check its sha256, or eject it from {disk.target}.")


def domain_once_let_go(name: str, xl: Xl, sleep: Callable[[float], None] = time.sleep) -> Domain | None:
    """The domain holding `name`, after giving one that has stopped time to go.

    `xl shutdown -w` returns when the guest has stopped, before xl's monitor destroys it: until
    then Xen still lists it, and a start right after a shutdown would be refused for it."""
    domain = xl.domain(name)
    waited = 0.0
    while domain is not None and stopped_but_held(domain) and waited < LET_GO_WAIT_S:
        sleep(0.5)
        waited += 0.5
        domain = xl.domain(name)
    return domain


def why_held(domain: Domain) -> str:
    name, domid = domain.name, domain.domid
    if state_has(domain.state, "crashed"):
        return (f"{name} crashed and Xen keeps it for inspection (domain {domid}): dump its core if you need it, "
                f"then destroy it (xenbox appliance destroy {name}) and start it again")
    if stopped_but_held(domain):
        return (f"{name} has stopped but Xen still holds it (domain {domid}): "
                f"destroy it (xenbox appliance destroy {name}) and start it again")
    return f"{name} is already running (domain {domid})"


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
    if any(disk.device and disk.cdrom for disk in manifest.disks):
        host_disk = with_cd_drives(host_disk, {d.target for d in manifest.disks if d.device and d.cdrom})
    try:
        disks = tuple(replace(d, file=host_disk(d.target, d.device, d.partition)) if d.device else d
                      for d in manifest.disks)
    except StorageError as error:
        raise CannotStart(f"{manifest.name}: {error}") from error
    return replace(manifest, disks=disks)


def with_cd_drives(host_disk: HostDisk, cd_targets: set[str]) -> HostDisk:
    """`host_disk`, with the guest's CD-ROM drives found among the host's CD/DVD drives instead."""
    from hypervisor.storage.cd_drives import cd_drives, drive_path

    def found(target: str, stable_id: str, partition: int | None) -> Path:
        if target in cd_targets:
            return drive_path(target, stable_id, cd_drives())
        return host_disk(target, stable_id, partition)
    return found


def with_checked_paths(manifest: Manifest) -> Manifest:
    """The guest path gate again, right before the xl.cfg is written: what the manifest's paths lead
    to now (a file swapped for a link since the manifest was read is refused), and files named
    where their links lead. Host disks found by `device =` were cleared by their own rules."""
    boot, disks = manifest.boot, manifest.disks
    named = [("kernel", boot.kernel), ("ramdisk", boot.ramdisk),
             *((f"disk {disk.target}", disk.file) for disk in disks if disk.device is None)]
    try:
        given = guest_paths.check_guest([(what, path) for what, path in named if path is not None],
                                        manifest.bundle_dir,
                                        cdroms=[f"disk {disk.target}" for disk in disks if disk.cdrom])
    except guest_paths.Refused as error:
        raise CannotStart(f"{manifest.name}: {error}") from error
    boot = replace(boot, kernel=given.get("kernel", boot.kernel), ramdisk=given.get("ramdisk", boot.ramdisk))
    disks = tuple(replace(disk, file=given.get(f"disk {disk.target}", disk.file)) for disk in disks)
    return replace(manifest, boot=boot, disks=disks)
