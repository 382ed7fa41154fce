"""A new guest from an operator's choices: the console's new-guest steps and `xenbox appliance create`.

The choices become an ordinary appliance: an appliance.toml document, read back through the same strict
manifest checks as a bundle's, installed beside the others and started at once. Nothing is made until
every choice has been checked against this host (`problems`): a name taken, HVM on a CPU without it,
more memory or vCPUs than the host has, a disk bigger than its pool's free space.

`host_offer` reads the host once (Xen, the pools, the bridges, the ISO library, the appliances there are);
`problems` is pure, so the console can ask it at every step; `create` asks it again before anything is
made, then installs the appliance as `appliance add` does (one rename, staging.py), makes its disk on its
pool and starts it through the same path as `xenbox appliance start`.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from hypervisor.appliances.manifest import MANIFEST_NAME, load_bundle
from hypervisor.settings.names import NAME, NAME_VALID
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError

if TYPE_CHECKING:
    from hypervisor.xen.xl import Xl

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
    names_taken: tuple[str, ...] = field(default=())  # appliances and running guests there are
    appliances_problem: str = ""                # why no appliance can be kept now (no data store), else ""


WINDOWS_NOTE = ("Windows under Xen 4.17: viridian enlightenments, stdvga, a USB tablet and local time are set, "
                "with an emulated e1000 until Xen's PV drivers are installed. libxl 4.17 has no vTPM and no "
                "Secure Boot, so Windows 11 installs only with workarounds.")


MIB = 1024 * 1024
DISK_TARGETS = {"pv": "xvda", "ide": "hda", "ahci": "hda"}
CD_TARGET = "hdc"           # IDE's secondary master, on every bus: libxl emulates a CD-ROM on IDE


class NewGuestRefused(Exception):
    """Nothing was made; the message says every reason, each with its fix."""


def host_offer(xl: Xl | None = None) -> HostOffer:
    from hypervisor.appliances.catalog import APPLIANCE_DIRS, discover
    from hypervisor.host.summary import detect_hvm
    from hypervisor.storage.cd_drives import cd_drives
    from hypervisor.storage.iso_library import IsoLibrary
    from hypervisor.storage.pool_status import pool_rows
    from hypervisor.xen.xl import Xl
    xl = xl or Xl.on_this_host()
    info = xl.info()
    hvm = detect_hvm(xl, info)
    domains = xl.domains()
    dom0 = sum(domain.memory_mib for domain in domains if domain.domid == 0)
    pools = tuple(PoolOffer(row.name, row.free // MIB, ("raw",) if row.type == "lvm" else ("raw", "qcow2"))
                  for row in pool_rows() if row.problem is None and row.free is not None)
    try:
        isos = tuple(iso.name for iso in IsoLibrary().list())
    except StorageError:
        isos = ()
    names = {entry.name for entry in discover()} | {domain.name for domain in domains}
    drives = tuple(drive.stable_id for drive in cd_drives())
    return HostOffer(hvm.available, hvm.reason, max(info.total_memory_mib - dom0, 0), info.nr_cpus, bridges(),
                     pools, isos, drives, tuple(sorted(names)), _appliances_problem(APPLIANCE_DIRS[0]))


def bridges(net: Path = Path("/sys/class/net")) -> tuple[str, ...]:
    return tuple(sorted(entry.parent.name for entry in net.glob("*/bridge")))


def _appliances_problem(into: Path) -> str:
    from hypervisor.storage.datastore import MOUNTPOINT, DataStore
    if into.is_relative_to(MOUNTPOINT) and not DataStore().is_mounted():
        return ("this host has no data store, so a new appliance would be gone at the next boot: make one first "
                "(the console's Storage screen, key t)")
    return ""


def problems(choices: GuestChoices, offer: HostOffer) -> list[str]:
    """Every reason these choices cannot be made on this host, each naming the choice and the fix."""
    c, found = choices, []
    if offer.appliances_problem:
        found.append(offer.appliances_problem)
    if not NAME.fullmatch(c.name):
        found.append(f"name {c.name!r} cannot name an appliance: use {NAME_VALID}")
    elif c.name in offer.names_taken:
        found.append(f"name {c.name}: there is already an appliance or guest called {c.name}; choose another name")
    if c.kind not in KINDS:
        found.append(f"kind {c.kind!r}: choose one of {', '.join(KINDS)}")
    elif c.kind != "pv" and not offer.hvm_available:
        found.append(f"kind {c.kind}: {c.kind.upper()} guests need hardware virtualization, and on this host "
                     f"HVM is unavailable — {offer.hvm_reason}; choose PV")
    if not 1 <= c.memory_mib <= offer.memory_mib:
        found.append(f"memory {c.memory_mib} MiB: give 1 to {offer.memory_mib} MiB, what this host can give a guest")
    if not 1 <= c.vcpus <= offer.cpus:
        found.append(f"vCPUs {c.vcpus}: give 1 to {offer.cpus}, this host's CPUs")
    if offer.bridges and c.bridge not in offer.bridges:
        found.append(f"bridge {c.bridge}: this host has {', '.join(offer.bridges)}; choose one of them")
    found += _hvm_problems(c) + _source_problems(c, offer) + _disk_problems(c, offer)
    return found


def _hvm_problems(c: GuestChoices) -> list[str]:
    found = [f"{what} {value!r}: choose one of {', '.join(valid)}" for what, value, valid in (
        ("NIC model", c.nic_model, NIC_MODELS), ("disk bus", c.disk_bus, DISK_BUSES), ("firmware", c.firmware, FIRMWARES))
        if value not in valid]
    if c.kind in ("pv", "pvh"):
        emulated = [what for what, given in (("NIC model " + c.nic_model, c.nic_model != "pv"),
                                              ("disk bus " + c.disk_bus, c.disk_bus != "pv"),
                                              ("firmware " + c.firmware, c.firmware != "bios"),
                                              ("the Windows profile", c.windows)) if given]
        found += [f"{what}: is for HVM guests; a {c.kind.upper()} guest has PV devices and no firmware: "
                  "choose HVM, or leave it out" for what in emulated]
    return found


def _source_problems(c: GuestChoices, offer: HostOffer) -> list[str]:
    source = c.source
    if source.kind not in SOURCES:
        return [f"install source {source.kind!r}: choose one of {', '.join(SOURCES)}"]
    if source.kind == "iso":
        if c.kind != "hvm":
            return [f"install source ISO: a CD-ROM boots only in an HVM guest; choose HVM, or a PV kernel"]
        if not source.iso:
            return ["install source ISO: name one of the ISO library (`xenbox iso list`)"]
        if not source.iso.startswith("/") and source.iso not in offer.isos:
            have = ", ".join(offer.isos) or "none yet"
            return [f"ISO {source.iso}: the ISO library has no such ISO (it has: {have}); add it with `xenbox iso add`"]
    if source.kind == "cd-drive":
        if c.kind != "hvm":
            return ["install source CD/DVD drive: a CD-ROM boots only in an HVM guest; choose HVM"]
        if source.drive not in offer.cd_drives:
            have = ", ".join(offer.cd_drives) or "none but the boot medium"
            return [f"CD/DVD drive {source.drive}: this host has no such drive (it has: {have}); the drive XenBox "
                    "booted from is never given to a guest"]
    if source.kind == "kernel":
        if c.kind == "hvm":
            return ["install source kernel: an HVM guest boots from its firmware; choose PV or PVH, or an ISO"]
        if not source.kernel:
            return ["install source kernel: give the kernel file's full path (on a pool)"]
    if source.kind == "disk-image" and not source.image:
        return ["install source disk-image: give the image's full path (on a pool)"]
    if source.kind == "none" and c.disk is None:
        return ["install source none and no disk: the guest would have nothing to boot; add a disk or a source"]
    return []


def _disk_problems(c: GuestChoices, offer: HostOffer) -> list[str]:
    disk = c.disk
    if disk is None or disk.device is not None:
        return []       # a host disk's own rules are checked when the appliance starts (host_disks)
    pools = {pool.name: pool for pool in offer.pools}
    if disk.pool not in pools:
        ready = ", ".join(pools) or "none"
        return [f"disk pool {disk.pool}: not a pool that can take disks now (ready: {ready}); `xenbox storage pool "
                "list` says why"]
    pool, found = pools[disk.pool], []
    if disk.format not in pool.formats:
        found.append(f"disk format {disk.format}: pool {pool.name} takes {', '.join(pool.formats)}"
                     + ('; qcow2 images go on the files pool or a pool added by name' if pool.name == "local" else ""))
    if disk.size_mib < 1:
        found.append(f"disk size {disk.size_mib} MiB: give at least 1 MiB")
    elif disk.size_mib > pool.free_mib:
        found.append(f"disk size {disk.size_mib} MiB: pool {pool.name} has {pool.free_mib} MiB free; give a smaller "
                     "disk, or choose another pool")
    return found


def manifest_document(choices: GuestChoices, iso_path: Callable[[str], Path] | None = None) -> dict:
    """The appliance.toml the choices make, as a TOML document. `iso_path` finds an ISO library name's file
    (the library's own `find`, unless a test gives one)."""
    c, source = choices, choices.source
    document: dict = {"name": c.name, "description": f"Made with `xenbox appliance create` ({c.kind})",
                      "type": c.kind, "memory": {"initial_mib": c.memory_mib}, "vcpus": {"initial": c.vcpus}}
    disks: list[dict] = []
    bus = c.disk_bus if c.kind == "hvm" else "pv"
    if c.disk is not None:
        disks.append(_disk_entry(c.disk, DISK_TARGETS[bus]))
    if source.kind == "disk-image" and source.image:
        disks.insert(0, {"file": source.image, "target": DISK_TARGETS[bus]})
        if c.disk is not None:
            disks[1]["target"] = "xvdb" if bus == "pv" else "hdb"
    if c.kind == "hvm":
        if source.kind == "iso" and source.iso:
            disks.append({"file": str(_iso_file(source.iso, iso_path)), "cdrom": True, "target": CD_TARGET})
        if source.kind == "cd-drive" and source.drive:
            disks.append({"device": source.drive, "cdrom": True, "target": CD_TARGET})
        from_cd = source.kind in ("iso", "cd-drive")
        document["boot"] = {"order": ["cd", "disk"] if from_cd else ["disk", "cd"]}
        nic_model = "e1000" if c.windows and c.nic_model == "pv" else c.nic_model   # Windows has no PV driver yet
        document["hvm"] = {"firmware": c.firmware, "nic_model": nic_model, "disk_bus": c.disk_bus,
                           "windows": c.windows, "serial": c.serial_console}
    elif source.kind == "kernel" and source.kernel:
        boot = {"kernel": source.kernel, "ramdisk": source.ramdisk, "cmdline": source.cmdline or None}
        document["boot"] = {key: value for key, value in boot.items() if value}
    else:
        document["boot"] = {"bootloader": "pygrub"}
    if disks:
        document["disks"] = disks
    document["network"] = [{"bridge": c.bridge}]
    if c.autostart:
        document["autostart"] = {"enabled": True}
    return document


def _disk_entry(disk: NewDisk, target: str) -> dict:
    if disk.device is not None:
        return {"device": disk.device, **({"partition": disk.partition} if disk.partition else {}), "target": target}
    entry = {"pool": disk.pool, "size_mib": disk.size_mib, "target": target}
    return entry if disk.pool == "local" else {**entry, "format": disk.format}


def _iso_file(iso: str, iso_path: Callable[[str], Path] | None) -> Path:
    if iso_path is None:
        from hypervisor.storage.iso_library import IsoLibrary
        iso_path = lambda name: IsoLibrary().find(name).path     # noqa: E731
    return iso_path(iso)


def create(choices: GuestChoices, say: Say = lambda line: None, start: bool = True, *, xl: Xl | None = None,
           offer: HostOffer | None = None, into: Path | None = None, pools=None,
           iso_path: Callable[[str], Path] | None = None, launch: Callable | None = None) -> Path:
    """Check, make the disk, write and install the appliance, start it; returns its folder. Raises
    with a sentence (and changes nothing) when a check fails; a start Xen refuses raises launch's
    CannotStart, the appliance made. `pools` opens a pool by name (hypervisor.storage.pools.open_pool),
    `launch` starts a manifest (hypervisor.appliances.launch.start with this host's xl), unless a test
    gives its own."""
    from hypervisor.appliances.catalog import APPLIANCE_DIRS
    from hypervisor.appliances.install import InstallError, install_bundle
    from hypervisor.settings.problems import FileProblems
    offer = offer or host_offer(xl)
    found = problems(choices, offer)
    if found:
        raise NewGuestRefused(f"{choices.name} was not made: " + "; ".join(found))
    into = into or APPLIANCE_DIRS[0]
    try:
        document = manifest_document(choices, iso_path)
    except StorageError as error:
        raise NewGuestRefused(f"{choices.name} was not made: {error}") from None
    with tempfile.TemporaryDirectory(prefix="xenbox-new-") as folder:
        (Path(folder) / MANIFEST_NAME).write_text(dumps(document))
        try:
            load_bundle(folder)             # the same strict checks as a bundle's, before anything is made
            target = install_bundle(Path(folder), into, say)
        except (FileProblems, InstallError) as error:
            raise NewGuestRefused(f"{choices.name} was not made: {error}") from None
    say(f"appliance {choices.name} written to {target / MANIFEST_NAME}")
    manifest = load_bundle(target)
    try:
        _make_disks(manifest, say, pools)
    except StorageError as error:
        shutil.rmtree(target, ignore_errors=True)       # an appliance without its disk is not kept
        raise NewGuestRefused(f"{choices.name} was not made: {error}") from None
    if start:
        if launch is None:
            from hypervisor.appliances.launch import start as start_appliance
            from hypervisor.xen.xl import Xl
            launch = lambda manifest: start_appliance(manifest, xl or Xl.on_this_host())    # noqa: E731
        launch(manifest)
        say(f"{choices.name} started")
    return target


def _make_disks(manifest, say: Say, pools) -> None:
    if pools is None:
        from hypervisor.storage.pools import open_pool
        pools = open_pool
    for disk in manifest.disks:
        if disk.pool:
            pools(disk.pool).volume(manifest.name, disk.target, disk.size_mib, disk.format, say)
