"""The data store: which disks may become one, the tools it runs to make and find one, and its status line.

The runner is the boundary (as in test_storage_support): each test sees the exact argv and answers with
captured LVM output. The real tools run in the end-to-end test, on a virtual disk in the booted image.
"""
from dataclasses import replace

import pytest

from hypervisor.runner import CommandError
from hypervisor.storage import StorageError
from hypervisor.storage.datastore import (GIB, TAG, ConfirmationNeeded, DataStore, check_can_initialise,
                                          data_volume_size)
from hypervisor.storage.disks import Disk, parse_lsblk
from test_storage_support import fixture

MIB = 1024 * 1024
EXTENT = 4 * MIB
BLANK = Disk("vdb", "/dev/vdb", "disk", 20 * GIB, model="QEMU disk")
EXT4 = replace(BLANK, name="vdc", path="/dev/vdc", fstype="ext4", label="old")
NO_GROUPS = '{"report": [{"vg": []}]}'


class Tools:
    """Answers each tool by its first words; remembers every argv in order."""

    def __init__(self, answers: dict[tuple[str, ...], str]) -> None:
        self.answers, self.calls = answers, []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        for prefix, answer in sorted(self.answers.items(), key=lambda item: -len(item[0])):
            if tuple(argv[:len(prefix)]) == prefix:
                if isinstance(answer, CommandError):
                    raise answer
                return answer.pop(0) if isinstance(answer, list) else answer
        return ""


def test_the_data_volume_is_a_quarter_between_1_and_64_gib():
    assert data_volume_size(20 * GIB, EXTENT) == 5 * GIB
    assert data_volume_size(2 * GIB, EXTENT) == GIB            # at least 1 GiB ...
    assert data_volume_size(600 * MIB, EXTENT) == 300 * MIB     # ... or half of a small group
    assert data_volume_size(1000 * GIB, EXTENT) == 64 * GIB
    assert data_volume_size(20 * GIB + 3 * MIB, EXTENT) % EXTENT == 0


def test_a_blank_disk_needs_no_confirmation():
    check_can_initialise(BLANK, boot_device="/dev/sr0")


def test_a_disk_holding_a_filesystem_needs_its_name_typed():
    with pytest.raises(ConfirmationNeeded) as refused:
        check_can_initialise(EXT4, boot_device=None, confirmed_name="vdb")
    assert str(refused.value) == ("/dev/vdc (QEMU disk, 20 GiB) holds an ext4 filesystem labelled old: type its name, "
                                  "vdc, to erase it and everything on it, or choose another disk")
    check_can_initialise(EXT4, boot_device=None, confirmed_name="vdc")
    check_can_initialise(EXT4, boot_device=None, confirmed_name="/dev/vdc")


def test_the_boot_medium_and_mounted_or_read_only_disks_are_refused_even_when_named():
    disks = {d.name: d for d in parse_lsblk(fixture("vm/lsblk-no-udev.json"))}
    with pytest.raises(StorageError, match=r"^/dev/sdc \(QEMU HARDDISK, .*, usb\) is the XenBox boot medium"):
        check_can_initialise(disks["sdc"], boot_device="/dev/sdc", confirmed_name="sdc")
    with pytest.raises(StorageError, match=r"^/dev/sda .* has /dev/sda1 mounted at /srv/guests, so it is in use: choose another disk"):
        check_can_initialise(disks["sda"], boot_device="/dev/sdc", confirmed_name="sda")
    with pytest.raises(StorageError, match="is read-only: choose another disk"):
        check_can_initialise(replace(BLANK, read_only=True), boot_device=None)


def test_initialise_erases_makes_the_tagged_group_the_data_volume_and_mounts_it(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("")
    tools = Tools({("vgs",): [NO_GROUPS, fixture("vm/vgs.json"), fixture("vm/vgs.json")]})
    partitioned = replace(EXT4, fstype=None, children=(replace(EXT4, name="vdc1", path="/dev/vdc1", type="part"),))
    lines = []
    store = DataStore(tools, mountpoint=tmp_path / "store", mounts=mounts)
    store.initialise([partitioned], say=lines.append)
    commands = [c for c in tools.calls if c[0] != "vgs"]
    assert commands == [
        ["wipefs", "--all", "/dev/vdc1"], ["wipefs", "--all", "/dev/vdc"], ["blockdev", "--rereadpt", "/dev/vdc"],
        ["vgcreate", "--yes", "xenbox", "/dev/vdc"],
        ["lvcreate", "--yes", "--name", "data", "--size", f"{280 * MIB}b", "xenbox"],    # half of a 560 MiB group
        ["mkfs.ext4", "-q", "-F", "-L", "XENBOX_DATA", "-m", "0",
         "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "/dev/xenbox/data"],
        ["vgchange", "--addtag", TAG, "xenbox"],        # a data store only once its filesystem is whole
        ["mount", "-t", "ext4", "-o", "noatime", "/dev/xenbox/data", str(tmp_path / "store")]]
    assert tools.calls[0][-1] == f"@{TAG}"      # found by its tag, never by a device name
    assert lines[:2] == ["erasing what is written on /dev/vdc1", "erasing what is written on /dev/vdc"]
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["appliances", "config", "images"]
    identity = (tmp_path / "store" / "config" / "datastore.toml").read_text()
    assert 'uuid = "zVShHw-ksrl-BhwX-SgY3-PahL-FZbj-6LYWVt"' in identity and 'disks = ["/dev/vdc"]' in identity


def test_a_second_data_store_is_refused(tmp_path):
    store = DataStore(Tools({("vgs",): fixture("vm/vgs.json")}), mountpoint=tmp_path, mounts=tmp_path / "none")
    with pytest.raises(StorageError, match=r"^this host already has a data store \(VG xenbox\)"):
        store.initialise([BLANK])


def test_a_name_clash_says_what_to_do(tmp_path):
    taken = CommandError(("vgcreate",), 5, fixture("vm/vgcreate-name-taken.txt.stderr"))
    store = DataStore(Tools({("vgs",): NO_GROUPS, ("vgcreate",): taken}), mountpoint=tmp_path, mounts=tmp_path / "x")
    with pytest.raises(StorageError, match=r"^a volume group called xenbox already exists \(another XenBox's"):
        store.initialise([BLANK])


def test_status_lines(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/mapper/xenbox-data {tmp_path} ext4 rw,noatime 0 0\n")
    found = DataStore(Tools({("vgs",): fixture("vm/vgs.json")}), mountpoint=tmp_path, mounts=mounts).status()
    assert found.line == "Data store: VG xenbox, 560 MiB on 2 disks, 168 MiB free for guest volumes"
    unmounted = DataStore(Tools({("vgs",): fixture("vm/vgs.json")}), mountpoint=tmp_path / "x", mounts=mounts).status()
    assert unmounted.line.endswith("free for guest volumes - NOT mounted at /var/lib/xenbox")
    none = DataStore(Tools({("vgs",): NO_GROUPS}), mountpoint=tmp_path / "x", mounts=mounts).status()
    assert none.line == "Data store: none - set one up on the Storage screen (key t)"
    two = fixture("vm/vgs.json").replace('{"vg_name":"xenbox"', '{"vg_name":"old", "vg_size":"1", "vg_free":"1", '
                                         '"vg_extent_size":"1", "pv_count":"1", "lv_count":"1", "vg_uuid":"u"},'
                                         '\n{"vg_name":"xenbox"')
    both = DataStore(Tools({("vgs",): two}), mountpoint=tmp_path, mounts=mounts).status()
    assert both.line.startswith("Data store: 2 data stores found (old, xenbox): unplug the disks of the one not wanted")


def test_mount_activates_the_group_and_never_creates_anything(tmp_path):
    tools = Tools({("vgs",): fixture("vm/vgs.json")})
    DataStore(tools, mountpoint=tmp_path / "store", mounts=tmp_path / "none").mount()
    assert [c[0] for c in tools.calls if c[0] != "vgs"] == ["vgchange", "mount"]
    assert ["vgchange", "--activate", "y", "xenbox"] in tools.calls


def test_a_data_store_whose_disk_went_away_says_so(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/xenbox/data {tmp_path} ext4 rw,noatime 0 0\n")
    gone = DataStore(Tools({("vgs",): NO_GROUPS}), mountpoint=tmp_path, mounts=mounts).status()
    assert gone.line.startswith("Data store: MISSING - its disk is gone (unplugged or failed) while in use")
    partial = fixture("vm/vgs.json").replace('"vg_uuid":"zVShHw-ksrl-BhwX-SgY3-PahL-FZbj-6LYWVt"',
                                             '"vg_uuid":"u", "vg_missing_pv_count":"1"')
    store = DataStore(Tools({("vgs",): partial}), mountpoint=tmp_path / "x", mounts=mounts)
    assert store.status().line == ("Data store: VG xenbox is MISSING 1 of its 2 disks: reattach them, then reboot; "
                                   "appliances with volumes on it are not started")
    store.mount()          # never activated or mounted with disks missing
