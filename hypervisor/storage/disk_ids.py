"""A disk's /dev/disk/by-id names, made from sysfs as udev would make them, on a dom0 that runs no udev.

Any Linux with udev names its disks by systemd's rules/60-persistent-storage.rules and the programs
they call (ata_id, scsi_id, usb_id). dom0 runs no udev, so there is no /dev/disk/by-id and no
ID_SERIAL or ID_WWN; this module reads what those programs read, from the files the kernel already
shows in sysfs, and builds the same names:

- `ata-MODEL_SERIAL` and `wwn-0x...` for a SATA disk: ata_id reads the drive's IDENTIFY data; libata
  puts its model, serial and WWN into the disk's VPD page 0x83 (`device/vpd_pg83`, a T10 vendor id
  "ATA     " + 40 model + 20 serial characters, and an NAA descriptor when the drive has a WWN);
- `scsi-3...`/`scsi-2...`/`scsi-1...`/`scsi-S...` and `wwn-0x...` for a SCSI/SAS/FC/iSCSI LUN: scsi_id's
  choice among the descriptors of VPD page 0x83, else page 0x80 (`device/vpd_pg80`);
- `usb-VENDOR_MODEL_SERIAL-TARGET:LUN` for a USB disk (usb_id: the SCSI inquiry strings of the bridge,
  the USB device's serial); the `ata-` name udev also makes for a SATA disk in a USB enclosure needs
  an ATA pass-through command, which sysfs does not show, so it is not made here;
- `nvme-eui....`, `nvme-MODEL_SERIAL` and `nvme-MODEL_SERIAL_NSID` for an NVMe namespace (its sysfs
  `wwid`, the controller's `model` and `serial`, the namespace's `nsid`);
- `virtio-SERIAL` (the virtio disk's `serial`), `mmc-NAME_SERIAL` (the card's `name` and `serial`).

Names that XenBox showed before (the kernel's `wwid` as is, or naa.X written wwn-0xX) are kept as
aliases, so manifests (`device = "..."`) and answer files written with them keep working.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# Which by-id name a person is shown first: world-wide names, then each bus's own (as `ls /dev/disk/by-id`).
PREFERRED = ("wwn-", "nvme-", "ata-", "scsi-", "virtio-", "usb-", "mmc-")
SCSI_DEVICE = re.compile(r"^(\d+):(\d+):(\d+):(\d+)$")             # host:channel:target:lun
USB_INTERFACE = re.compile(r"^\d+-[\d.]+:\d+\.\d+$")              # 2-1:1.0
NVME_NAMESPACE = re.compile(r"^nvme\d+(c\d+)?n\d+$")
MMC_DISK = re.compile(r"^mmcblk\d+$")
DEVNODE_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#+-.:=@_")
ATTR_CHARS = "/ $%?,"      # what udev keeps of a $attr{} value (UDEV_ALLOWED_CHARS_INPUT)

# VPD page 0x83 designator types and scsi_id's order of preference among them (scsi_serial.c id_search_list).
VENDOR_SPECIFIC, T10_VENDOR, EUI_64, NAA = 0, 1, 2, 3
BINARY, ASCII = 1, 2
SEARCH = ((NAA, 6, BINARY), (NAA, 6, ASCII), (NAA, 5, BINARY), (NAA, 5, ASCII), (NAA, None, BINARY),
          (NAA, None, ASCII), (EUI_64, None, BINARY), (EUI_64, None, ASCII), (T10_VENDOR, None, BINARY),
          (T10_VENDOR, None, ASCII), (VENDOR_SPECIFIC, None, BINARY), (VENDOR_SPECIFIC, None, ASCII))


@dataclass(frozen=True)
class DiskIds:
    names: tuple[str, ...] = ()      # /dev/disk/by-id names, the one to show first
    aliases: tuple[str, ...] = ()    # ids XenBox showed before, still accepted
    serial: str | None = None        # the drive's serial number, as on its label (udev's ID_SERIAL_SHORT)

    @property
    def primary(self) -> str | None:
        return self.names[0] if self.names else self.aliases[0] if self.aliases else None

    @property
    def all(self) -> tuple[str, ...]:
        return self.names + tuple(a for a in self.aliases if a not in self.names)


# -- udev's string rules (src/udev/udev-util.c) ------------------------------------------------------------
def replace_whitespace(text: str) -> str:
    """udev_replace_whitespace: leading and trailing whitespace dropped, each run of it made one '_'."""
    return "_".join(text.split())


def replace_chars(text: str, allow: str = "") -> str:
    """udev_replace_chars: a character that is not plain ASCII of a device name, allowed, a \\x escape
    or valid UTF-8 becomes '_' (whitespace too, unless a space is allowed)."""
    out = []
    for i, char in enumerate(text):
        if char in DEVNODE_CHARS or char in allow or ord(char) > 127:
            out.append(char)
        elif char == "\\" and text[i + 1:i + 2] == "x":
            out.append(char)
        elif char.isspace() and " " in allow:
            out.append(" ")
        else:
            out.append("_")
    return "".join(out)


def encoded(text: str) -> str:
    """What ata_id, scsi_id and usb_id export: whitespace runs as '_', other odd characters as '_'."""
    return replace_chars(replace_whitespace(text))


def attr_value(text: str) -> str:
    """A $attr{} value in a rule: trailing whitespace dropped, characters udev does not take replaced."""
    return replace_chars(text.rstrip(), ATTR_CHARS)


def link_name(text: str) -> str | None:
    """A SYMLINK value with the default escaping: a space would split it in two links, a '/' make a folder;
    neither is a by-id name."""
    name = replace_chars(text, "/ ")
    return None if " " in name or "/" in name else name


# -- VPD page 0x83 ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Designator:
    code_set: int
    association: int
    type: int
    value: bytes

    @property
    def naa_type(self) -> int:
        return self.value[0] >> 4 if self.value else -1

    @property
    def text(self) -> str:
        return self.value.decode("latin-1") if self.code_set == ASCII else self.value.hex()


def designators(page: bytes) -> list[Designator]:
    """The identification descriptors of a VPD page 0x83 as sysfs gives it (vpd_pg83: the page with its header)."""
    if len(page) < 4 or page[1] != 0x83:
        return []
    end = min(len(page), 4 + (page[2] << 8 | page[3]))
    found, at = [], 4
    while at + 4 <= end:
        length = page[at + 3]
        found.append(Designator(page[at] & 0x0F, (page[at + 1] >> 4) & 0x3, page[at + 1] & 0x0F,
                                page[at + 4:at + 4 + length]))
        at += 4 + length
    return found


def scsi_id_serial(page83: bytes, vendor: str, model: str) -> tuple[str, str | None] | None:
    """scsi_id's ID_SERIAL (before encoding) and WWN with its extension from page 0x83, in its order."""
    if len(page83) > 6 and page83[1] == 0x83 and page83[6] != 0:     # a SCSI-2 page 0x83 (old EMC Symmetrix)
        return "3" + page83[4:4 + page83[3]].hex(), None
    found = designators(page83)
    for kind, naa, code_set in SEARCH:
        for d in found:
            if d.association != 0 or d.type != kind or d.code_set != code_set or (naa and d.naa_type != naa):
                continue
            ident = d.text
            prefix = "0123456789abcdef"[kind]
            if kind == VENDOR_SPECIFIC:
                prefix += vendor.ljust(8)[:8] + model.ljust(16)[:16]
            return prefix + ident, (ident[:16] + ident[16:32]) if kind == NAA else None
    return None


# -- reading sysfs -------------------------------------------------------------------------------------------
class Device:
    """A block device in a sysfs tree and its parents, nearest first (udev's ATTRS{} looks up that chain)."""

    def __init__(self, sysfs: Path, name: str) -> None:
        self.sysfs = sysfs
        self.name = name
        block = sysfs / "class" / "block" / name
        path = Path(os.path.realpath(block if block.exists() else sysfs / "block" / name))
        parent = path / "device"
        start = Path(os.path.realpath(parent)) if parent.exists() else path.parent
        self.chain = [path]
        top = {Path(os.path.realpath(sysfs)), Path(os.path.realpath(sysfs / "devices"))}
        while start not in top and start != start.parent:
            self.chain.append(start)
            start = start.parent

    @staticmethod
    def read(folder: Path, attr: str) -> bytes | None:
        try:
            return (folder / attr).read_bytes()
        except OSError:
            return None

    def text(self, folder: Path, attr: str) -> str | None:
        """An attribute as sd-device gives it: its trailing newline dropped."""
        value = self.read(folder, attr)
        return None if value is None else value.decode("utf-8", "replace").rstrip("\n")

    def attrs(self, attr: str) -> str | None:
        """ATTRS{attr}: on the device or the nearest parent that has it, non-empty."""
        for folder in self.chain:
            value = self.text(folder, attr)
            if value is not None and value.strip():
                return value
        return None

    def parent(self, pattern: re.Pattern) -> Path | None:
        return next((folder for folder in self.chain if pattern.match(folder.name)), None)


# -- the rules ----------------------------------------------------------------------------------------------
def _nvme(dev: Device) -> list[str]:
    wwid, model, serial, nsid = (dev.attrs(a) for a in ("wwid", "model", "serial", "nsid"))
    wwid = attr_value(wwid) if wwid else None
    names = []
    if model and serial:        # the drive's label: what a person finds on it, and in `nvme list`
        serial_id = f"{attr_value(model)}_{attr_value(serial)}"
        own = "nvme-" + replace_chars(f"{serial_id}_{attr_value(nsid)}", "/") if nsid else None
        plain = "nvme-" + replace_chars(serial_id, "/")
        # nvme-MODEL_SERIAL follows whichever namespace came last; the one with _NSID is that namespace's own
        names += [plain, own] if not nsid or nsid.strip() == "1" else [own, plain]
    if wwid:
        names.append(link_name(f"nvme-{wwid}"))
    return [n for n in names if n and "/" not in n]


def _virtio(dev: Device) -> list[str]:
    serial = dev.attrs("serial")
    return [name for name in [link_name(f"virtio-{attr_value(serial)}") if serial else None] if name]


def _mmc(dev: Device) -> list[str]:
    name, serial = dev.attrs("name"), dev.attrs("serial")
    return [n for n in [link_name(f"mmc-{attr_value(name)}_{attr_value(serial)}") if name and serial else None] if n]


def _ata(dev: Device, scsi: Path) -> tuple[str | None, str | None]:
    """ata_id's ID_SERIAL and ID_WWN_WITH_EXTENSION, from what libata shows of the drive's IDENTIFY data."""
    found = designators(dev.read(scsi, "vpd_pg83") or b"")
    t10 = next((d.value.decode("latin-1") for d in found if d.type == T10_VENDOR and d.code_set == ASCII
                and d.value.startswith(b"ATA     ") and len(d.value) >= 68), None)
    wwid = (dev.text(scsi, "wwid") or "").strip()
    if t10 is None and wwid.startswith("t10.ATA     ") and len(wwid) >= 12 + 40:
        t10 = wwid[4:].ljust(68)
    naa = next((d.value for d in found if d.type == NAA and d.code_set == BINARY and len(d.value) == 8), None)
    if naa is None and re.fullmatch(r"naa\.[0-9a-f]{16}", wwid):
        naa = bytes.fromhex(wwid[4:])
    wwn = f"0x{int.from_bytes(naa, 'big'):x}" if naa else None
    if t10 is None:
        return None, wwn
    model, serial = encoded(t10[8:48]), encoded(t10[48:68])
    return (f"{model}_{serial}" if serial else model) or None, wwn


def _scsi(dev: Device, scsi: Path) -> tuple[str | None, str | None]:
    """scsi_id's ID_SERIAL and ID_WWN_WITH_EXTENSION: page 0x83, else page 0x80 (else the kernel's wwid)."""
    vendor, model = dev.text(scsi, "vendor") or "", dev.text(scsi, "model") or ""
    chosen = scsi_id_serial(dev.read(scsi, "vpd_pg83") or b"", vendor, model)
    if chosen is None:
        page80 = dev.read(scsi, "vpd_pg80") or b""
        if len(page80) >= 4 and page80[1] == 0x80:
            serial = page80[4:4 + page80[3]].decode("latin-1")
            chosen = "S" + vendor.ljust(8)[:8] + model.ljust(16)[:16] + serial, None
    if chosen is None:      # no VPD pages in sysfs (kernels before 4.5): the kernel's own pick, same for NAA
        wwid = (dev.text(scsi, "wwid") or "").strip()
        kind, _, ident = wwid.partition(".")
        if kind == "naa" and re.fullmatch(r"[0-9a-f]{16}|[0-9a-f]{32}", ident):
            chosen = "3" + ident, ident
        elif kind == "eui" and re.fullmatch(r"[0-9a-f]+", ident):
            chosen = "2" + ident, None
        elif kind == "t10" and ident:
            chosen = "1" + ident, None
    if chosen is None:
        return None, None
    serial, wwn = chosen
    return encoded(serial) or None, f"0x{wwn}" if wwn else None


def _usb(dev: Device, scsi: Path | None) -> str | None:
    """usb_id's ID_SERIAL: vendor_model_serial-target:lun."""
    interface = dev.parent(USB_INTERFACE)
    if interface is None:
        return None
    usb = interface.parent
    vendor = model = instance = ""
    if (dev.text(interface, "bInterfaceClass") or "").strip() == "08" and scsi is not None and \
            (dev.text(interface, "bInterfaceSubClass") or "").strip() in ("02", "06"):
        vendor, model = encoded(dev.text(scsi, "vendor") or ""), encoded(dev.text(scsi, "model") or "")
        _, _, target, lun = SCSI_DEVICE.match(scsi.name).groups()
        instance = f"{int(target)}:{int(lun)}"
    vendor = vendor or encoded(dev.text(usb, "manufacturer") or dev.text(usb, "idVendor") or "")
    model = model or encoded(dev.text(usb, "product") or dev.text(usb, "idProduct") or "")
    serial = dev.text(usb, "serial") or ""
    if any(ord(c) < 0x20 or ord(c) > 0x7F or c == "," for c in serial):
        serial = ""
    serial = encoded(serial)
    return f"{vendor}_{model}" + (f"_{serial}" if serial else "") + (f"-{instance}" if instance else "")


def _serial(dev: Device) -> str | None:
    """The serial number: the NVMe controller's, virtio's, the card's; a SATA drive's (its IDENTIFY data, in
    the T10 descriptor), a SCSI disk's unit serial number (page 0x80), a USB disk's USB serial."""
    if not dev.name.startswith(("sd", "sr")):
        return (dev.attrs("serial") or "").strip() or None
    scsi = dev.parent(SCSI_DEVICE)
    if scsi is None:
        return None
    if (dev.text(scsi, "vendor") or "").strip() == "ATA":
        t10 = next((d.value.decode("latin-1") for d in designators(dev.read(scsi, "vpd_pg83") or b"")
                    if d.type == T10_VENDOR and d.value.startswith(b"ATA     ") and len(d.value) >= 68), None)
        return t10[48:68].strip() or None if t10 else None
    interface = dev.parent(USB_INTERFACE)
    if interface is not None:
        return (dev.text(interface.parent, "serial") or "").strip() or None
    page80 = dev.read(scsi, "vpd_pg80") or b""
    if len(page80) >= 4 and page80[1] == 0x80:
        return page80[4:4 + page80[3]].decode("latin-1").strip() or None
    return None


def _scsi_disk(dev: Device) -> list[str]:
    """ata_id for a SATA disk, usb_id for a USB one, scsi_id for any other (each when the one before made no
    ID_SERIAL), then the WWN either found."""
    scsi = dev.parent(SCSI_DEVICE) or (dev.chain[1] if len(dev.chain) > 1 else None)    # (a capture's flat tree)
    names: list[str | None] = []
    serial = wwn = None
    if scsi is not None and (dev.text(scsi, "vendor") or "").strip() == "ATA":
        serial, wwn = _ata(dev, scsi)
        names.append(f"ata-{serial}" if serial else None)
    if dev.parent(USB_INTERFACE) is not None:
        usb_serial = _usb(dev, scsi if scsi is not None and SCSI_DEVICE.match(scsi.name) else None)
        names.append(f"usb-{usb_serial}" if usb_serial else None)
    elif serial is None and scsi is not None:
        serial, wwn = _scsi(dev, scsi)
        names.append(f"scsi-{serial}" if serial else None)
    if wwn:
        names.append(f"wwn-{wwn}")
    return [n for n in names if n and link_name(n) == n]


def preferred(names: list[str]) -> tuple[str, ...]:
    """Unique, the name to show first first: by PREFERRED, a WWN of zeros (a drive that has none) last."""
    unique = list(dict.fromkeys(names))

    def rank(name: str) -> tuple[int, int]:
        prefix = next((i for i, p in enumerate(PREFERRED) if name.startswith(p)), len(PREFERRED))
        return (len(PREFERRED) + 1 if re.fullmatch(r"wwn-0x0+", name) else prefix, unique.index(name))
    return tuple(sorted(unique, key=rank))


def earlier_id(sysfs: Path, name: str) -> str | None:
    """The id XenBox showed before it made udev's names: the kernel's wwid (naa.X as wwn-0xX), else virtio-SERIAL."""
    def read(what: str) -> str | None:
        try:
            return (sysfs / "block" / name / what).read_text(errors="replace").strip() or None
        except OSError:
            return None
    wwid = read("device/wwid")
    if wwid:
        return f"wwn-0x{wwid[4:]}" if wwid.startswith("naa.") else wwid
    serial = read("serial")
    return f"virtio-{serial}" if serial and name.startswith("vd") else None


def disk_ids(sysfs: Path, name: str) -> DiskIds:
    """The by-id names of whole disk `name` (sda, nvme0n1, vdb, mmcblk0), and the ids XenBox showed before."""
    dev = Device(sysfs, name)
    if NVME_NAMESPACE.match(name):
        names = _nvme(dev)
    elif name.startswith("vd"):
        names = _virtio(dev)
    elif name.startswith(("sd", "sr")):
        names = _scsi_disk(dev)
    elif MMC_DISK.match(name):
        names = _mmc(dev)
    else:
        names = []
    ordered = preferred(names)
    earlier = earlier_id(sysfs, name)
    return DiskIds(ordered, (earlier,) if earlier and earlier not in ordered else (), _serial(dev))
