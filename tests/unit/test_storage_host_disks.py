"""Host disks given whole to a guest, looked up in the disks of a VM laid out like a XenBox host
(captured: see test_storage_disks.py): sda partitioned (sda1 mounted, sda2 an LVM PV with a volume
active), sdb a blank SAS LUN, sdc the boot medium, vda the data store's PV. The tools' answers are
replayed (the boundary); the e2e storage test gives a real LUN's partition to a real guest."""
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from hypervisor.appliances.launch import CannotStart, with_host_disks
from hypervisor.appliances.manifest import Disk, parse_manifest
from hypervisor.appliances.xlcfg import disk_spec
from hypervisor.settings.problems import FileProblems
from hypervisor.storage import StorageError
from hypervisor.storage.disks import Disks, holds_data
from hypervisor.storage.host_disks import HostDisks, parse_vbd_paths
from hypervisor.answer.apply import resolve_disks
from hypervisor.answer.parse import disk_problems, parse_answer
from hypervisor.storage.disks import mark_given
from test_storage_disk_ids import FIXTURES, lay_out
from test_storage_disks import captured_sysfs, captured_tools

# What `xenstore-ls -f /local/domain/0/backend/vbd` prints for guest 3 with one disk (trimmed).
VBDS = """/local/domain/0/backend/vbd/3/51712/frontend = "/local/domain/3/device/vbd/51712"
/local/domain/0/backend/vbd/3/51712/params = "/dev/sdb"
/local/domain/0/backend/vbd/3/51712/physical-device = "8:10"
/local/domain/0/backend/vbd/3/51712/physical-device-path = "/dev/sdb"
/local/domain/0/backend/vbd/3/51728/physical-device-path = "/dev/loop0"
"""


class Tools:
    def __init__(self, vbds=""):
        self.replay = captured_tools()
        self.vbds = vbds

    def __call__(self, argv, *, input=None, timeout=60):
        return self.vbds if argv[0] == "xenstore-ls" else self.replay(argv, input=input, timeout=timeout)


def host_disks(tmp_path, vbds=""):
    run = Tools(vbds)
    sysfs = captured_sysfs(tmp_path / "sys")
    (sysfs / "class" / "block" / "sda2" / "holders").mkdir(parents=True)
    (sysfs / "class" / "block" / "sda2" / "holders" / "dm-0").mkdir()
    return HostDisks(run, Disks(run, by_id=tmp_path / "no-udev", sysfs=sysfs, given=dict), booted=lambda: "/dev/sdc", sysfs=sysfs)


# The id XenBox showed for a SATA disk without a WWN before it made udev's names: the kernel's wwid, as is.
EARLIER_ATA_ID = "t10.ATA     HGST HUH728080ALE604                                ZZZZH3VX"


def with_a_sata_disk_as_sdb(tmp_path):
    """The capture VM, its blank sdb being the HGST SATA disk of fixtures/disk_ids (its sysfs, not the VM's)."""
    sysfs = captured_sysfs(tmp_path / "sys")
    shutil.rmtree(sysfs / "block" / "sdb")
    case = tmp_path / "sdb.sysfs"
    case.write_text((FIXTURES / "ata-hgst-huh728080.sysfs").read_text().replace("sdn", "sdb"))
    lay_out(case, sysfs)
    run = Tools()
    return run, Disks(run, by_id=tmp_path / "no-udev", sysfs=sysfs, given=dict), sysfs


def test_manifests_and_answer_files_naming_a_disk_by_its_earlier_id_still_find_it(tmp_path):
    run, disks, sysfs = with_a_sata_disk_as_sdb(tmp_path)
    sdb = next(d for d in disks.list() if d.name == "sdb")
    assert (sdb.stable_id, sdb.other_ids) == ("ata-HGST_HUH728080ALE604_ZZZZH3VX", (EARLIER_ATA_ID,))
    host = HostDisks(run, disks, booted=lambda: "/dev/sdc", sysfs=sysfs)
    # appliance.toml: device = "..." with either id
    assert host.device("xvdb", EARLIER_ATA_ID) == host.device("xvdb", sdb.stable_id) == Path("/dev/sdb")
    # an answer file that the first-boot screens wrote with the earlier id
    answer = parse_answer(f'[storage]\ndata_disks = ["/dev/disk/by-id/{EARLIER_ATA_ID}"]', "a")
    assert disk_problems(answer, disks.list(), "/dev/sdc") == []
    assert [d.path for d in resolve_disks(answer, disks.list())] == ["/dev/sdb"]
    # and the disks lists still say which appliance it is given to
    assert mark_given(sdb, {(EARLIER_ATA_ID, None): "appliance web as its disk xvdb"}).given_to == \
        "appliance web as its disk xvdb"
    with pytest.raises(StorageError, match="which is not attached to this host"):
        host.device("xvdb", "ata-HGST_HUH728080ALE604_OTHER")


def test_a_lun_is_found_by_its_stable_id(tmp_path):
    assert str(host_disks(tmp_path).device("xvdb", "wwn-0x5000c50015ea71ad")) == "/dev/sdb"


def test_a_disk_not_attached_is_named_with_where_to_look(tmp_path):
    with pytest.raises(StorageError, match=r"^its disk xvdb is the host disk wwn-0x5000c500deadbeef, which is not "
                                           r"attached to this host: plug it in .*`xenbox storage disks` lists"):
        host_disks(tmp_path).device("xvdb", "wwn-0x5000c500deadbeef")


def test_disks_the_host_uses_are_never_given(tmp_path):
    disks = host_disks(tmp_path)
    with pytest.raises(StorageError, match=r"is the host disk virtio-XB-VIRTIO-0001 \(/dev/vda\), which holds "
                                           r"/dev/vda, a physical volume of the host's volume group xenbox"):
        disks.device("xvdb", "virtio-XB-VIRTIO-0001")
    with pytest.raises(StorageError, match=r"which has /dev/sda1 mounted at /srv/guests: a disk given to a guest"):
        disks.device("xvdb", "wwn-0x5000c50015ea71ac")
    with pytest.raises(StorageError, match=r"^its disk xvdb is /dev/sda1 \(wwn-0x5000c50015ea71ac, partition 1\), "
                                           r"which has /dev/sda1 mounted"):
        disks.device("xvdb", "wwn-0x5000c50015ea71ac", partition=1)


class StickWithId:
    """The captured disks, the boot stick (which had no id: its USB bridge gave no serial) with one."""

    def __init__(self, disks):
        self.disks = disks

    def list(self):
        return [replace(d, stable_id="usb-XB-STICK") if d.name == "sdc" else d for d in self.disks.list()]


def test_the_boot_medium_is_never_given(tmp_path):
    captured = host_disks(tmp_path)
    disks = HostDisks(captured._run, StickWithId(captured._disks), booted=lambda: "/dev/sdc")
    with pytest.raises(StorageError, match=r"^its disk xvdb is the host disk usb-XB-STICK \(/dev/sdc\), the XenBox "
                                           r"boot medium, which no guest is given"):
        disks.device("xvdb", "usb-XB-STICK")


def test_a_partition_that_is_not_there_lists_those_that_are(tmp_path):
    with pytest.raises(StorageError, match=r"which has no partition 3 \(its partitions: sda1, sda2\): fix partition"):
        host_disks(tmp_path).device("xvdb", "wwn-0x5000c50015ea71ac", partition=3)


def test_a_disk_another_running_guest_has_is_refused_with_its_domain(tmp_path):
    assert parse_vbd_paths(VBDS) == {"/dev/sdb": 3, "/dev/loop0": 3}
    with pytest.raises(StorageError, match=r"/dev/sdb is already a disk of the running guest with domain id 3: a "
                                           r"host disk goes to one guest at a time"):
        host_disks(tmp_path, VBDS).device("xvdc", "wwn-0x5000c50015ea71ad")


MANIFEST = """
name = "lun-user"
type = "pv"
[memory]
initial_mib = 64
[boot]
kernel = "vmlinuz"
[[disks]]
device = "wwn-0x5000c50015ea71ad"
[[disks]]
device = "wwn-0x5000c50015ea71ac"
partition = 2
target = "xvdc"
"""


def parse(tmp_path, text):
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    return parse_manifest(text, tmp_path)


def test_a_manifest_names_host_disks_by_id_and_the_start_finds_their_nodes(tmp_path):
    manifest = parse(tmp_path, MANIFEST)
    assert [(d.target, d.device, d.partition, d.file) for d in manifest.disks] == [
        ("xvda", "wwn-0x5000c50015ea71ad", None, None), ("xvdc", "wwn-0x5000c50015ea71ac", 2, None)]
    asked = []
    started = with_host_disks(manifest, lambda target, device, partition: asked.append(target) or
                              tmp_path / f"{device}-{partition}")
    assert asked == ["xvda", "xvdc"]
    assert [d.file.name for d in started.disks] == ["wwn-0x5000c50015ea71ad-None", "wwn-0x5000c50015ea71ac-2"]


def test_a_host_disk_that_cannot_be_given_stops_the_start_with_the_reason(tmp_path):
    manifest = parse(tmp_path, MANIFEST)
    with pytest.raises(CannotStart, match=r"^lun-user: its disk xvdc is /dev/sda2 \(wwn-0x5000c50015ea71ac, "
                                          r"partition 2\), which holds /dev/sda2, a physical volume"):
        with_host_disks(manifest, host_disks(tmp_path).device)


@pytest.mark.parametrize("disk, field, message", [
    ('device = "/dev/sdb"', "disks[0].device", "must be a disk's stable id"),
    ('device = "wwn-1"\nsize_mib = 8', "disks[0].size_mib", "a host disk is given as it is"),
    ('device = "wwn-1"\nfile = "x.img"', "disks[0].file", "a host disk is given as it is"),
    ('device = "wwn-1"\npartition = 0', "disks[0].partition", "must be at least 1"),
    ('device = "wwn-1"\npool = "local"\nsize_mib = 8', "disks[0].device", "a volume on a pool or a host disk"),
    ('file = "vmlinuz"\npartition = 1', "disks[0].partition", "goes with device"),
    ('device = "pci-0000:00:01.1-ata-2"\ncdrom = true\npartition = 1', "disks[0].partition", "has no partitions"),
])
def test_host_disk_mistakes_name_the_field(tmp_path, disk, field, message):
    text = MANIFEST.split("[[disks]]")[0] + "[[disks]]\n" + disk + "\n"
    with pytest.raises(FileProblems) as raised:
        parse(tmp_path, text)
    assert any(p.field == field and message in p.message for p in raised.value.problems), raised.value.problems


def test_a_host_disk_goes_to_blkback_through_xenboxs_script_for_hvm_guests_too():
    disk = Disk(Path("/dev/sdb2"), "raw", "hda", "rw", False, device="wwn-0x5000c50015ea71ad", partition=2)
    assert disk_spec(disk, hvm=True) == "format=raw, vdev=hda, access=rw, script=/usr/lib/xenbox/block-phy, " \
                                        "target=/dev/sdb2"


def test_a_disk_an_appliance_is_given_holds_its_data_even_without_a_signature(tmp_path):
    run = captured_tools()
    given = {("wwn-0x5000c50015ea71ad", None): "appliance web as its disk xvdb",
             ("wwn-0x5000c50015ea71ac", 2): "appliance db as its disk xvdc"}
    disks = {d.name: d for d in Disks(run, by_id=tmp_path / "no-udev", sysfs=captured_sysfs(tmp_path / "sys"),
                                      given=lambda: given).list()}
    assert holds_data(disks["sdb"]) == "is given to appliance web as its disk xvdb"      # blank, yet not erased unasked
    assert [(p.name, p.given_to) for p in disks["sda"].partitions] == [("sda1", None),
                                                                       ("sda2", "appliance db as its disk xvdc")]
    assert disks["sdd"].given_to is None
