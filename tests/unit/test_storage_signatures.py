"""wipefs/blkid output captured in the VM: the XenBox ISO on a USB stick, an ext4 partition, LVM PVs, a blank disk."""
import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.signatures import Signatures, describe, parse_blkid, parse_wipefs
from test_storage_support import Replay, fixture


def test_the_boot_iso_shows_one_thing_per_kind():
    found = parse_wipefs(fixture("vm/wipefs-sdc.json"))
    assert [s.type for s in found] == ["iso9660", "gpt", "gpt", "PMBR", "mac"]
    assert describe(found) == ["an ISO 9660 filesystem labelled XENBOX_BOOT", "a GPT partition table",
                               "an Apple partition map"]


def test_filesystem_pv_and_blank():
    assert describe(parse_wipefs(fixture("vm/wipefs-sda1.json"))) == ["an ext4 filesystem labelled guests"]
    (pv,) = parse_wipefs(fixture("vm/wipefs-vda.json"))
    assert (pv.type, pv.offset) == ("LVM2_member", 0x218)
    assert parse_wipefs(fixture("vm/wipefs-sdb.json")) == []


def test_blkid_export_unescapes_values():
    values = parse_blkid(fixture("vm/blkid-vda.txt"))
    assert (values["TYPE"], values["VERSION"]) == ("LVM2_member", "LVM2 001")
    assert parse_blkid(fixture("vm/blkid-sda1.txt"))["LABEL"] == "guests"


def test_probe_and_erase_argv():
    run = Replay({("wipefs", "--json"): "vm/wipefs-sda1.json"})
    assert Signatures(run).probe("/dev/sda1")[0].label == "guests"
    Signatures(run).erase("/dev/sdb")
    assert run.calls == [["wipefs", "--json", "--no-act", "/dev/sda1"], ["wipefs", "--all", "/dev/sdb"]]
    with pytest.raises(StorageError, match="only a device under /dev"):
        Signatures(run).erase("sdb")
