"""The host's CD/DVD drives, to give one to an HVM guest as its CD-ROM: an installer on a disc in the server's drive.

A drive is named by where it is plugged in, as udev's /dev/disk/by-path names are made: the PCI controller,
then the ATA port and device (`ata-2.0`) or the SCSI channel:target:lun (`scsi-0:0:1`), e.g. `pci-0000:00:01.1-ata-2.1`.
dom0 runs no udev, and an ATAPI drive's serial number is not in sysfs (only the drive's IDENTIFY data holds
it), so a drive is known by its place: stable for as long as it stays in its slot. The kernel's name (sr0,
sr1) is not: it follows probe order. The drive XenBox booted from is never offered.
"""
from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor.storage import StorageError
from hypervisor.storage.datastore import boot_device

PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$")
ATA_PORT = re.compile(r"^ata(\d+)$")
SCSI_DEVICE = re.compile(r"^\d+:(\d+:\d+:\d+)$")         # host:channel:target:lun; the host number follows probe order
USB_PORT = re.compile(r"^\d+-[\d.]+$")                   # 2-1, 1-1.4
SECTOR = 512
# linux/cdrom.h: the drive's own word on its tray. The size sysfs shows is no answer: an empty drive reads
# as 1 GiB there (the sr driver's guess when the drive cannot say its capacity, seen under QEMU).
CDROM_DRIVE_STATUS, CDSL_CURRENT, CDS_DISC_OK = 0x5326, 0x7FFFFFFF, 4


@dataclass(frozen=True)
class CdDrive:
    name: str               # sr0
    path: str               # /dev/sr0
    stable_id: str          # pci-0000:00:01.1-ata-2.1
    model: str              # "QEMU DVD-ROM", as the drive says
    disc_bytes: int         # 0: no disc in it

    @property
    def summary(self) -> str:
        disc = f"a disc of {self.disc_bytes // (1024 * 1024)} MiB" if self.disc_bytes else "no disc"
        return f"{self.stable_id} ({self.path}, {self.model or 'CD/DVD drive'}, {disc})"


def place_id(device_path: Path, sysfs: Path = Path("/sys")) -> str | None:
    """The by-path style name of a block device, from its resolved sysfs path; None when it has no PCI parent."""
    parts = device_path.parts
    pci = [part for part in parts if PCI.match(part)]
    if not pci:
        return None
    words = [f"pci-{pci[-1]}"]
    usb = [part for part in parts if USB_PORT.match(part)]
    if usb:
        words.append(f"usb-{usb[-1].split('-', 1)[1]}")
    ata = next((ATA_PORT.match(part) for part in parts if ATA_PORT.match(part)), None)
    scsi = next((SCSI_DEVICE.match(part) for part in reversed(parts) if SCSI_DEVICE.match(part)), None)
    if ata is not None:       # the port, and which of its devices: IDE's master (0) or slave (1)
        port = _read(sysfs / "class" / "ata_port" / ata.group(0) / "port_no") or ata.group(1)
        words.append(f"ata-{port}.{scsi.group(1).split(':')[1] if scsi else 0}")
    elif scsi is not None:
        words.append(f"scsi-{scsi.group(1)}")
    return "-".join(words)


def disc_in(path: str) -> bool:
    """Whether the drive at `path` holds a disc it can read (opened without waiting for one)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, CDROM_DRIVE_STATUS, CDSL_CURRENT) == CDS_DISC_OK
    except OSError:
        return False
    finally:
        os.close(fd)


def cd_drives(sysfs: Path = Path("/sys"), booted: Callable[[], str | None] = boot_device,
              has_disc: Callable[[str], bool] = disc_in) -> list[CdDrive]:
    """The host's CD/DVD drives (sr*), the boot medium left out, by kernel name."""
    boot = booted()
    found = []
    for block in sorted((sysfs / "block").glob("sr*")):
        path = f"/dev/{block.name}"
        if path == boot:
            continue
        stable_id = place_id(block.resolve(), sysfs)
        if stable_id is None:
            continue
        device = block / "device"
        model = " ".join(filter(None, (_read(device / "vendor"), _read(device / "model"))))
        sectors = _read(block / "size")
        disc = int(sectors) * SECTOR if sectors.isdigit() and has_disc(path) else 0
        found.append(CdDrive(block.name, path, stable_id, model, disc))
    return found


def drive_path(target: str, stable_id: str, drives: list[CdDrive]) -> Path:
    """The device node of the drive `stable_id` for the guest's `target`; StorageError saying why not."""
    drive = next((d for d in drives if d.stable_id == stable_id), None)
    if drive is None:
        have = "; ".join(d.summary for d in drives) or "none but the boot medium"
        raise StorageError(f"its CD-ROM {target} is the host's CD/DVD drive {stable_id}, which this host does not "
                           f"have (or it is the XenBox boot medium): fix device in appliance.toml. Drives there are: "
                           f"{have}")
    return Path(drive.path)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""
