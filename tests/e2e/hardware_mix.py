"""The mixed-hardware machine: several NIC models and disk controllers in one boot, each controller with a
small blank disk of its own (its serial says which controller it hangs on). Used by test_hardware_mix.py,
and by tests/fixtures/hardware/capture_boot.py to capture the sysfs the unit tests rebuild."""
from __future__ import annotations

from pathlib import Path

DISK_MIB = 64
# QEMU device -> the Linux driver that takes it (what `xenbox host hardware` must name).
NICS = {"e1000e": "e1000e", "rtl8139": "8139cp", "virtio-net-pci": "virtio_net"}
# name -> (the QEMU devices: the controller, if any, then the disk on it; the controller's driver)
CONTROLLERS = {
    "ahci": (["-device", "ahci,id=ahci0", "-device", "ide-hd,drive=d-ahci,bus=ahci0.0,serial=XB-AHCI"], "ahci"),
    "vscsi": (["-device", "virtio-scsi-pci,id=vscsi0",
               "-device", "scsi-hd,drive=d-vscsi,bus=vscsi0.0,serial=XB-VSCSI"], "virtio_scsi"),
    "nvme": (["-device", "nvme,drive=d-nvme,serial=XBNVME01"], "nvme"),
    "lsi": (["-device", "lsi53c895a,id=lsi0", "-device", "scsi-hd,drive=d-lsi,bus=lsi0.0,serial=XB-LSI"],
            "sym53c8xx"),
}


def blank_disk(folder: Path, name: str, mib: int = DISK_MIB) -> Path:
    path = folder / f"{name}.img"
    with path.open("wb") as f:
        f.truncate(mib << 20)
    return path


def mix_devices(folder: Path, controllers: dict = CONTROLLERS) -> list[str]:
    """QEMU's arguments for every controller and its disk, the disks made in `folder`."""
    argv: list[str] = []
    for name, (devices, _driver) in controllers.items():
        argv += ["-drive", f"if=none,id=d-{name},format=raw,file={blank_disk(folder, name)}", *devices]
    return argv
