"""The mixed-hardware machines: several NIC models and disk controllers in one boot, each controller with a
small blank disk of its own (its serial says which). Used by test_hardware_mix.py, and by
tests/fixtures/hardware/capture_boot.py to capture the sysfs the unit tests rebuild."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DISK_MIB = 64


@dataclass(frozen=True)
class Controller:
    devices: tuple[str, ...]    # QEMU's arguments: the controller, if any, then the disk (drive d-NAME) on it
    driver: str                 # the Linux driver that takes the controller, as `xenbox host hardware` names it
    serial: str                 # the disk's serial: in its stable id


# QEMU NIC model -> the Linux driver that takes it
NICS = {"e1000e": "e1000e", "rtl8139": "8139cp", "virtio-net-pci": "virtio_net"}
CONTROLLERS = {
    "ahci": Controller(("-device", "ahci,id=ahci0", "-device", "ide-hd,drive=d-ahci,bus=ahci0.0,serial=XB-AHCI"),
                       "ahci", "XB-AHCI"),
    "vscsi": Controller(("-device", "virtio-scsi-pci,id=vscsi0",
                         "-device", "scsi-hd,drive=d-vscsi,bus=vscsi0.0,serial=XB-VSCSI"), "virtio_scsi", "XB-VSCSI"),
    "nvme": Controller(("-device", "nvme,drive=d-nvme,serial=XBNVME01"), "nvme", "XBNVME01"),
    "lsi": Controller(("-device", "lsi53c895a,id=lsi0", "-device", "scsi-hd,drive=d-lsi,bus=lsi0.0,serial=XB-LSI"),
                      "sym53c8xx", "XB-LSI"),
}
# The rest of the matrix (issue 21), for `make e2e-slow`.
MORE_NICS = {"vmxnet3": "vmxnet3", "pcnet": "pcnet32", "e1000": "e1000"}
MORE_CONTROLLERS = {
    "ide": Controller(("-device", "ide-hd,drive=d-ide,bus=ide.0,serial=XB-IDE"), "ata_piix", "XB-IDE"),
    "mega": Controller(("-device", "megasas,id=mega0", "-device", "scsi-hd,drive=d-mega,bus=mega0.0,serial=XB-MEGA"),
                       "megaraid_sas", "XB-MEGA"),
    "mpt": Controller(("-device", "mptsas1068,id=mpt0", "-device", "scsi-hd,drive=d-mpt,bus=mpt0.0,serial=XB-MPT"),
                      "mptsas", "XB-MPT"),
    "vblk": Controller(("-device", "virtio-blk-pci,drive=d-vblk,serial=XB-VBLK"), "virtio_blk", "XB-VBLK"),
    "usb": Controller(("-device", "qemu-xhci,id=xhci", "-device", "usb-storage,drive=d-usb,bus=xhci.0,serial=XB-USB"),
                      "usb-storage", "XB-USB"),
}


def blank_disk(folder: Path, name: str, mib: int = DISK_MIB) -> Path:
    path = folder / f"{name}.img"
    with path.open("wb") as f:
        f.truncate(mib << 20)
    return path


def mix_devices(folder: Path, controllers: dict[str, Controller] = CONTROLLERS) -> list[str]:
    """QEMU's arguments for every controller and its disk, the disks made in `folder`."""
    argv: list[str] = []
    for name, controller in controllers.items():
        argv += ["-drive", f"if=none,id=d-{name},format=raw,file={blank_disk(folder, name)}", *controller.devices]
    return argv
