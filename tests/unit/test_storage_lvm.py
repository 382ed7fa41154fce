"""LVM reports captured in the VM (VG xenbox on vda + sda2, LVs web/db/isos with isos mounted), and the exact
argv `Lvm` builds, through a recording runner (the boundary: the real tools run in test_storage_real_lvm.py)."""
import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.lvm import LV_FIELDS, REPORT, Lvm, parse_lvs, parse_pvs, parse_vgs
from test_storage_support import Replay, failure, fixture

MIB = 1024 * 1024


def test_reports_parse_into_dataclasses():
    pvs = parse_pvs(fixture("vm/pvs.json"))
    assert [(p.path, p.vg, p.free) for p in pvs] == [("/dev/sda2", "xenbox", 113246208), ("/dev/vda", "xenbox", 62914560)]
    (vg,) = parse_vgs(fixture("vm/vgs.json"))
    assert (vg.name, vg.size, vg.free, vg.extent_size, vg.pv_count, vg.lv_count) == (
        "xenbox", 587202560, 176160768, 4 * MIB, 2, 3)


def test_an_lv_with_two_segments_is_one_volume():
    lvs = {lv.name: lv for lv in parse_lvs(fixture("vm/lvs-after.json"))}
    assert sorted(lvs) == ["isos", "web", "web2"]
    assert (lvs["web"].size, lvs["web"].devices) == (68 * MIB, ("/dev/vda(0)", "/dev/vda(48)"))
    assert (lvs["isos"].active, lvs["isos"].in_use, lvs["web"].in_use) == (True, True, False)


def test_create_lv_checks_free_space_then_builds_lvcreate():
    run = Replay({("vgs",): "vm/vgs.json"})
    Lvm(run).create_lv("xenbox", "web3", 64 * MIB)
    assert run.calls[-1] == ["lvcreate", "--yes", "--name", "web3", "--size", f"{64 * MIB}b", "xenbox"]
    assert run.inputs[-1] == ""          # any question LVM asks is answered "no"


def test_create_lv_too_big_names_the_vg_sizes_and_fix():
    run = Replay({("vgs",): "vm/vgs.json"})
    with pytest.raises(StorageError) as error:
        Lvm(run).create_lv("xenbox", "big", 4 * 1024 * MIB)
    assert str(error.value) == "VG xenbox has 168 MiB free; the disk big needs 4 GiB: add a disk or choose a smaller size"
    assert [c[0] for c in run.calls] == ["vgs"]


def test_resize_grows_only():
    run = Replay({("lvs",): "vm/lvs.json", ("vgs",): "vm/vgs.json"})
    Lvm(run).resize_lv("xenbox", "web", 68 * MIB)
    assert run.calls[0] == ["lvs", *REPORT, LV_FIELDS, "xenbox"]
    assert run.calls[-1] == ["lvresize", "--size", f"{68 * MIB}b", "xenbox/web"]
    with pytest.raises(StorageError, match="shrinking it to 32 MiB would destroy the end of its data"):
        Lvm(run).resize_lv("xenbox", "web", 32 * MIB)


def test_create_vg_and_remove_lv_argv():
    run = Replay()
    Lvm(run).create_vg("xenbox", ["/dev/sdb", "/dev/sdd"])
    Lvm(run).remove_lv("xenbox", "web")
    assert run.calls == [["vgcreate", "xenbox", "/dev/sdb", "/dev/sdd"], ["lvremove", "--yes", "xenbox/web"]]


@pytest.mark.parametrize("vg, name", [("xenbox", ""), ("", "web"), ("-rf", "web"), ("xenbox", "a/b")])
def test_remove_lv_refuses_anything_but_one_named_volume(vg, name):
    run = Replay()
    with pytest.raises(StorageError, match="is not a usable"):
        Lvm(run).remove_lv(vg, name)
    assert run.calls == []


@pytest.mark.parametrize("capture, call, sentence", [
    ("vm/lvremove-mounted.txt", lambda l: l.remove_lv("xenbox", "isos"),
     "xenbox/isos is in use (mounted or attached to a running guest): stop the guest or unmount it first"),
    ("vm/vgcreate-name-taken.txt", lambda l: l.create_vg("xenbox", ["/dev/sdb"]),
     "a volume group called xenbox already exists: choose another name"),
    ("vm/vgcreate-mounted-partition.txt", lambda l: l.create_vg("spare", ["/dev/sda1"]),
     "/dev/sda1 still holds data (a filesystem or partition table): erase the disk first, or choose another"),
    ("host/lvcreate-no-device-mapper.txt", lambda l: l.remove_lv("xenbox", "web"),
     "the kernel has no device-mapper driver, so LVM volumes cannot be activated: load it with `modprobe dm_mod`"),
])
def test_lvm_failures_become_sentences(capture, call, sentence):
    def run(argv, *, input=None, timeout=60):
        raise failure(argv, capture)
    with pytest.raises(StorageError) as error:
        call(Lvm(run))
    assert str(error.value) == sentence
