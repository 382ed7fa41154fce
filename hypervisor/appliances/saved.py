"""A guest saved to a file (`xl save`) brought back, once the guest path gate has passed what the file names.

`xl restore FILE` gives the guest what the configuration inside the file says, not its appliance's
manifest: its disks, kernel and ramdisk by host path, even programs for dom0 to run. xl writes it
ahead of the guest's memory (Xen's tools/xl/xl_saverestore.c): a 32-byte magic, four native-endian
words (byte order, mandatory flags, optional flags, optional data length), then in the optional data
the configuration's length and libxl's JSON of it. XenBox reads that, refuses what it never gives a
guest, and checks every path with the gate before `xl restore` reads the same file.
"""
from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor.appliances import guest_paths
from hypervisor.appliances.launch import CannotStart
from hypervisor.appliances.xlcfg import BLOCK_SCRIPT, VIF_SCRIPT
from hypervisor.storage import StorageError
from hypervisor.xen.xl import Xl

MAGIC = b"Xen saved domain, xl format\n \0 \r"
HEADER = struct.Struct("=32sIIII")
BYTE_ORDER = 0x01020304
JSON_FLAG = 1 << 0
MAX_CONFIG = 1 << 20            # a guest's configuration is a few kB; a bigger one is not xl's
# What XenBox never gives a guest, and a saved file could ask for: host devices passed through,
# host folders shared, sockets and programs of its own for dom0 to run.
DEVICES = {"pcidevs": "PCI devices of the host", "dtdevs": "host devices from the device tree",
           "usbdevs": "USB devices of the host", "p9s": "folders of the host shared over 9p",
           "channels": "channels to host sockets or files", "vtpms": "TPMs", "virtios": "virtio devices"}
PROGRAMS = ("device_model", "device_model_args", "device_model_args_pv", "device_model_args_hvm",
            "stubdomain_kernel", "stubdomain_ramdisk", "device_tree", "bootloader_args")
FIRMWARE = ("firmware", "system_firmware", "smbios_firmware", "acpi_firmware", "bios_path_override")
# XenBox's own (board/common/rootfs_overlay/etc/xen/xl.conf sets it as vif.default.script, so every guest
# saved on this host names it), and libxl's default by name or path.
NIC_SCRIPTS = (None, VIF_SCRIPT, "vif-bridge", "/etc/xen/scripts/vif-bridge")


@dataclass(frozen=True)
class SavedGuest:
    name: str
    paths: list[tuple[str, str]]        # ("disk xvda", "/dev/xenbox/web.xvda"), ("kernel", ...)
    foreign: list[str]                  # what it asks for that XenBox never gives a guest


def read_saved_guest(path: Path) -> SavedGuest:
    """The guest configuration in an `xl save` file; CannotStart saying why when it is none."""
    try:
        with open(path, "rb") as saved:
            header = saved.read(HEADER.size)
            magic, order, mandatory, _optional, length = HEADER.unpack(header.ljust(HEADER.size, b"\0"))
            if magic != MAGIC:
                raise CannotStart(f"{path} is not a file `xenbox appliance save` wrote (no xl save header)")
            if order != BYTE_ORDER or not mandatory & JSON_FLAG or length < 4:
                raise CannotStart(f"{path} holds no guest configuration XenBox can read (an older xl wrote it?): "
                                  "start the appliance afresh")
            size = struct.unpack("=I", saved.read(4).ljust(4, b"\0"))[0]
            if not 0 < size <= min(length - 4, MAX_CONFIG):
                raise CannotStart(f"{path}'s guest configuration is {size} bytes: the file is damaged")
            text = saved.read(size).rstrip(b"\0").decode()
        return guest_of(json.loads(text))
    except OSError as error:
        raise CannotStart(f"{path} cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError) as error:
        raise CannotStart(f"{path}'s guest configuration cannot be read ({error}): the file is damaged") from None


def guest_of(config: dict) -> SavedGuest:
    """What libxl's domain configuration (JSON, libxl_types.idl) gives the guest of the host."""
    build = config.get("b_info") or {}
    kinds = [build.get(key) or {} for key in ("type.pv", "type.hvm", "type.pvh")]
    paths = [(what, value) for what, value in (("kernel", build.get("kernel")), ("ramdisk", build.get("ramdisk")),
                                               *((what, kind.get(what)) for kind in kinds
                                                 for what in ("kernel", "ramdisk"))) if value]
    foreign = [f"{len(config[key])} {words}" for key, words in DEVICES.items() if config.get(key)]
    foreign += [f"b_info.{key}" for key in PROGRAMS if build.get(key)]
    foreign += [f"b_info.{key}" for kind in kinds for key in (*FIRMWARE, *PROGRAMS) if kind.get(key)]
    loader = next((kind.get("bootloader") for kind in kinds if kind.get("bootloader")), build.get("bootloader"))
    if loader and not (loader == "pygrub" or (loader.startswith("/usr/lib/xen") and loader.endswith("/pygrub"))):
        foreign.append(f"the boot loader {loader}")
    for disk in config.get("disks") or []:
        target = disk.get("pdev_path")
        if target:
            paths.append((f"disk {disk.get('vdev')}", target))
        if disk.get("script") not in (None, BLOCK_SCRIPT):
            foreign.append(f"the disk script {disk['script']}")
    foreign += [f"the network script {nic['script']}" for nic in config.get("nics") or []
                if nic.get("script") not in NIC_SCRIPTS]
    name = (config.get("c_info") or {}).get("name") or "(no name)"
    return SavedGuest(str(name), paths, foreign)


HostDisksOf = Callable[[str], "tuple[Path | None, dict[str, Path]]"]


def appliance_of(name: str) -> tuple[Path | None, dict[str, Path]]:
    """The bundle of the appliance called `name`, and the host disks its manifest's `device =`
    names now, by target ("disk xvdd" -> /dev/sda2), each cleared by the host disk rules."""
    from hypervisor.appliances.catalog import find
    from hypervisor.appliances.launch import with_host_disks
    entry = find(name)
    if entry is None or entry.manifest is None:
        return None, {}
    manifest = with_host_disks(entry.manifest)
    return entry.folder, {f"disk {disk.target}": disk.file for disk in manifest.disks if disk.device and disk.file}


def restore(path: Path, xl: Xl, appliance: HostDisksOf = appliance_of) -> str:
    """`xl restore` the file once its guest passes the gate; returns the guest's name."""
    guest = read_saved_guest(path)
    refused = f"{path} was not restored: its guest {guest.name}"
    if guest.foreign:
        raise CannotStart(f"{refused} asks for {', '.join(guest.foreign)}, which XenBox never gives a guest: "
                          f"start the appliance afresh instead")
    try:
        bundle, host_disks = appliance(guest.name)
    except (CannotStart, StorageError) as error:
        raise CannotStart(f"{refused} has a host disk that cannot be given now: {error}") from None
    try:
        guest_paths.check_guest([(what, value) for what, value in guest.paths
                                 if host_disks.get(what) != Path(os.path.normpath(value))], bundle)
    except guest_paths.Refused as error:
        raise CannotStart(f"{refused}: {error}") from None
    xl.restore(str(path))
    return guest.name
