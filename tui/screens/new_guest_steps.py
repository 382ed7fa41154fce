"""The new-guest steps as data: what each one asks, what it offers on this host, how a typed answer is read.

A `Draft` holds every answer given so far, keyed by step; going back and forth (or choosing another kind)
never loses one. Only the steps that apply to the answers before them count: `choices` builds the
GuestChoices from those alone, so an ISO chosen for an HVM guest is not carried into a PV one. No Textual,
no Xen here: what this host offers comes in as a HostOffer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from hypervisor.appliances.manifest import NAME
from hypervisor.appliances.new_guest import (WINDOWS_NOTE, GuestChoices, HostOffer, InstallSource, NewDisk,
                                             PoolOffer)
from tui.invalid import Invalid

Draft = dict[str, Any]
HOST_DISK, NO_DISK = "host-disk", "none"
HOST_DISK_ID = re.compile(r"(?P<device>[^/\s]+?)(-part(?P<partition>\d+))?")


@dataclass(frozen=True)
class Context:
    """What a step may look at besides the draft: the host's offer and the appliance names taken."""
    offer: HostOffer
    taken: frozenset[str] = frozenset()

    def pool(self, name: str) -> PoolOffer | None:
        return next((pool for pool in self.offer.pools if pool.name == name), None)


@dataclass(frozen=True)
class Option:
    value: Any
    label: str


def _always(draft: Draft, at: Context) -> bool:
    return True


def _nothing(draft: Draft, at: Context) -> str:
    return ""


@dataclass(frozen=True)
class Step:
    key: str                                                        # the draft's key this step fills
    title: str
    question: str
    options: Callable[[Draft, Context], list[Option]] | None = None  # a choice; None: typed
    read: Callable[[str, Draft, Context], Any] | None = None         # typed text -> value, or Invalid
    default: Callable[[Draft, Context], Any] = lambda draft, at: None
    note: Callable[[Draft, Context], str] = _nothing                 # shown under the question
    applies: Callable[[Draft, Context], bool] = _always
    show: Callable[[Any], str] = field(default=lambda value: "" if value is None else str(value))

    def value(self, draft: Draft, at: Context) -> Any:
        """The answer given, else what is offered first."""
        return draft[self.key] if self.key in draft else self.default(draft, at)


# -- readers ---------------------------------------------------------------------------------------------
def read_name(text: str, draft: Draft, at: Context) -> str:
    if not NAME.fullmatch(text):
        raise Invalid("a name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    if text in at.taken:
        raise Invalid(f"an appliance named {text} exists already: choose another name")
    return text


def _path(text: str, what: str) -> str:
    if not text.startswith("/"):
        raise Invalid(f"type the {what}'s full path in dom0, starting with /")
    return text


def read_kernel(text: str, draft: Draft, at: Context) -> str:
    return _path(text, "kernel")


def read_ramdisk(text: str, draft: Draft, at: Context) -> str | None:
    return _path(text, "ramdisk") if text else None


def read_cmdline(text: str, draft: Draft, at: Context) -> str:
    return text


def read_image(text: str, draft: Draft, at: Context) -> str:
    return _path(text, "disk image")


def read_device(text: str, draft: Draft, at: Context) -> tuple[str, int | None]:
    """'ID' or '/dev/disk/by-id/ID', or one of its partitions: 'ID-part2' -> (ID, partition)."""
    found = HOST_DISK_ID.fullmatch(text.removeprefix("/dev/disk/by-id/"))
    if not found:
        raise Invalid("type the host disk's stable id as the Storage screen (t) shows it, e.g. "
                      "ata-QEMU_HARDDISK_QM00002, and -part2 for one of its partitions")
    return found["device"], int(found["partition"]) if found["partition"] else None


def mib(text: str, what: str) -> int:
    """'512', '512M', '512MiB', '20G', '20GiB' -> MiB."""
    number = text.strip().lower().removesuffix("ib").removesuffix("b")
    factor = 1024 if number.endswith("g") else 1
    number = number.removesuffix("g").removesuffix("m").strip()
    if not (number.isascii() and number.isdigit()) or len(number) > 9:
        raise Invalid(f"type {what} in MiB, or with G for GiB: 512, 20G")
    return int(number) * factor


def read_size(text: str, draft: Draft, at: Context) -> int:
    size = mib(text, "the disk's size")
    pool = at.pool(draft["disk"])
    if size < 1:
        raise Invalid("a disk needs at least 1 MiB")
    if pool is not None and size > pool.free_mib:
        raise Invalid(f"{size} MiB is more than pool {pool.name} has free ({pool.free_mib} MiB): "
                      "type a smaller size, or Esc and choose another pool")
    return size


def read_memory(text: str, draft: Draft, at: Context) -> int:
    memory = mib(text, "the memory")
    if memory < 16:
        raise Invalid("a guest needs at least 16 MiB")
    if memory > at.offer.memory_mib:
        raise Invalid(f"{memory} MiB is more than this host can give one guest ({at.offer.memory_mib} MiB)")
    return memory


def read_vcpus(text: str, draft: Draft, at: Context) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= at.offer.cpus:
        raise Invalid(f"type a number of vCPUs from 1 to {at.offer.cpus} (this host's CPUs)")
    return int(text)


# -- what the choices offer ------------------------------------------------------------------------------
def kinds(draft: Draft, at: Context) -> list[Option]:
    offered = [Option("pv", "PV    a Linux or BSD kernel that knows Xen (fastest to start)"),
               Option("pvh", "PVH   a PV kernel in a hardware container (Linux 4.11+)")]
    if at.offer.hvm_available:
        offered.append(Option("hvm", "HVM   any operating system, installed from an ISO or CD"))
    return offered


def kind_note(draft: Draft, at: Context) -> str:
    return "" if at.offer.hvm_available else f"HVM is not offered on this host: {at.offer.hvm_reason}"


def sources(draft: Draft, at: Context) -> list[Option]:
    if draft.get("kind") == "hvm":
        offered = [Option("iso", "an ISO from the library")] if at.offer.isos else []
        if at.offer.cd_drives:
            offered.append(Option("cd-drive", "the host's CD/DVD drive"))
        return offered + [Option("disk-image", "an existing disk image (already installed)"),
                          Option("none", "nothing: boot from the network or an empty disk")]
    return [Option("kernel", "a kernel file (and ramdisk) in dom0"),
            Option("disk-image", "an existing disk image (its own GRUB, read by pygrub)")]


def source_note(draft: Draft, at: Context) -> str:
    if draft.get("kind") != "hvm":
        return ""
    missing = [what for what, there in (("no ISO in the library", at.offer.isos),
                                        ("no CD/DVD drive", at.offer.cd_drives)) if not there]
    return f"This host has {' and '.join(missing)}." if missing else ""


def disks(draft: Draft, at: Context) -> list[Option]:
    offered = [Option(pool.name, f"a new disk on pool {pool.name}: {pool.free_mib} MiB free")
               for pool in at.offer.pools]
    return offered + [Option(HOST_DISK, "a whole host disk, by its stable id"),
                      Option(NO_DISK, "no disk" + (" (the image is the disk)" if draft.get("source") == "disk-image"
                                                    else ""))]


def formats(draft: Draft, at: Context) -> list[Option]:
    pool = at.pool(draft.get("disk", ""))
    labels = {"raw": "raw    plain, fastest", "qcow2": "qcow2  grows as it is written, snapshots"}
    return [Option(name, labels.get(name, name)) for name in (pool.formats if pool else ("raw",))]


def size_note(draft: Draft, at: Context) -> str:
    pool = at.pool(draft.get("disk", ""))
    return f"Pool {pool.name} has {pool.free_mib} MiB free." if pool else ""


def _choice(*pairs: tuple[Any, str]) -> Callable[[Draft, Context], list[Option]]:
    return lambda draft, at: [Option(value, label) for value, label in pairs]


def _hvm(draft: Draft, at: Context) -> bool:
    return draft.get("kind") == "hvm"


def _source(kind: str) -> Callable[[Draft, Context], bool]:
    return lambda draft, at: draft.get("source") == kind


def _on_pool(draft: Draft, at: Context) -> bool:
    return at.pool(draft.get("disk", "")) is not None


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


YES_NO = _choice((True, "yes"), (False, "no"))
NO_YES = _choice((False, "no"), (True, "yes"))

STEPS: list[Step] = [
    Step("name", "Name", "The new guest's name (letters, digits, _ . -):", read=read_name),
    Step("kind", "Kind", "What kind of guest?", options=kinds, note=kind_note),
    Step("source", "Source", "What does it boot or install from?", options=sources, note=source_note),
    Step("iso", "ISO", "Which ISO from the library?", applies=_source("iso"),
         options=lambda draft, at: [Option(name, name) for name in at.offer.isos]),
    Step("drive", "CD/DVD", "Which CD/DVD drive?", applies=_source("cd-drive"),
         options=lambda draft, at: [Option(drive, drive) for drive in at.offer.cd_drives]),
    Step("kernel", "Kernel", "The kernel's full path in dom0:", applies=_source("kernel"), read=read_kernel),
    Step("ramdisk", "Ramdisk", "Its ramdisk's full path (empty: none):", applies=_source("kernel"),
         read=read_ramdisk),
    Step("cmdline", "Cmdline", "The kernel command line:", applies=_source("kernel"), read=read_cmdline,
         default=lambda draft, at: "console=hvc0"),
    Step("image", "Image", "The disk image's full path in dom0 (raw, qcow2, vmdk, vdi, vhd):",
         applies=_source("disk-image"), read=read_image),
    Step("disk", "Disk", "A disk for the guest:", options=disks,
         default=lambda draft, at: NO_DISK if draft.get("source") == "disk-image" else None),
    Step("size_mib", "Size", "The new disk's size (MiB, or with G: 20G):", applies=_on_pool, read=read_size,
         note=size_note, default=lambda draft, at: 8192 if draft.get("kind") == "hvm" else 1024),
    Step("format", "Format", "The disk's format:", options=formats,
         applies=lambda draft, at: _on_pool(draft, at) and len(formats(draft, at)) > 1),
    Step("device", "Host disk", "The host disk's stable id (as the Storage screen, t, shows it):",
         applies=lambda draft, at: draft.get("disk") == HOST_DISK, read=read_device,
         show=lambda value: "" if value is None else value[0] + (f"-part{value[1]}" if value[1] else ""),
         note=lambda draft, at: "The whole disk goes to the guest: -part2 after the id gives one partition."),
    Step("memory_mib", "Memory", "Memory in MiB (or with G):", read=read_memory,
         note=lambda draft, at: f"This host can give one guest up to {at.offer.memory_mib} MiB.",
         default=lambda draft, at: min(2048 if draft.get("kind") == "hvm" else 512, at.offer.memory_mib)),
    Step("vcpus", "vCPUs", "Number of vCPUs:", read=read_vcpus, default=lambda draft, at: 1,
         note=lambda draft, at: f"This host has {at.offer.cpus} CPUs."),
    Step("bridge", "Bridge", "The network bridge it is plugged into:",
         options=lambda draft, at: [Option(bridge, bridge) for bridge in at.offer.bridges],
         note=lambda draft, at: "" if at.offer.bridges else
         "This host has no bridge for guests: add one on the Network screen (n), then start again."),
    Step("firmware", "Firmware", "Its firmware:", applies=_hvm,
         options=_choice(("bios", "bios  SeaBIOS"), ("uefi", "uefi  OVMF"))),
    Step("windows", "Windows", "Use the Windows profile?", applies=_hvm, options=NO_YES, show=_yes_no,
         note=lambda draft, at: WINDOWS_NOTE),
    Step("nic_model", "NIC", "The network card it sees:", applies=_hvm, default=lambda draft, at: "e1000",
         options=_choice(("pv", "pv       Xen's own (the guest needs PV drivers)"),
                         ("e1000", "e1000    an emulated Intel card, any OS has a driver"),
                         ("rtl8139", "rtl8139  an emulated Realtek card, for old systems"))),
    Step("disk_bus", "Bus", "The bus its disks are on:", applies=_hvm, default=lambda draft, at: "ide",
         options=_choice(("pv", "pv    Xen's own (the guest needs PV drivers)"),
                         ("ide", "ide   emulated IDE, any OS can install onto it"),
                         ("ahci", "ahci  emulated SATA"))),
    Step("serial_console", "Serial", "Give it a serial port (its console, attached with e)?", applies=_hvm,
         options=YES_NO, show=_yes_no),
    Step("autostart", "Autostart", "Start it whenever the host boots?", options=NO_YES, show=_yes_no),
]


def steps_for(draft: Draft, at: Context) -> list[Step]:
    return [step for step in STEPS if step.applies(draft, at)]


def choices(draft: Draft, at: Context) -> GuestChoices:
    """The GuestChoices the answers of the steps that apply make."""
    given = {step.key: step.value(draft, at) for step in steps_for(draft, at)}
    kind, source = given["kind"], given["source"]
    install = InstallSource(source, iso=given.get("iso"), drive=given.get("drive"), kernel=given.get("kernel"),
                            ramdisk=given.get("ramdisk"), cmdline=given.get("cmdline") or "",
                            image=given.get("image"))
    disk = None
    if given["disk"] == HOST_DISK:
        device, partition = given["device"]
        disk = NewDisk(0, device=device, partition=partition)
    elif given["disk"] != NO_DISK:
        disk = NewDisk(given["size_mib"], pool=given["disk"], format=given.get("format", "raw"))
    hvm = {key: given[key] for key in ("nic_model", "disk_bus", "firmware", "windows", "serial_console")
           if kind == "hvm"}
    return GuestChoices(name=given["name"], kind=kind, source=install, disk=disk, memory_mib=given["memory_mib"],
                        vcpus=given["vcpus"], bridge=given["bridge"], autostart=given["autostart"], **hvm)


def summary(choices: GuestChoices) -> list[tuple[str, str]]:
    """The choices as (what, chosen) lines for the last step."""
    source = choices.source
    booted = {"iso": [("Boots from", f"ISO {source.iso}")],
              "cd-drive": [("Boots from", f"CD/DVD drive {source.drive}")],
              "kernel": [("Kernel", source.kernel), ("Ramdisk", source.ramdisk or "none"),
                         ("Cmdline", source.cmdline)],
              "disk-image": [("Boots from", f"disk image {source.image}")],
              "none": [("Boots from", "nothing (network or empty disk)")]}[source.kind]
    lines = [("Name", choices.name), ("Kind", choices.kind.upper()), *booted,
             ("Disk", _disk(choices.disk)),
             ("Memory", f"{choices.memory_mib} MiB"), ("vCPUs", str(choices.vcpus)),
             ("Network", f"bridge {choices.bridge}" + (f", NIC {choices.nic_model}" if choices.kind == "hvm" else ""))]
    if choices.kind == "hvm":
        lines += [("Disk bus", choices.disk_bus), ("Firmware", choices.firmware),
                  ("Windows", _yes_no(choices.windows)), ("Serial port", _yes_no(choices.serial_console))]
    return lines + [("Autostart", _yes_no(choices.autostart))]


def _disk(disk: NewDisk | None) -> str:
    if disk is None:
        return "none"
    if disk.device:
        return f"host disk {disk.device}" + (f", partition {disk.partition}" if disk.partition else "")
    return f"new {disk.size_mib} MiB {disk.format} disk on pool {disk.pool}"
