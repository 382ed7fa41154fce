"""A disk's /dev/disk/by-id names, made from sysfs without udev, against what udev named the same disks.

The sysfs trees are in tests/unit/fixtures/disk_ids/ (each file says which machine and which public
capture it comes from) and in tests/fixtures/storage/vm/ (XenBox's own capture VM: Debian's 6.1 kernel
and bookworm's udev, `ls -l /dev/disk/by-id` taken with udevd running).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypervisor.storage.disk_ids import (DiskIds, designators, disk_ids, encoded, replace_chars,
                                         scsi_id_serial)
from test_storage_support import fixture

FIXTURES = Path(__file__).parent / "fixtures" / "disk_ids"


@dataclass
class Case:
    disk: str
    names: list[str]
    first: str | None
    aliases: list[str]
    serial: str | None

    def __iter__(self):
        return iter((self.disk, self.names, self.first, self.aliases))


def lay_out(case: Path, root: Path) -> Case:
    """The case's sysfs files and links under `root`; its disk, by-id names, first name, aliases, serial."""
    names, first, aliases, disk, serial = [], None, [], None, None
    for line in case.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("by-id "):
            words = line.split()
            names.append(words[1])
            first = words[1] if words[-1] == "first" else first
        elif line.startswith("alias "):
            aliases.append(line.removeprefix("alias "))
        elif line.startswith("serial "):
            serial = line.removeprefix("serial ")
        elif " -> " in line:
            path, target = line.split(" -> ")
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / path)
            disk = disk or (path.removeprefix("block/") if path.startswith("block/") else None)
        else:
            path, value = line.split(" = ", 1)
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            data = bytes.fromhex(value[4:]) if value.startswith("hex:") else (json.loads(value) + "\n").encode()
            (root / path).write_bytes(data)
    return Case(disk, names, first, aliases, serial)


@pytest.mark.parametrize("case", sorted(FIXTURES.glob("*.sysfs")), ids=lambda p: p.stem)
def test_by_id_names_from_sysfs_are_those_udev_made(case, tmp_path):
    laid = lay_out(case, tmp_path)
    ids = disk_ids(tmp_path, laid.disk)
    assert set(laid.names) <= set(ids.names), f"udev made {laid.names}, sysfs gave {ids.names}"
    assert ids.primary == laid.first
    for alias in laid.aliases:
        assert alias in ids.all
    assert ids.serial == laid.serial


def test_a_virtio_disk_without_a_serial_has_no_id(tmp_path):
    disk, names, first, _ = lay_out(FIXTURES / "virtio-no-serial.sysfs", tmp_path)
    assert names == [] and disk_ids(tmp_path, disk) == DiskIds()


def test_the_capture_vms_disks_get_the_names_its_udev_gave(tmp_path):
    """No device tree there, only each disk's wwid and serial: the kernel's NAA wwid gives scsi_id's names."""
    by_id: dict[str, set[str]] = {}
    for line in fixture("vm/ls-disk-by-id.txt").splitlines()[1:]:
        name, target = line.split()[-3], line.split()[-1].rsplit("/", 1)[1]
        if not name.startswith("lvm-") and "-part" not in name:
            by_id.setdefault(target, set()).add(name)
    for line in fixture("vm/sysfs-ids.txt").splitlines():
        path, value = line.split(":", 1)
        (tmp_path / path.removeprefix("/sys/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.removeprefix("/sys/")).write_text(value + "\n")
    for disk in ("sda", "sdb", "sdd", "sde", "sdf", "vda"):
        assert by_id[disk] <= set(disk_ids(tmp_path, disk).names), disk
    assert disk_ids(tmp_path, "sda").primary == "wwn-0x5000c50015ea71ac"
    assert disk_ids(tmp_path, "vda").primary == "virtio-XB-VIRTIO-0001"
    # the USB stick (sdc): its bridge's strings are not in this capture, so no name rather than a wrong one
    assert disk_ids(tmp_path, "sdc") == DiskIds()
    assert disk_ids(tmp_path, "vda").serial == "XB-VIRTIO-0001"


def test_udevs_character_rules():
    assert encoded("  HGST HUH728080ALE604        ") == "HGST_HUH728080ALE604"       # ends trimmed, runs one _
    assert encoded("WDC  WD40EFRX/68N32N0") == "WDC_WD40EFRX_68N32N0"                  # / is no name character
    assert replace_chars("a b/c$", "/") == "a_b/c_" and replace_chars("Ωmega") == "Ωmega"  # UTF-8 kept


def page83(*descriptors: tuple[int, int, bytes]) -> bytes:
    body = b"".join(bytes([code_set, kind, 0, len(value)]) + value for code_set, kind, value in descriptors)
    return bytes([0, 0x83, 0, len(body)]) + body


def test_scsi_id_prefers_naa_6_then_5_then_eui_then_t10():
    t10 = (2, 1, b"LIO-ORG disk1")
    eui = (1, 2, bytes.fromhex("0011223344556677"))
    naa5 = (1, 3, bytes.fromhex("5000c50015ea71ac"))
    naa6 = (1, 3, bytes.fromhex("6001405a1b2c3d4e5f60718293a4b5c6"))
    assert scsi_id_serial(page83(t10, eui, naa5, naa6), "LIO-ORG", "disk1") == \
        ("36001405a1b2c3d4e5f60718293a4b5c6", "6001405a1b2c3d4e5f60718293a4b5c6")
    assert scsi_id_serial(page83(t10, eui, naa5), "", "") == ("35000c50015ea71ac", "5000c50015ea71ac")
    assert scsi_id_serial(page83(t10, eui), "", "") == ("20011223344556677", None)
    assert scsi_id_serial(page83(t10), "", "") == ("1LIO-ORG disk1", None)
    # a vendor-specific id is unique only with the vendor and model before it
    assert scsi_id_serial(page83((2, 0, b"X1")), "QEMU", "QEMU HARDDISK") == \
        ("0QEMU    QEMU HARDDISK   X1", None)
    # a target port's descriptors (association 1) name the port, not the disk
    assert scsi_id_serial(page83((1, 0x13, bytes.fromhex("5000c50015ea71ac"))), "", "") is None


def test_a_short_or_foreign_page_has_no_descriptors():
    assert designators(b"") == [] and designators(bytes([0, 0x80, 0, 4]) + b"ABCD") == []
    assert [d.text for d in designators(page83((2, 1, b"ATA     X")) + b"trailing")] == ["ATA     X"]


def test_an_nvme_drive_from_before_namespace_ids_gets_its_model_and_serial_only(tmp_path):
    (tmp_path / "block" / "nvme0n1").mkdir(parents=True)
    (tmp_path / "block" / "nvme0n1" / "model").write_text("Samsung SSD 980 1TB                     \n")
    (tmp_path / "block" / "nvme0n1" / "serial").write_text("S64DNX0R123456      \n")
    assert disk_ids(tmp_path, "nvme0n1") == DiskIds(("nvme-Samsung_SSD_980_1TB_S64DNX0R123456",),
                                                    serial="S64DNX0R123456")
