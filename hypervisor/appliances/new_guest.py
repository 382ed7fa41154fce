"""A new guest from an operator's choices: the console's new-guest steps and `xenbox appliance create`.

The choices become an ordinary appliance: an appliance.toml document, read back through the same strict
manifest checks as a bundle's, installed beside the others and started at once. Nothing is made until
every choice has been checked against this host (`problems`): a name taken, HVM on a CPU without it,
more memory or vCPUs than the host has, a disk bigger than its pool's free space.

INTERFACE ONLY (written first so the console's steps and the CLI can be built side by side): the
functions below are filled in on the `hvm` branch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

Say = Callable[[str], None]

KINDS = ("pv", "pvh", "hvm")
SOURCES = ("iso", "cd-drive", "kernel", "disk-image", "none")
NIC_MODELS = ("pv", "e1000", "rtl8139")        # pv: a vif only (guests with PV drivers); others emulated
DISK_BUSES = ("pv", "ide", "ahci")
FIRMWARES = ("bios", "uefi")                   # SeaBIOS or OVMF, HVM only


@dataclass(frozen=True)
class InstallSource:
    kind: str                       # one of SOURCES
    iso: str | None = None          # "iso": a name in the ISO library (or its full path there)
    drive: str | None = None        # "cd-drive": a host CD/DVD drive's stable id, never the boot medium
    kernel: str | None = None       # "kernel": a PV kernel file, with an optional ramdisk and cmdline
    ramdisk: str | None = None
    cmdline: str = ""
    image: str | None = None        # "disk-image": an existing image to boot from (converted in, see importing)


@dataclass(frozen=True)
class NewDisk:
    size_mib: int
    pool: str = "local"             # "local": a volume on the data store; else a file/NFS pool's image
    format: str = "raw"             # raw | qcow2 (qcow2 on file pools only)
    device: str | None = None       # instead of a pool: a host disk's stable id (size_mib ignored) ...
    partition: int | None = None    # ... or one of its partitions


@dataclass(frozen=True)
class GuestChoices:
    name: str
    kind: str                                   # one of KINDS
    source: InstallSource
    disk: NewDisk | None
    memory_mib: int
    vcpus: int = 1
    bridge: str = "xenbr0"
    nic_model: str = "pv"                       # one of NIC_MODELS (HVM only; PV/PVH guests have vifs)
    disk_bus: str = "pv"                        # one of DISK_BUSES (HVM only)
    firmware: str = "bios"                      # one of FIRMWARES (HVM only)
    windows: bool = False                       # the Windows profile (HVM only), see WINDOWS_NOTE
    serial_console: bool = True                 # HVM: an emulated serial port, attached with `e`
    autostart: bool = False


@dataclass(frozen=True)
class PoolOffer:
    name: str
    free_mib: int
    formats: tuple[str, ...]                    # ("raw",) on local, ("raw", "qcow2") on file pools


@dataclass(frozen=True)
class HostOffer:
    """What the steps may offer on this host, read once when they open."""
    hvm_available: bool
    hvm_reason: str                             # the overview's HVM line when unavailable, else ""
    memory_mib: int                             # the most one guest may be given
    cpus: int
    bridges: tuple[str, ...]
    pools: tuple[PoolOffer, ...]
    isos: tuple[str, ...]                       # ISO library names
    cd_drives: tuple[str, ...] = field(default=())   # stable ids, the boot medium left out


WINDOWS_NOTE = ("Windows under Xen 4.17: viridian enlightenments, stdvga, a USB tablet and local time are set, "
                "with an emulated e1000 until Xen's PV drivers are installed. libxl 4.17 has no vTPM and no "
                "Secure Boot, so Windows 11 installs only with workarounds.")


def host_offer() -> HostOffer:
    raise NotImplementedError("filled in on the hvm branch")


def problems(choices: GuestChoices, offer: HostOffer) -> list[str]:
    """Every reason these choices cannot be made on this host, each naming the choice and the fix."""
    raise NotImplementedError("filled in on the hvm branch")


def manifest_document(choices: GuestChoices) -> dict:
    """The appliance.toml the choices make, as a TOML document."""
    raise NotImplementedError("filled in on the hvm branch")


def create(choices: GuestChoices, say: Say = lambda line: None, start: bool = True) -> Path:
    """Check, make the disk, write and install the appliance, start it; returns its folder. Raises
    with a sentence (and changes nothing) when a check fails."""
    raise NotImplementedError("filled in on the hvm branch")
