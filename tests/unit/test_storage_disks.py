"""Local disks from lsblk captured in a VM laid out like a XenBox host (see tests/fixtures/storage/README.md):
vda an LVM PV, sda partitioned (ext4 mounted + PV), sdb blank, sdc the XenBox ISO on a USB stick (the boot
medium), sdd-sdf iSCSI disks. Once without udev (XenBox today), once with it."""
from dataclasses import replace

import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.disks import LSBLK, Disks, boot_disk, holds_data, is_local_disk, never_erased, parse_lsblk
from test_storage_support import Replay, fixture


def local(name):
    return {d.name: d for d in parse_lsblk(fixture(name)) if is_local_disk(d)}


def unmounted(disk):
    return replace(disk, mountpoint=None, children=tuple(unmounted(c) for c in disk.children))


def test_without_udev_lsblk_gives_topology_but_no_contents():
    disks = local("vm/lsblk-no-udev.json")
    assert sorted(disks) == ["sda", "sdb", "sdc", "sdd", "sde", "sdf", "vda"]       # loops left out
    sda, usb = disks["sda"], disks["sdc"]
    assert (sda.model, sda.size, sda.serial, sda.fstype) == ("QEMU HARDDISK", 536870912, None, None)
    assert [p.name for p in sda.partitions] == ["sda1", "sda2"]
    assert [c.type for c in sda.partitions[1].children] == ["lvm"]
    assert (usb.transport, usb.removable, usb.read_only, usb.mountpoint) == ("usb", True, True, "/run/xenbox/medium")
    assert disks["sdd"].transport == "iscsi"


def test_with_udev_lsblk_gives_serial_wwn_and_contents():
    disks = local("vm/lsblk-udev.json")
    assert "fd0" not in disks
    assert (disks["sda"].serial, disks["sda"].wwn, disks["sda"].pttype) == ("XB-SCSI-0001", "0x5000c50015ea71ac", "gpt")
    assert (disks["sdc"].fstype, disks["sdc"].label) == ("iso9660", "XENBOX_BOOT")
    assert disks["vda"].fstype == "LVM2_member"


def test_what_each_disk_holds_in_words():
    disks = local("vm/lsblk-udev.json")
    vda = replace(disks["vda"], vg="xenbox")
    sda = disks["sda"]
    sda = replace(sda, children=(sda.children[0], replace(sda.children[1], vg="xenbox")))
    assert holds_data(vda) == "is an LVM physical volume of VG xenbox"
    assert holds_data(sda) == "has sda1 mounted at /srv/guests"
    assert holds_data(unmounted(sda)) == ("has 2 partitions (sda1: an ext4 filesystem labelled guests; "
                                          "sda2: an LVM physical volume of VG xenbox)")
    assert holds_data(unmounted(disks["sdc"])) == "holds an ISO 9660 filesystem labelled XENBOX_BOOT"
    assert holds_data(disks["sdb"]) is None
    assert holds_data(replace(disks["sdb"], fstype="linux_raid_member", label="xenbox:0")) == \
        "is a member of RAID array xenbox:0"


def test_the_boot_medium_is_found_from_the_disk_or_a_partition_and_refused():
    disks = list(local("vm/lsblk-no-udev.json").values())
    boot = fixture("vm/boot-device.txt").strip()
    assert boot_disk(disks, boot).name == "sdc"
    assert boot_disk(disks, "/dev/sdc2").name == "sdc"
    assert boot_disk(disks, None) is None
    assert never_erased(boot_disk(disks, boot), boot) == "is the XenBox boot medium"
    named = {d.name: d for d in disks}
    assert never_erased(named["sda"], boot) == "has /dev/sda1 mounted at /srv/guests, so it is in use"
    assert never_erased(named["sdb"], boot) is None


def test_stable_id_without_udev_is_the_name_udev_gives(tmp_path):
    """The same VM listed without udev (ids made from sysfs) and with it (/dev/disk/by-id): the same ids."""
    links = tmp_path / "by-id"
    links.mkdir()
    for line in fixture("vm/ls-disk-by-id.txt").splitlines()[1:]:
        name, target = line.split()[-3], line.split()[-1]
        (links / name).symlink_to("/dev/" + target.rsplit("/", 1)[1])     # as lsblk names it
    run, sysfs = captured_tools(), captured_sysfs(tmp_path / "sys")
    without = {d.name: d.stable_id for d in Disks(run, by_id=tmp_path / "no-udev", sysfs=sysfs, given=dict).list()}
    with_udev = {d.name: d.stable_id for d in Disks(run, by_id=links, sysfs=sysfs, given=dict).list()}
    assert without == {"vda": "virtio-XB-VIRTIO-0001", "sda": "wwn-0x5000c50015ea71ac", "sdb": "wwn-0x5000c50015ea71ad",
                       "sdc": None, "sdd": "wwn-0x60000000000000000e00000000010001",
                       "sde": "wwn-0x60000000000000000e00000000010002", "sdf": "wwn-0x60000000000000000e00000000020001"}
    assert without == {**with_udev, "sdc": None}     # the USB stick's strings are not in the captured sysfs
    assert with_udev["sdc"] == "usb-QEMU_QEMU_HARDDISK_XB-USB-0001-0:0"


def captured_sysfs(folder):
    """The captured VM's /sys files that name its disks (serials, WWIDs), rebuilt under `folder`."""
    for line in fixture("vm/sysfs-ids.txt").splitlines():
        path, value = line.split(":", 1)
        (folder / path.removeprefix("/sys/")).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.removeprefix("/sys/")).write_text(value + "\n")
    return folder


def captured_tools(more=None):
    """A runner answering lsblk, pvs and wipefs as they answered in the captured VM."""
    answers = {tuple(LSBLK): "vm/lsblk-no-udev.json", ("pvs",): "vm/pvs.json"}
    for name in ("vda", "sda", "sda1", "sda2", "sdb", "sdc", "sdd", "sde", "sdf"):
        answers[("wipefs", "--json", "--no-act", f"/dev/{name}")] = f"vm/wipefs-{name}.json"
    return Replay({**answers, **(more or {})})


def test_disks_fills_contents_from_wipefs_and_pvs_when_udev_is_absent(tmp_path):
    sysfs = captured_sysfs(tmp_path / "sys")
    run = captured_tools()
    disks = {d.name: d for d in Disks(run, by_id=tmp_path / "no-udev", sysfs=sysfs, given=dict).list()}
    assert (disks["vda"].fstype, disks["vda"].vg, disks["vda"].stable_id) == ("LVM2_member", "xenbox", "virtio-XB-VIRTIO-0001")
    assert (disks["sda"].pttype, disks["sda"].stable_id) == ("gpt", "wwn-0x5000c50015ea71ac")
    assert (disks["sda"].partitions[0].fstype, disks["sda"].partitions[0].label) == ("ext4", "guests")
    assert (disks["sdc"].fstype, disks["sdc"].pttype, disks["sdc"].stable_id) == ("iso9660", "gpt", None)
    assert holds_data(disks["vda"]) == "is an LVM physical volume of VG xenbox"
    assert [d.name for d in Disks(run, by_id=tmp_path, sysfs=sysfs, given=dict).usable("/dev/sdc")] == ["sdb", "sdd", "sde", "sdf"]
