"""What the host is made of, as the Hardware screen and `xenbox host hardware` show it: the CPU (model,
microcode, VT-x/AMD-V, HAP, IOMMU), memory, NICs (driver, firmware, link, MAC), disk controllers and disks.

Read from Xen (`xl info`, `xl dmesg`) and from dom0's sysfs; the sysfs readings take the tree's root as a
parameter, so the unit tests run them on a tree rebuilt from a real boot (tests/fixtures/hardware/).
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from hypervisor.host.missing_firmware import MissingFirmware
from hypervisor.host.summary import CPUINFO, cpu_model, detect_hvm, firmware_problems, xen_log
from hypervisor.network.nic import read_nic
from hypervisor.storage import human_size
from hypervisor.storage.disk_ids import disk_ids
from hypervisor.xen.capabilities import HvmSupport
from hypervisor.xen.domains import XenInfo
from hypervisor.xen.microcode import Microcode, microcode
from hypervisor.xen.xl import Xl

SYSFS = Path("/sys")
PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
USB_INTERFACE = re.compile(r"^\d+-[\d.]+:\d+\.\d+$")        # 2-1:1.0
USB_STORAGE_DRIVERS = ("usb-storage", "uas")
# PCI class 0x01 (mass storage): its subclasses, as the PCI spec (and pci.ids) names them.
STORAGE_KINDS = {0x00: "SCSI", 0x01: "IDE", 0x02: "floppy", 0x03: "IPI", 0x04: "RAID", 0x05: "ATA",
                 0x06: "SATA", 0x07: "SAS", 0x08: "NVMe", 0x09: "UFS", 0x80: "storage"}
NOT_DISKS = ("loop", "ram", "zram", "sr", "fd", "nbd", "dm-", "md")     # no controller behind them
GUEST_PORTS = ("vif", "tap")       # netback's and QEMU's interfaces for guests: not the host's NICs
# Xen 4.17's own words (xen/drivers/passthrough/iommu.c, vtd/, amd/): "I/O virtualisation enabled" or
# "disabled", once at boot; each vendor's driver names itself on its lines.
IOMMU_LINE = re.compile(r"I/O virtualisation (enabled|disabled)")
IOMMU_VENDORS = (("VT-d", "Intel VT-d"), ("AMD-Vi", "AMD-Vi"))


@dataclass(frozen=True)
class Iommu:
    enabled: bool | None        # None: Xen's log no longer says (its ring overwritten)
    vendor: str | None = None

    @property
    def text(self) -> str:
        if self.enabled is None:
            return "unknown (Xen's boot lines are no longer in its log)"
        if self.enabled:
            return f"enabled ({self.vendor})" if self.vendor else "enabled"
        return "off (none, or off in the firmware; PCI passthrough needs it)"


@dataclass(frozen=True)
class Cpu:
    model: str
    cores: int
    hvm: HvmSupport             # VT-x/AMD-V: the vendor, and why not when unavailable
    hap: bool                   # EPT/NPT, which this Xen needs for HVM and PVH guests
    iommu: Iommu
    microcode: Microcode | None


@dataclass(frozen=True)
class NicHardware:
    name: str
    driver: str | None
    mac: str | None
    link: str                   # the kernel's operstate: up, down, unknown, ...
    carrier: bool | None        # a cable with a peer at its end (None: the interface is down, not known)
    bridge: str | None          # the bridge it is a port of (xenbr0 for the management NIC)
    device: str | None          # its PCI address (or other bus name)
    firmware: tuple[str, ...] = ()    # its driver's missing firmware, as the overview says it

    @property
    def firmware_state(self) -> str:
        return "missing: " + ", ".join(self.firmware) if self.firmware else "ok"


@dataclass(frozen=True)
class Controller:
    address: str                # PCI address, or the USB interface (2-1:1.0)
    kind: str                   # SATA, NVMe, SCSI, ... or "USB storage"
    driver: str | None
    ids: str                    # vendor:device (PCI) or idVendor:idProduct (USB)

    @property
    def line(self) -> str:
        return f"{self.address}  {self.kind} ({self.driver or 'no driver'}, {self.ids})"


@dataclass(frozen=True)
class HardwareDisk:
    name: str
    size: int                   # bytes
    stable_id: str | None       # its /dev/disk/by-id name, as the Storage screen shows it
    controller: str | None      # the address of the controller it hangs on (None: virtio-blk, Xen's own)
    model: str | None


@dataclass(frozen=True)
class Hardware:
    cpu: Cpu
    memory_total_mib: int
    memory_free_mib: int
    nics: tuple[NicHardware, ...]
    controllers: tuple[Controller, ...]
    disks: tuple[HardwareDisk, ...]


# -- Xen ------------------------------------------------------------------------------------------------------
def iommu(xen_log: str, virt_caps: str) -> Iommu:
    """From Xen's boot line, and `hvm_directio` among `xl info virt_caps` (set only with an IOMMU)."""
    found = IOMMU_LINE.findall(xen_log)
    vendor = next((name for needle, name in IOMMU_VENDORS if needle in xen_log), None)
    if "hvm_directio" in virt_caps.split() or "pv_directio" in virt_caps.split():
        return Iommu(True, vendor)
    if found:
        return Iommu(found[-1] == "enabled", vendor if found[-1] == "enabled" else None)
    return Iommu(None)


def hap(virt_caps: str, xen_log: str) -> bool:
    return "hap" in virt_caps.split() or "Hardware Assisted Paging (HAP) detected\n" in xen_log + "\n"


def cpu(info: XenInfo, xen_log: str, model: str, hvm: HvmSupport, code: Microcode | None) -> Cpu:
    return Cpu(model, info.nr_cpus, hvm, hap(info.virt_caps, xen_log), iommu(xen_log, info.virt_caps), code)


# -- sysfs ----------------------------------------------------------------------------------------------------
def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _link_name(path: Path) -> str | None:
    """The name a sysfs link points at (a driver, a bridge): read as a link, so it needs no target."""
    try:
        return Path(os.readlink(path)).name
    except OSError:
        return None


def read_nics(sysfs: Path = SYSFS, missing: list[MissingFirmware] | tuple = ()) -> list[NicHardware]:
    """The host's own NICs: an interface with a device behind it, not a guest's port, not a bridge."""
    net = sysfs / "class" / "net"
    try:
        names = sorted(entry.name for entry in net.iterdir())
    except OSError:
        return []
    found = []
    for name in names:
        folder = net / name
        if not (folder / "device").exists() or (folder / "bridge").exists() or name.startswith(GUEST_PORTS):
            continue
        nic = read_nic(name, net)
        device = _link_name(folder / "device")
        carrier = _text(folder / "carrier")
        lines = tuple(m.file for m in missing if m.device == device or m.interface == name)
        found.append(NicHardware(name, nic.driver, nic.mac, nic.link,
                                 None if carrier is None else carrier == "1",
                                 _link_name(folder / "brport" / "bridge") or _link_name(folder / "master"),
                                 device, lines))
    return found


def _pci_ids(folder: Path) -> str:
    vendor, device = _text(folder / "vendor") or "", _text(folder / "device") or ""
    return f"{vendor.removeprefix('0x')}:{device.removeprefix('0x')}"


def _pci_driver(folder: Path) -> str | None:
    """Its driver; for a virtio device the one that took the device virtio-pci made (virtio_scsi, virtio_blk)."""
    driver = _link_name(folder / "driver")
    if driver == "virtio-pci":
        inner = next((_link_name(child / "driver") for child in sorted(folder.glob("virtio*"))), None)
        return inner or driver
    return driver


def read_controllers(sysfs: Path = SYSFS) -> list[Controller]:
    """PCI devices of class 0x01 (mass storage), then USB interfaces a USB storage driver took."""
    found = []
    pci = sysfs / "bus" / "pci" / "devices"
    for folder in sorted(pci.iterdir()) if pci.is_dir() else []:
        code = _text(folder / "class") or ""
        try:
            value = int(code, 16)
        except ValueError:
            continue
        if value >> 16 == 0x01:
            kind, driver = STORAGE_KINDS.get((value >> 8) & 0xFF, "storage"), _pci_driver(folder)
            # virtio-blk says it is SCSI (class 0x0100) in its PCI header, but takes no SCSI commands
            found.append(Controller(folder.name, "virtio block" if driver == "virtio_blk" else kind, driver,
                                    _pci_ids(folder)))
    usb = sysfs / "bus" / "usb" / "devices"
    for folder in sorted(usb.iterdir()) if usb.is_dir() else []:
        driver = _link_name(folder / "driver")
        if USB_INTERFACE.match(folder.name) and driver in USB_STORAGE_DRIVERS:
            device = folder.resolve().parent
            ids = f"{_text(device / 'idVendor') or ''}:{_text(device / 'idProduct') or ''}"
            found.append(Controller(folder.name, "USB storage", driver, ids))
    return found


def _controller_of(path: Path, addresses: set[str]) -> str | None:
    """The nearest folder above a block device that is a controller (a USB disk's xHCI is further up)."""
    for folder in path.parents:
        if folder.name in addresses:
            return folder.name
    return None


def read_disks(sysfs: Path = SYSFS, controllers: list[Controller] | tuple = ()) -> list[HardwareDisk]:
    addresses = {c.address for c in controllers}
    block = sysfs / "block"
    found = []
    for entry in sorted(block.iterdir()) if block.is_dir() else []:
        if entry.name.startswith(NOT_DISKS) or not (entry / "device").exists():
            continue
        sectors = _text(entry / "size")
        model = _text(entry / "device" / "model")
        found.append(HardwareDisk(entry.name, int(sectors) * 512 if sectors and sectors.isdigit() else 0,
                                  disk_ids(sysfs, entry.name).primary,
                                  _controller_of(Path(os.path.realpath(entry)), addresses), model))
    return found


# -- the whole report -------------------------------------------------------------------------------------------
def read_hardware(xl: Xl, sysfs: Path = SYSFS, cpuinfo_file: Path = CPUINFO) -> Hardware:
    """Xen's view of the CPU and memory, sysfs's of the devices; the firmware lines from the kernel's log."""
    info = xl.info()
    log = xen_log(xl)
    cpuinfo = _text(cpuinfo_file) or ""
    controllers = read_controllers(sysfs)
    return Hardware(
        cpu=cpu(info, log, cpu_model(cpuinfo), detect_hvm(xl, info, log), microcode(log, cpuinfo)),
        memory_total_mib=info.total_memory_mib, memory_free_mib=info.free_memory_mib,
        nics=tuple(read_nics(sysfs, firmware_problems())),
        controllers=tuple(controllers),
        disks=tuple(read_disks(sysfs, controllers)))


def as_json(hardware: Hardware) -> dict:
    """`xenbox host hardware --json`: the dataclasses, with the lines a person reads added."""
    document = asdict(hardware)
    cpu_ = hardware.cpu
    document["cpu"]["hvm"]["line"] = cpu_.hvm.line
    document["cpu"]["iommu"]["line"] = cpu_.iommu.text
    if cpu_.microcode:
        document["cpu"]["microcode"]["line"] = cpu_.microcode.line
    for nic, entry in zip(hardware.nics, document["nics"]):
        entry["firmware_state"] = nic.firmware_state
    return document


def sections(hardware: Hardware) -> list[tuple[str, list[str]]]:
    """The report as a person reads it, one titled block per part: the CLI prints it, the screen shows it."""
    cpu_ = hardware.cpu
    code = cpu_.microcode.line.removeprefix("microcode").strip() if cpu_.microcode else "revision unknown"
    cpu_lines = [f"model      {cpu_.model} ({cpu_.cores} cores)",
                 f"microcode  {code}",
                 f"VT-x/AMD-V {cpu_.hvm.line.removeprefix('HVM: ')}",
                 f"HAP        {'yes (EPT/NPT)' if cpu_.hap else 'no: HVM and PVH guests need EPT/NPT'}",
                 f"IOMMU      {cpu_.iommu.text}"]
    memory = [f"{hardware.memory_total_mib} MiB total, {hardware.memory_free_mib} MiB free (Xen)"]
    nics = []
    for nic in hardware.nics:
        link = nic.link + ("" if nic.carrier is None else ", carrier" if nic.carrier else ", no carrier")
        under = f", in {nic.bridge}" if nic.bridge else ""
        nics.append(f"{nic.name:<8} {nic.driver or 'no driver':<12} {nic.mac or 'no MAC':<17}  link {link}{under}")
        nics += [f"{'':<8} firmware {file} missing" for file in nic.firmware]
    controllers = [c.line for c in hardware.controllers]
    drivers = {c.address: c.driver or "no driver" for c in hardware.controllers}
    disks = []
    for d in hardware.disks:      # two lines each: a stable id can be 60 characters long
        on = f"{d.controller} ({drivers[d.controller]})" if d.controller else "no controller found"
        disks += [f"{d.name:<8} {human_size(d.size):>9}  on {on}", f"{'':<8} id {d.stable_id or 'none'}"]
    return [("CPU", cpu_lines), ("Memory", memory), ("NICs", nics or ["none found"]),
            ("Disk controllers", controllers or ["none found"]), ("Disks", disks or ["none found"])]
