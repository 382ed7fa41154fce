"""An appliance's `appliance.toml`, read strictly into frozen dataclasses.

Every problem is collected and raised at once (FileProblems), each naming its field
(`disks[1].format`), the value found and what would be valid.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import re
import stat
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from hypervisor.appliances import guest_paths
from hypervisor.appliances.safe_tar import LARGEST_MANIFEST, too_big_for_a_manifest, unpack_bundle
from hypervisor.network.nic import IFNAME
from hypervisor.settings.fields import TableReader
from hypervisor.settings.names import NAME, NAME_VALID
from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.settings.toml_file import syntax_problem

MANIFEST_NAME = "appliance.toml"
TYPES = ("pv", "pvh", "hvm")
ACTIONS = ("destroy", "restart", "preserve", "coredump-destroy", "coredump-restart", "rename-restart")
BOOT_DEVICES = ("disk", "cd", "network")
# xen-vbd-interface(7): xvd for PV disks, hd and sd emulated ones; xen-tools gives partitions (xvda2).
# /dev/disk/by-id names: wwn-0x5000c500a1b2c3d4, virtio-XB1, usb-Kingston_DT_101-0:0
STABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+@-]*")
DISK_TARGET = re.compile(r"(xvd[a-z]{1,3}|hd[a-z]|sd[a-z]{1,2})([1-9][0-9]?)?")
MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
# "local" and "files" are the data store's; other names are pools added on the host (named_pools.py),
# which a manifest is read without: an unknown one is reported when the appliance starts.
POOL_NAME = NAME
POOL_VALID = '"local", "files", or the name of a pool added on this host (`xenbox storage pool list`)'
HVM_ONLY_BOOT = "hvm guests boot from their disks (boot.order); kernel, ramdisk, cmdline and bootloader are for pv/pvh"
# [hvm]: how a fully virtualized guest's machine looks (xl.cfg(5)).
FIRMWARES = ("bios", "uefi")                # SeaBIOS, or OVMF (xl: bios = "ovmf")
NIC_MODELS = ("pv", "e1000", "rtl8139")     # pv: a PV card only; else that card emulated beside it until PV drivers load
DISK_BUSES = ("pv", "ide", "ahci")          # the emulated controller of the first disks until PV drivers load
IDE_TARGETS = ("hda", "hdb", "hdc", "hdd")  # ide and ahci: four places (the CD goes at hdc by custom)


@dataclass(frozen=True)
class HostLimits:
    memory_mib: int      # the most memory one guest may be given
    cpus: int


@dataclass(frozen=True)
class Memory:
    initial_mib: int
    maximum_mib: int     # the guest balloons between initial and maximum


@dataclass(frozen=True)
class Vcpus:
    initial: int
    maximum: int


@dataclass(frozen=True)
class Boot:
    kernel: Path | None = None        # pv/pvh, absolute: in the bundle, or where guest_paths allows
    ramdisk: Path | None = None
    cmdline: str = ""
    bootloader: str | None = None     # pv/pvh: "pygrub" instead of a kernel
    order: tuple[str, ...] = ()       # hvm: some of "disk", "cd", "network"


@dataclass(frozen=True)
class Hvm:
    """[hvm], for type = "hvm" only. The defaults are what an HVM appliance had before the table existed."""
    firmware: str = "bios"
    nic_model: str | None = None    # None: xl's own, an emulated rtl8139 beside the PV card
    disk_bus: str = "pv"
    windows: bool = False           # viridian, stdvga, a USB tablet, local time; an e1000 unless nic_model says
    serial: bool = True             # an emulated serial port as the console (`xl console -t serial`)

    @property
    def card(self) -> str | None:
        """The network card model xl is given."""
        return self.nic_model or ("e1000" if self.windows else None)


@dataclass(frozen=True)
class Disk:
    file: Path | None      # absolute, where guest_paths allows; None for a pool volume until the appliance
                           # starts, and for an empty CD-ROM drive (cdrom = true without file)
    format: str            # raw | qcow2
    target: str            # xvda, ...
    mode: str              # rw | ro
    cdrom: bool
    pool: str | None = None        # a volume on a storage pool, made at first start
    size_mib: int | None = None
    device: str | None = None      # a host disk (or LUN) given whole, by its stable id; found at each start
    partition: int | None = None   # ... or one of its partitions


@dataclass(frozen=True)
class NetworkInterface:
    bridge: str
    mac: str


@dataclass(frozen=True)
class Policy:
    on_crash: str = "destroy"          # Xen's own defaults
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"


@dataclass(frozen=True)
class Autostart:
    enabled: bool = False              # an appliance starts with the host only when asked to
    order: int = 0                     # lower starts first
    delay_s: int = 0                   # after the previous appliance started


@dataclass(frozen=True)
class CheckpointSchedule:
    """[checkpoint]: one every `every_min` minutes while the guest runs, the newest `keep` kept."""
    every_min: int | None = None    # None: only when asked (xenbox appliance checkpoint)
    keep: int = 3


@dataclass(frozen=True)
class Display:
    """An hvm guest's graphical console: off unless asked for, then reached only through websockify
    with TLS and a token (hypervisor/appliances/display.py); libxl's VNC listens on 127.0.0.1 alone."""
    enabled: bool = False


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    type: str
    memory: Memory
    vcpus: Vcpus
    boot: Boot
    disks: tuple[Disk, ...]
    network: tuple[NetworkInterface, ...]
    policy: Policy
    autostart: Autostart
    bundle_dir: Path
    display: Display = Display()
    hvm: Hvm | None = None          # type = "hvm": its [hvm] table, defaults when absent; None for pv/pvh
    checkpoint: CheckpointSchedule = CheckpointSchedule()


def load_bundle(path: Path | str, extract_into: Path | str | None = None,
                host: HostLimits | None = None) -> Manifest:
    """A bundle folder, or a .tar of one unpacked into the empty folder `extract_into`."""
    path = Path(path)
    if path.is_dir():
        bundle = path
    elif extract_into is None:
        raise FileProblems(str(path), [Problem("bundle", None, "is no folder; a .tar needs a folder to unpack into")])
    else:
        bundle = unpack_bundle(path, Path(extract_into), MANIFEST_NAME)
    return parse_manifest_bytes(read_manifest(bundle), bundle, host)


def read_manifest(bundle: Path) -> bytes:
    """The manifest's bytes, read no further than the largest a manifest may be: a bundle's
    appliance.toml could be a link to a disk image, a device or a pipe."""
    problem = None
    try:
        fd = os.open(bundle / MANIFEST_NAME, os.O_RDONLY | os.O_NONBLOCK)     # a pipe must not block
        with os.fdopen(fd, "rb") as file:
            found = os.fstat(file.fileno())
            if not stat.S_ISREG(found.st_mode):
                problem = "is not a file (a device, a pipe or a folder)"
            elif len(data := file.read(LARGEST_MANIFEST + 1)) > LARGEST_MANIFEST:
                problem = too_big_for_a_manifest(max(found.st_size, len(data)))
    except OSError as error:
        problem = f"cannot be read: {error.strerror}"
    if problem:
        raise FileProblems(str(bundle), [Problem(MANIFEST_NAME, None, problem)])
    return data


def parse_manifest_bytes(data: bytes, bundle_dir: Path, host: HostLimits | None = None) -> Manifest:
    try:
        text = data.decode("utf-8-sig")     # editors that add a byte-order mark are forgiven
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        problem = Problem(f"line {line}", data[error.start:error.end], "is not UTF-8 text; save the file as UTF-8")
        raise FileProblems(str(Path(bundle_dir) / MANIFEST_NAME), [problem]) from None
    return parse_manifest(text, bundle_dir, host)


def parse_manifest(text: str, bundle_dir: Path, host: HostLimits | None = None) -> Manifest:
    bundle_dir = Path(bundle_dir)
    source = str(bundle_dir / MANIFEST_NAME)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileProblems(source, [syntax_problem(str(error))]) from None
    except RecursionError:
        raise FileProblems(source, [Problem("toml", None, "is nested too deeply to be read")]) from None
    problems: list[Problem] = []
    doc = TableReader(data, "", problems)
    name = doc.string("name", 'add name = "my-appliance"', pattern=NAME, valid=NAME_VALID)
    description = doc.string("description", multiline=True) or ""
    kind = doc.string("type", 'add type = "pv", "pvh" or "hvm"', choices=TYPES)
    memory, vcpus = _memory(doc, host), _vcpus(doc, host)
    boot = _boot(doc, kind, bundle_dir)
    hvm = _hvm(doc, kind)
    disks, network = _disks(doc, bundle_dir, kind, hvm), _network(doc, name or "")
    policy, autostart = _policy(doc), _autostart(doc)
    display = _display(doc, kind)
    checkpoint = _checkpoint(doc)
    doc.finish()
    if problems:
        raise FileProblems(source, problems)
    return Manifest(name, description, kind, memory, vcpus, boot, disks, network, policy, autostart, bundle_dir,
                    display, hvm, checkpoint)


def _hvm(doc: TableReader, kind: str | None) -> Hvm | None:
    if kind != "hvm":
        doc.refuse("hvm", 'is for type = "hvm" guests only: pv and pvh guests have no emulated machine to set up')
        return None
    table = doc.table("hvm")
    if table is None:
        return Hvm()
    hvm = Hvm(table.string("firmware", choices=FIRMWARES) or "bios", table.string("nic_model", choices=NIC_MODELS),
              table.string("disk_bus", choices=DISK_BUSES) or "pv", bool(table.boolean("windows")),
              table.boolean("serial") is not False)
    table.finish()
    return hvm


def _memory(doc: TableReader, host: HostLimits | None) -> Memory | None:
    table = doc.table("memory", "add [memory] with initial_mib = <MiB>")
    if table is None:
        return None
    initial = table.integer("initial_mib", "add initial_mib = <MiB>", minimum=1, unit="MiB")
    maximum = table.integer("maximum_mib", minimum=1, unit="MiB")
    table.finish()
    if initial is None:
        return None
    if maximum is not None and maximum < initial:
        table.problem("maximum_mib", maximum, f"must be at least initial_mib ({initial}): the guest balloons between")
    top = maximum or initial
    if host is not None and top > host.memory_mib:
        table.problem("maximum_mib" if maximum else "initial_mib", top,
                      f"is more than the {host.memory_mib} MiB this host can give a guest")
    return Memory(initial, top)


def _vcpus(doc: TableReader, host: HostLimits | None) -> Vcpus:
    table = doc.table("vcpus")
    if table is None:
        return Vcpus(1, 1)
    initial = table.integer("initial", minimum=1, unit="vCPUs") or 1
    maximum = table.integer("maximum", minimum=1, unit="vCPUs")
    table.finish()
    if maximum is not None and maximum < initial:
        table.problem("maximum", maximum, f"must be at least vcpus.initial ({initial})")
    if host is not None and max(initial, maximum or 0) > host.cpus:
        table.problem("maximum" if maximum else "initial", max(initial, maximum or 0),
                      f"is more than this host's {host.cpus} CPUs")
    return Vcpus(initial, maximum or initial)


def _boot(doc: TableReader, kind: str | None, bundle_dir: Path) -> Boot | None:
    table = doc.table("boot", 'add [boot] with kernel = "<file in the bundle>" or bootloader = "pygrub"'
                      if kind in ("pv", "pvh") else None)
    if table is None:
        return Boot(order=("disk", "cd")) if kind == "hvm" else None     # xl's default, boot="cd"
    if kind == "hvm":
        for key in ("kernel", "ramdisk", "cmdline", "bootloader"):
            table.refuse(key, HVM_ONLY_BOOT)
        return Boot(order=_boot_order(table))
    table.refuse("order", "is for hvm guests only; pv and pvh guests boot boot.kernel or boot.bootloader")
    boot = Boot(_file(table, "kernel", bundle_dir), _file(table, "ramdisk", bundle_dir),
                table.string("cmdline") or "", table.string("bootloader", choices=("pygrub",)))
    table.finish()
    given = table.data.keys()
    if "kernel" in given and "bootloader" in given:
        table.problem("bootloader", table.data["bootloader"], "choose one: boot.kernel or boot.bootloader")
    elif "kernel" not in given and "bootloader" not in given and kind:     # no rule applies to a wrong type
        table.problem("kernel", None, 'missing: a pv or pvh guest needs kernel = "<file in the bundle>" '
                                      'or bootloader = "pygrub"')
    if "ramdisk" in given and "kernel" not in given:
        table.problem("ramdisk", table.data["ramdisk"], "goes with boot.kernel; pygrub finds its own ramdisk")
    return boot


def _boot_order(table: TableReader) -> tuple[str, ...]:
    order = table.take("order", list, 'a list such as ["disk", "cd"]')
    table.finish()
    if order is None:
        return ("disk", "cd")
    if not order or not all(device in BOOT_DEVICES for device in order) or len(set(order)) < len(order):
        table.problem("order", order, 'must list some of "disk", "cd", "network", each once')
    return tuple(order)


def _file(table: TableReader, key: str, bundle_dir: Path, required: bool = False, cdrom: bool = False) -> Path | None:
    value = table.string(key, f'add {key} = "<file in the bundle>"' if required else None)
    path, trouble = locate(value, bundle_dir, cdrom) if value is not None else (None, None)
    if trouble:
        table.problem(key, value, trouble)
    return path


def locate(value: str, bundle_dir: Path, cdrom: bool = False) -> tuple[Path | None, str | None]:
    """A file the manifest names, as an absolute path, or why not: a name relative to the bundle,
    or a full path the guest path gate lets a guest have (a pool's image, a data store volume, an
    ISO of the ISO library as a CD-ROM)."""
    if not value:
        return None, "must name a file"
    if value.startswith("/"):
        trouble = guest_paths.refusal(value, bundle_dir, cdrom=cdrom)
        return (None, trouble) if trouble else (Path(value), None)
    try:
        root, full = bundle_dir.resolve(), (bundle_dir / value).resolve()
        if not full.is_relative_to(root):
            return None, "must stay inside the bundle (no '..', no links out of it)"
        if not full.is_file():
            return None, f"is not a file in the bundle (looked for {full})"
    except (OSError, ValueError, RuntimeError) as error:   # name too long, NUL byte, link loop
        return None, f"cannot be looked up: {error}"
    trouble = guest_paths.refusal(full, bundle_dir)      # a device node the bundle holds
    return (None, trouble) if trouble else (full, None)


def _disks(doc: TableReader, bundle_dir: Path, kind: str | None, hvm: Hvm | None = None) -> tuple[Disk, ...]:
    disks, tables = [], doc.tables("disks")
    for table in tables:
        cdrom = bool(table.boolean("cdrom"))
        device, partition = None, None
        if "pool" in table.data:
            pool, size_mib, file, disk_format = _pool_volume(table, cdrom)
        elif "device" in table.data:
            pool, size_mib, file, disk_format = None, None, None, "raw"
            device, partition = _host_disk(table, cdrom)
        else:
            table.refuse("pool", "")        # absent here; named so the unknown-key hint lists them
            table.refuse("device", "")
            table.refuse("partition", 'goes with device: a partition of a host disk, e.g. device = '
                                      '"wwn-0x5000c500a1b2c3d4"')
            table.refuse("size_mib", 'goes with pool: a volume made on a pool, e.g. pool = "local"; '
                                     "a disk image in the bundle has its own size")
            pool, size_mib = None, None
            file = _file(table, "file", bundle_dir, required=not cdrom, cdrom=cdrom)    # a CD drive may be empty
            disk_format = table.string("format", choices=("raw", "qcow2")) or "raw"
        target = table.string("target", pattern=DISK_TARGET, valid="a device name such as xvda, xvdb, hda or sda")
        mode = table.string("mode", choices=("rw", "ro")) or ("ro" if cdrom else "rw")
        table.finish()
        if cdrom and file is None and pool is None and device is None and kind in ("pv", "pvh"):
            table.problem("file", None, "missing: an empty CD-ROM drive is for hvm guests; name the image, "
                                        'file = "<file in the bundle>"')
        if cdrom and mode == "rw":
            table.problem("mode", mode, 'a CD-ROM is read-only: write mode = "ro" or leave mode out')
        disks.append(Disk(file, disk_format, target or "", mode, cdrom, pool, size_mib, device, partition))
    # A disk without a target gets the first name no other disk has: xvda, xvdb, ... (hda-hdd on an ide or
    # ahci bus, which has four places).
    taken = {disk.target for disk in disks}
    names = iter(IDE_TARGETS) if hvm and hvm.disk_bus != "pv" else map(xvd_name, itertools.count())
    free = (name for name in names if name not in taken)
    for index, disk in enumerate(disks):
        if not disk.target:
            target = next(free, None)
            if target is None:
                tables[index].problem("target", None, f"has no place left: an {hvm.disk_bus} bus has four, "
                                                      "hda-hdd; give fewer disks, or disk_bus = \"pv\" in [hvm]")
            disks[index] = replace(disk, target=target or "")
    first: dict[str, int] = {}
    for index, disk in enumerate(disks):
        if first.setdefault(disk.target, index) != index:
            tables[index].problem("target", disk.target, f"is already used by disks[{first[disk.target]}]")
    return tuple(disks)


def _pool_volume(table: TableReader, cdrom: bool) -> tuple[str | None, int | None, None, str]:
    """A disk on a pool, made at the appliance's first start: a raw LVM volume on `local`, a raw or
    qcow2 image file on `files` or on a pool added by name."""
    pool = table.string("pool", pattern=POOL_NAME, valid=POOL_VALID)
    size_mib = table.integer("size_mib", "add size_mib = <MiB>, the size of the volume made at first start",
                             minimum=1, unit="MiB")
    table.refuse("file", "a disk is a file in the bundle or a volume on a pool, not both: drop file or pool")
    table.refuse("device", "a disk is a volume on a pool or a host disk, not both: drop device or pool")
    table.refuse("partition", "goes with device (a host disk), not with pool: drop it")
    if pool == "local":
        table.refuse("format", 'volumes on the local pool are raw: leave format out, or use pool = "files" '
                               "for a qcow2 image")
        disk_format = "raw"
    else:
        disk_format = table.string("format", choices=("raw", "qcow2")) or "raw"
    if cdrom:
        table.problem("cdrom", True, "a volume on a pool is a disk; a CD-ROM is an image file in the bundle")
    return pool, size_mib, None, disk_format


def _host_disk(table: TableReader, cdrom: bool) -> tuple[str | None, int | None]:
    """A host disk, or one of its partitions, given to the guest as it is (raw); with cdrom, a CD/DVD drive."""
    device = table.string("device", pattern=STABLE_ID, valid="a disk's stable id, as the ID column of `xenbox "
                          "storage disks` shows it (e.g. wwn-0x5000c500a1b2c3d4 or virtio-XB1), not /dev/sdX; with "
                          "cdrom = true a CD/DVD drive's, as `xenbox appliance create --help` lists them "
                          "(e.g. pci-0000:00:01.1-ata-2.1)")
    partition = table.integer("partition", minimum=1)
    for key in ("file", "size_mib", "format"):
        table.refuse(key, "a host disk is given as it is, raw, at its own size: drop " + key)
    if cdrom and partition is not None:
        table.problem("partition", partition, "a CD-ROM with device is the host's CD/DVD drive, which has no "
                      "partitions: drop partition")
    return device, partition


def xvd_name(index: int) -> str:
    """0 -> xvda, 25 -> xvdz, 26 -> xvdaa (xen-vbd-interface(7))."""
    letters = ""
    while index >= 0:
        index, rest = divmod(index, 26)
        letters, index = chr(ord("a") + rest) + letters, index - 1
    return "xvd" + letters


def _network(doc: TableReader, name: str) -> tuple[NetworkInterface, ...]:
    interfaces: dict[str, NetworkInterface] = {}
    for index, table in enumerate(doc.tables("network")):
        bridge = table.string("bridge", pattern=IFNAME, valid="a bridge name of 1-15 letters, digits, '_', '.', '-'")
        mac = table.string("mac", pattern=MAC, valid="six two-digit hex bytes such as 00:16:3e:12:34:56")
        table.finish()
        if mac is not None and int(mac[:2], 16) & 1:
            table.problem("mac", mac, "is a multicast address; a network card needs a unicast one (even first byte)")
        mac = (mac or generated_mac(name, index)).lower()
        if mac in interfaces:
            table.problem("mac", mac, "is already used by another card of this appliance")
        interfaces[mac] = NetworkInterface(bridge or "xenbr0", mac)
    return tuple(interfaces.values())


def generated_mac(name: str, index: int) -> str:
    """The same MAC every time for this appliance's n-th card, so DHCP leases survive restarts.
    Xen's OUI, and the fourth byte below 0x80 as in libxl's own random MACs."""
    digest = hashlib.sha256(f"{name}/{index}".encode()).digest()
    return f"00:16:3e:{digest[0] & 0x7f:02x}:{digest[1]:02x}:{digest[2]:02x}"


def _policy(doc: TableReader) -> Policy:
    table = doc.table("policy")
    if table is None:
        return Policy()
    actions = {key: table.string(key, choices=ACTIONS) for key in ("on_crash", "on_poweroff", "on_reboot")}
    table.finish()
    return Policy(**{key: value for key, value in actions.items() if value is not None})


def _autostart(doc: TableReader) -> Autostart:
    table = doc.table("autostart")
    if table is None:
        return Autostart()
    autostart = Autostart(bool(table.boolean("enabled")), table.integer("order") or 0,
                          table.integer("delay_s", minimum=0, unit="seconds") or 0)
    table.finish()
    return autostart


def _checkpoint(doc: TableReader) -> CheckpointSchedule:
    table = doc.table("checkpoint")
    if table is None:
        return CheckpointSchedule()
    every = table.integer("every_min", minimum=5, unit="minutes")
    keep = table.integer("keep", minimum=1)
    table.finish()
    return CheckpointSchedule(every, keep if keep is not None else CheckpointSchedule.keep)


def _display(doc: TableReader, kind: str | None) -> Display:
    table = doc.table("display")
    if table is None:
        return Display()
    enabled = bool(table.boolean("enabled"))
    table.finish()
    if enabled and kind in ("pv", "pvh"):
        table.problem("enabled", True, "is for hvm guests: a pv or pvh guest's console is its text console "
                                       "(xenbox appliance console NAME); drop [display]")
    return Display(enabled)
