"""A USB stick or a disk partition that brings bundles, mounted read-only for as long as it is read.

dom0 has no automounter. `xenbox appliance add --from-device` and the console's add prompt mount the
device themselves under /run/xenbox/media/NAME, with the type blkid reads (mount loads a filesystem's
module only when it is named), and unmount it when done, whatever happened. A device already mounted
is read where it is, and left mounted.
"""
from __future__ import annotations

import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from hypervisor import runner
from hypervisor.storage import StorageError
from hypervisor.storage.mounts import MOUNT_TABLE, read_mounts

MEDIA = Path("/run/xenbox/media")
DEV = Path("/dev")
SYS_BLOCK = Path("/sys/class/block")
DEVICE_NAME = re.compile(r"[a-z][a-z0-9]*")       # sdb1, vdc, nvme0n1p2, mmcblk0p1, sr0
# A journal that needs replaying is replayed by a read-only mount too: these options leave the device
# untouched, as a stick pulled out of another machine should be.
UNTOUCHED = {"ext3": ["noload"], "ext4": ["noload"], "xfs": ["norecovery"]}
NOT_FILES = {"LVM2_member": "an LVM physical volume", "linux_raid_member": "a RAID member", "swap": "swap space",
             "crypto_LUKS": "an encrypted (LUKS) volume"}
Say = Callable[[str], None]


class MediaError(StorageError):
    """The device cannot be read for bundles; the message says why and what to give instead."""


def is_block_device(path: Path) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def device_path(text: str, dev: Path = DEV) -> Path:
    """/dev/sdb1 for 'sdb1' or '/dev/sdb1'; MediaError unless it names a block device."""
    name = text.strip().removeprefix(str(dev) + "/")
    if not DEVICE_NAME.fullmatch(name):
        raise MediaError(f"{text!r} is no device name: give one such as sdb1 or /dev/sdb1 "
                         "(`xenbox storage disks` lists them)")
    path = dev / name
    if not is_block_device(path):
        raise MediaError(f"{path} is not a disk or partition of this host: plug the stick in, or give one "
                         "`xenbox storage disks` lists")
    return path


def where_mounted(device: Path, table: Path = MOUNT_TABLE) -> Path | None:
    """Where `device` is mounted now, if it is (compared by device number, whatever name mounted it)."""
    try:
        wanted, mounts = os.stat(device).st_rdev, read_mounts(table)
    except OSError:
        return None
    for mount in mounts:
        try:
            if mount.source.startswith("/") and os.stat(mount.source).st_rdev == wanted:
                return Path(mount.mountpoint)
        except OSError:
            continue
    return None


@contextmanager
def mounted_read_only(device: str, say: Say = lambda line: None, run: runner.Runner = runner.run,
                      media: Path = MEDIA, mounts: Path = MOUNT_TABLE,
                      sys_block: Path = SYS_BLOCK) -> Iterator[Path]:
    """The folder where `device` (sdb1 or /dev/sdb1) can be read, mounted read-only there for the
    duration of the `with`, then unmounted again."""
    path = device_path(device)
    folder = media / path.name
    already = where_mounted(path, mounts)
    if already is not None and already != folder:       # mounted by the operator (or the boot medium)
        say(f"{path} is mounted at {already} already: reading it there")
        yield already
        return
    if already is None:
        _mount(path, folder, say, run, sys_block)
    try:
        yield folder
    finally:
        try:
            run(["umount", str(folder)], timeout=60)
            folder.rmdir()
            say(f"{path} unmounted")
        except (runner.CommandError, OSError) as error:
            sentence = error.sentence if isinstance(error, runner.CommandError) else str(error)
            say(f"{path} could not be unmounted from {folder} ({sentence}): `umount {folder}` before pulling it out")


def _mount(path: Path, folder: Path, say: Say, run: runner.Runner, sys_block: Path) -> None:
    try:
        kind = run(["blkid", "-o", "value", "-s", "TYPE", str(path)], timeout=60).strip()
    except runner.CommandError:
        kind = ""                # blkid exits 2 when it finds nothing it knows
    if not kind:
        partitions = sorted(entry.name for entry in _entries(sys_block / path.name) if entry.name.startswith(path.name))
        raise MediaError(f"{path} holds no filesystem" + (
            f": it has partitions ({', '.join(partitions)}); give the one holding the bundles, such as {partitions[0]}"
            if partitions else ": put the bundles on a stick formatted FAT32, exFAT or ext4"))
    if kind in NOT_FILES:
        raise MediaError(f"{path} is {NOT_FILES[kind]}, not a filesystem holding files: give the stick or "
                         "partition the bundles are on")
    folder.mkdir(parents=True, exist_ok=True)
    options = ",".join(["ro", *UNTOUCHED.get(kind, [])])
    try:
        run(["mount", "-t", kind, "-o", options, str(path), str(folder)], timeout=60)
    except runner.CommandError as error:
        folder.rmdir()
        raise MediaError(f"{path} ({kind}) could not be mounted: {error.sentence}") from None
    say(f"{path} ({kind}) mounted read-only at {folder}")


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
