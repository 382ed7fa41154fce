"""The host's CD/DVD drives (hypervisor/storage/cd_drives.py) in a sysfs tree laid out as a QEMU PC's dom0 shows
it (an IDE controller with the boot CD and a second drive, a virtio-scsi CD), and given to an HVM guest by its
place: the new-guest choices, the manifest it makes, and launch finding the drive's node at start."""
import os
from pathlib import Path

import pytest

from hypervisor.appliances.launch import with_host_disks
from hypervisor.appliances.manifest import parse_manifest
from hypervisor.appliances.new_guest import InstallSource, manifest_document, problems
from hypervisor.appliances.xlcfg import disk_spec
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError, cd_drives as module
from hypervisor.storage.cd_drives import CdDrive, cd_drives, drive_path, place_id
from test_appliance_new_guest import OFFER, hvm

IDE = "devices/pci0000:00/0000:00:01.1"
SCSI = "devices/pci0000:00/0000:00:05.0/virtio2"
DRIVES = {  # sr name -> (its device folder under /sys, its ata port, vendor, model, 512-byte sectors)
    "sr0": (f"{IDE}/ata2/host1/target1:0:0/1:0:0:0", "ata2", "QEMU", "QEMU DVD-ROM", 300_000),
    "sr1": (f"{IDE}/ata2/host1/target1:0:1/1:0:1:0", "ata2", "QEMU", "QEMU DVD-ROM", 17_920),
    "sr2": (f"{SCSI}/host2/target2:0:1/2:0:1:0", None, "QEMU", "QEMU CD-ROM", 2_097_151),    # empty: a guess
}
HOLDING_DISCS = {"/dev/sr0", "/dev/sr1"}     # what the drives' CDROM_DRIVE_STATUS says (an ioctl on the device)


def sysfs(root: Path) -> Path:
    for name, (folder, port, vendor, model, sectors) in DRIVES.items():
        device = root / folder
        block = device / "block" / name
        block.mkdir(parents=True)
        (device / "vendor").write_text(f"{vendor:8}\n")        # SCSI inquiry strings, padded as sysfs shows them
        (device / "model").write_text(f"{model:16}\n")
        (block / "size").write_text(f"{sectors}\n")
        os.symlink(device, block / "device")
        (root / "block").mkdir(exist_ok=True)
        os.symlink(block, root / "block" / name)
        if port:
            (root / "class" / "ata_port" / port).mkdir(parents=True, exist_ok=True)
            (root / "class" / "ata_port" / port / "port_no").write_text("2\n")
    return root


def test_drives_are_named_by_their_place_and_the_boot_medium_is_left_out(tmp_path):
    root = sysfs(tmp_path)
    assert place_id((root / "block" / "sr0").resolve(), root) == "pci-0000:00:01.1-ata-2.0"    # IDE's master
    drives = cd_drives(root, booted=lambda: "/dev/sr0", has_disc=HOLDING_DISCS.__contains__)
    assert drives == [
        CdDrive("sr1", "/dev/sr1", "pci-0000:00:01.1-ata-2.1", "QEMU QEMU DVD-ROM", 17_920 * 512),
        CdDrive("sr2", "/dev/sr2", "pci-0000:00:05.0-scsi-0:1:0", "QEMU QEMU CD-ROM", 0)]
    assert drives[1].summary == "pci-0000:00:05.0-scsi-0:1:0 (/dev/sr2, QEMU QEMU CD-ROM, no disc)"


def test_a_usb_drive_has_its_usb_port_in_its_name():
    path = Path("/sys/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host3/target3:0:0/3:0:0:0/block/sr3")
    assert place_id(path) == "pci-0000:00:04.0-usb-1-scsi-0:0:0"


def test_a_drive_that_is_not_there_is_refused_with_the_drives_there_are(tmp_path):
    drives = cd_drives(sysfs(tmp_path), booted=lambda: "/dev/sr0", has_disc=HOLDING_DISCS.__contains__)
    assert drive_path("hdc", "pci-0000:00:01.1-ata-2.1", drives) == Path("/dev/sr1")
    with pytest.raises(StorageError, match=r"its CD-ROM hdc is the host's CD/DVD drive pci-0000:00:1f.2-ata-1.0, which "
                                           r"this host does not have .*Drives there are: pci-0000:00:01.1-ata-2.1 "
                                           r"\(/dev/sr1, QEMU QEMU DVD-ROM, a disc of 8 MiB\)"):
        drive_path("hdc", "pci-0000:00:1f.2-ata-1.0", drives)


def test_an_hvm_guest_made_from_a_drive_boots_from_it_and_launch_finds_its_node(tmp_path, monkeypatch):
    offer = OFFER.__class__(**{**OFFER.__dict__, "cd_drives": ("pci-0000:00:01.1-ata-2.1",)})
    choices = hvm(source=InstallSource("cd-drive", drive="pci-0000:00:01.1-ata-2.1"))
    assert problems(choices, offer) == []
    document = manifest_document(choices)
    assert document["disks"][-1] == {"device": "pci-0000:00:01.1-ata-2.1", "cdrom": True, "target": "hdc"}
    assert document["boot"] == {"order": ["cd", "disk"]}
    manifest = parse_manifest(dumps(document), tmp_path)
    root = sysfs(tmp_path / "sys")
    monkeypatch.setattr(module, "cd_drives", lambda: cd_drives(root, booted=lambda: "/dev/sr0",
                                                                has_disc=HOLDING_DISCS.__contains__))
    never = lambda *args: pytest.fail("a CD drive is not looked for among the host's disks")    # noqa: E731
    found = with_host_disks(manifest, never)
    assert found.disks[-1].file == Path("/dev/sr1")
    # no hotplug script: libxl 4.17 refuses one for a CD-ROM; the device model opens the drive itself
    assert disk_spec(found.disks[-1], hvm=True) == "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/dev/sr1"


def test_a_drive_the_host_lacks_or_a_pv_guest_is_refused():
    choices = hvm(source=InstallSource("cd-drive", drive="pci-0000:00:01.1-ata-2.1"))
    assert problems(choices, OFFER) == [
        "CD/DVD drive pci-0000:00:01.1-ata-2.1: this host has no such drive (it has: none but the boot medium); the "
        "drive XenBox booted from is never given to a guest"]
    assert problems(hvm(kind="pv", source=InstallSource("cd-drive", drive="x")), OFFER)[-1] == (
        "install source CD/DVD drive: a CD-ROM boots only in an HVM guest; choose HVM")
