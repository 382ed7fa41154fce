"""Whether an appliance could move to a paired host: what its manifest needs (parsed as XenBox parses it),
the target's facts (as a peer sends them) and every reason for a refusal. Pure computation: the facts
are written out here as a peer's message would carry them."""
from dataclasses import replace
from pathlib import Path

import pytest

from hypervisor.appliances.manifest import parse_manifest
from hypervisor.migration.checks import NO_SHADOW, missing_cpu_features, refusals
from hypervisor.migration.facts import BadFacts, HostFacts, from_message, to_message
from hypervisor.migration.needs import ISCSI, NFS, StorageNeed, guest_needs, normal_share

CAPS = "178bf3fd:80002001:20100800:00000007:00000000:00000000:00000000:00000000"
SOURCE = HostFacts("alpha", "b1", "4.17.7", CAPS, 900, True, ("xenbr0",), ("nas:/export/xen",), (), ("web",))
TARGET = HostFacts("beta", "b1", "4.17.7", CAPS, 900, True, ("xenbr0",), ("nas:/export/xen",),
                   ("wwn-0x6001405aa",), ("db",))
PVH = 'name = "web"\ntype = "pvh"\n[memory]\ninitial_mib = 128\n[boot]\nkernel = "vmlinuz"\n[[network]]\n'
LUN = "wwn-0x6001405aa"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    for name in ("vmlinuz", "data.img"):
        (tmp_path / name).write_text("placeholder\n")
    return tmp_path


def needs(text: str, bundle: Path, memory: int = 128, folders=None):
    manifest = parse_manifest(text, bundle)
    return guest_needs(manifest, memory, {"nas": "NAS:/export//xen/", "more": "other:/x"},
                       folders or {}, lambda device: device == LUN)


def test_a_pvh_guest_on_a_shared_nfs_pool_and_lun_may_move(bundle):
    guest = needs(PVH + '[[disks]]\npool = "nas"\nsize_mib = 64\n[[disks]]\ndevice = "wwn-0x6001405aa"\n', bundle)
    assert guest.storage == (StorageNeed(NFS, "nas:/export/xen", "disk xvda on pool nas (nas:/export/xen)"),
                             StorageNeed(ISCSI, LUN, f"disk xvdb (iSCSI LUN {LUN})"))
    assert guest.bridges == ("xenbr0",) and guest.local_only == ()
    assert refusals(guest, SOURCE, TARGET) == []


def test_local_disks_each_make_a_guest_unmovable_and_say_which(bundle):
    guest = needs(PVH + '[[disks]]\nfile = "data.img"\n[[disks]]\npool = "local"\nsize_mib = 64\n'
                  '[[disks]]\npool = "files"\nsize_mib = 64\n[[disks]]\ndevice = "wwn-0x5000c500a1b2c3d4"\n', bundle)
    assert guest.storage == ()
    found = refusals(guest, SOURCE, TARGET)
    assert found[0].startswith(f"disk xvda is the file {bundle.resolve()}/data.img, on this host only: move its data")
    assert found[1].startswith("disk xvdb is on the data store, on this host only")
    assert found[2].startswith("disk xvdc is on the data store, on this host only")
    assert found[3].startswith("disk xvdd is this host's own disk wwn-0x5000c500a1b2c3d4")
    assert len(found) == 4


def test_a_file_inside_a_mounted_nfs_pool_is_that_share(bundle, tmp_path):
    mounted = tmp_path / "pools" / "nas"
    (mounted / "web").mkdir(parents=True)
    (mounted / "web" / "disk.img").write_text("x")
    guest = needs(PVH + f'[[disks]]\nfile = "{mounted}/web/disk.img"\n', bundle, folders={mounted: "nas:/export/xen"})
    assert [need.identity for need in guest.storage] == ["nas:/export/xen"]


def test_every_missing_thing_on_the_target_is_its_own_reason(bundle):
    guest = needs(PVH.replace("[[network]]\n", '[[network]]\n[[network]]\nbridge = "xenbr1"\n') +
                  '[[disks]]\npool = "nas"\nsize_mib = 64\n[[disks]]\ndevice = "wwn-0x6001405aa"\n', bundle, memory=1024)
    bare = replace(TARGET, bridges=("xenbr0",), nfs_shares=(), iscsi_luns=(), appliances=("web",), hvm=False)
    found = refusals(guest, SOURCE, bare)
    assert found == [
        "beta already has an appliance named web: remove or rename one of them",
        "beta has no pool on nas:/export/xen (disk xvda on pool nas (nas:/export/xen)): add that NFS share as a "
        "pool there (Storage screen, p)",
        f"beta does not see disk xvdb (iSCSI LUN {LUN}): attach that iSCSI target there",
        "beta has no bridge xenbr1: add it there (Network screen)",
        "beta has 900 MiB free and the guest needs 1040 MiB: free memory there, or give the guest less first (mem-set)",
        "beta cannot run PVH guests (no VT-x/AMD-V with hardware-assisted paging, or switched off in its firmware)",
    ]


def test_a_pv_guest_is_refused_a_live_move_with_the_reason(bundle):
    guest = needs(PVH.replace('"pvh"', '"pv"'), bundle)
    assert refusals(guest, SOURCE, TARGET) == [NO_SHADOW]


@pytest.mark.parametrize("theirs, why", [
    ("4.17.2", None), ("4.18.0", None), ("4.16.4", "older than this host's 4.17.7: update it first"),
    ("4.19.0", "more than one release after"), ("5.0.0", "more than one release after"),
    ("unknown", "cannot be compared")])
def test_xen_takes_guests_from_its_own_release_and_the_one_before(bundle, theirs, why):
    found = refusals(needs(PVH, bundle), SOURCE, replace(TARGET, xen_version=theirs))
    assert (found == []) if why is None else (len(found) == 1 and why in found[0])


def test_a_target_cpu_lacking_a_feature_is_named_by_word_and_bits(bundle):
    lacking = CAPS.replace("20100800", "20000800")
    assert missing_cpu_features(CAPS, lacking) == "word 2: 00100000"
    assert missing_cpu_features(lacking, CAPS) == ""            # a richer target is fine
    assert missing_cpu_features(CAPS, "x") == "the CPU feature lists cannot be read"
    found = refusals(needs(PVH, bundle), SOURCE, replace(TARGET, hw_caps=lacking))
    assert found == ["beta's CPU lacks features this host's has (word 2: 00100000): a guest using them would fail there"]


def test_shares_are_compared_by_server_and_export_not_by_spelling():
    assert normal_share("NAS.local:/export//xen/") == normal_share("nas.local:/export/xen") == "nas.local:/export/xen"


def test_facts_cross_the_channel_and_a_wrong_kind_is_refused():
    assert from_message(to_message(TARGET)) == TARGET
    for key, value, why in (("free_memory_mib", "900", "not a number"), ("hvm", 1, "not true or false"),
                            ("bridges", "xenbr0", "not a list of names"), ("name", None, "not text"),
                            ("free_memory_mib", True, "not a number")):
        with pytest.raises(BadFacts, match=why):
            from_message({**to_message(TARGET), key: value})
