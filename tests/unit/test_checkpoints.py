"""Checkpoints: which disks can be snapshotted, the order of what is done to the guest, the room checked first,
and every way out leaving the guest running. Xen and LVM cannot run on this build host: here they are stand-ins
that record what they were asked and write what xl would (the memory file); the e2e appliances test takes and
restores a real checkpoint in the VM."""
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypervisor.appliances.checkpoints import (MEMORY, CheckpointError, Checkpoints, Snapshot, plan_snapshots,
                                               read_record, volume_of)
from hypervisor.storage import StorageError
from hypervisor.xen.guest_disks import GuestDisk, parse_backends

MIB = 1024 * 1024
XENSTORE = """\
/local/domain/0/backend/vbd/7/51712/params = "/dev/xenbox/web.xvda"
/local/domain/0/backend/vbd/7/51712/dev = "xvda"
/local/domain/0/backend/vbd/7/51712/mode = "w"
/local/domain/0/backend/vbd/7/51712/device-type = "disk"
/local/domain/0/backend/vbd/7/5632/params = "/var/lib/xenbox/images/isos/x.iso"
/local/domain/0/backend/vbd/7/5632/dev = "hdc"
/local/domain/0/backend/vbd/7/5632/mode = "r"
/local/domain/0/backend/vbd/7/5632/device-type = "cdrom"
/local/domain/0/backend/qdisk/7/51728/params = "qcow2:/var/lib/xenbox/images/web.xvdb.qcow2"
/local/domain/0/backend/qdisk/7/51728/dev = "xvdb"
/local/domain/0/backend/qdisk/7/51728/mode = "w"
/local/domain/0/backend/vbd/8/51712/params = "/dev/xenbox/db.xvda"
/local/domain/0/backend/vbd/8/51712/dev = "xvda"
"""


def test_a_guests_disks_are_read_from_its_backends():
    disks = parse_backends(XENSTORE, 7)
    assert disks == [GuestDisk("hdc", "/var/lib/xenbox/images/isos/x.iso", "raw", "vbd", False, True),
                     GuestDisk("xvda", "/dev/xenbox/web.xvda", "raw", "vbd", True, False),
                     GuestDisk("xvdb", "/var/lib/xenbox/images/web.xvdb.qcow2", "qcow2", "qdisk", True, False)]


def test_only_data_store_volumes_are_snapshotted_and_every_other_writable_disk_is_named():
    disks = parse_backends(XENSTORE, 7)
    assert volume_of(disks[1], "xenbox") == "web.xvda"
    assert volume_of(GuestDisk("xvdc", "/dev/mapper/xenbox-my--app.xvdc", "raw", "vbd", True, False),
                     "xenbox") == "my-app.xvdc"
    with pytest.raises(CheckpointError, match=r"disk xvdb \(/var/lib/xenbox/images/web.xvdb.qcow2\) is not on the "
                                              r"data store's volumes"):
        plan_snapshots("web", disks, "xenbox", "S")
    assert plan_snapshots("web", disks[:2], "xenbox", "S") == (Snapshot("xvda", "web.xvda", "web.xvda.cp-S"),)


def xl_save_file(name: str) -> bytes:
    """What xl save writes first: its header and libxl's JSON of the guest (tools/xl/xl_saverestore.c), then pages."""
    import json
    import struct
    from hypervisor.appliances.saved import BYTE_ORDER, HEADER, JSON_FLAG, MAGIC
    config = json.dumps({"c_info": {"name": name}}).encode() + b"\0"
    optional = struct.pack("=I", len(config)) + config
    return HEADER.pack(MAGIC, BYTE_ORDER, JSON_FLAG, 0, len(optional)) + optional + b"\0" * 4096


@dataclass
class Domain:
    domid: int
    memory_mib: int


class Xl:
    """Stand-in for xl: `save -p` writes a memory file as xl would; every call is recorded."""

    def __init__(self, running=True, fail_save=False):
        self.calls, self.running, self.fail_save = [], running, fail_save

    def domain(self, name):
        return Domain(7, 96) if self.running else None

    def save_paused(self, name, path):
        self.calls.append(("save -p", name))
        if self.fail_save:
            from hypervisor.runner import CommandError
            raise CommandError(("xl", "save"), 1, "libxl: suspend failed")
        Path(path).write_bytes(xl_save_file(name))

    def unpause(self, name):
        self.calls.append(("unpause", name))

    def destroy(self, name):
        self.calls.append(("destroy", name))
        self.running = False

    def restore(self, path):
        self.calls.append(("restore", Path(path).name))


@dataclass
class Lv:
    name: str
    size: int
    in_use: bool = False


class Lvm:
    def __init__(self, free=1024 * MIB, fail_snapshot=False):
        self.volumes = {"web.xvda": 64 * MIB}
        self.calls, self._free, self.fail_snapshot = [], free, fail_snapshot

    def lvs(self, group):
        return [Lv(name, size) for name, size in self.volumes.items()]

    def free(self, group):
        return self._free

    def snapshot_lv(self, group, origin, name, size):
        self.calls.append(("snapshot", origin, name, size))
        if self.fail_snapshot:
            raise StorageError("VG xenbox has 0 B free")
        self.volumes[name] = size

    def merge_snapshot(self, group, name):
        self.calls.append(("merge", name))
        del self.volumes[name]

    def remove_lv(self, group, name):
        self.calls.append(("remove", name))
        self.volumes.pop(name, None)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 0.25
        return self.now


def store(tmp_path, xl=None, lvm=None, free=10 << 30):
    disks = parse_backends(XENSTORE.replace("qdisk/7", "qdisk/9"), 7)       # web without its qcow2 disk
    return Checkpoints(xl or Xl(), lvm or Lvm(), "xenbox", lambda domid: disks, tmp_path / "checkpoints",
                       Clock(), free_bytes=lambda path: free, sleep=lambda seconds: None)


def test_a_checkpoint_saves_the_memory_paused_snapshots_the_disks_then_unpauses(tmp_path):
    xl, lvm = Xl(), Lvm()
    checkpoints = store(tmp_path, xl, lvm)
    said = []
    taken = checkpoints.take("web", said.append, now=1_796_000_000)
    assert taken.stamp == "20261130T005320Z"
    assert xl.calls == [("save -p", "web"), ("unpause", "web")]
    assert lvm.calls == [("snapshot", "web.xvda", "web.xvda.cp-20261130T005320Z", 64 * MIB)]
    assert taken.paused_ms == 250 and taken.memory_bytes == len(xl_save_file("web"))
    assert oct((taken.folder / MEMORY).stat().st_mode)[-3:] in ("600", "644")      # xl's own file here
    assert oct(taken.folder.stat().st_mode)[-3:] == "700"
    assert read_record(taken.folder / "checkpoint.toml") == taken
    assert checkpoints.list("web") == [taken]
    assert "the guest stood still for 250 ms" in said[-1]


def test_a_failed_snapshot_removes_what_was_made_and_the_guest_runs_on(tmp_path):
    xl, lvm = Xl(), Lvm(fail_snapshot=True)
    checkpoints = store(tmp_path, xl, lvm)
    with pytest.raises(CheckpointError, match="no checkpoint of web was taken: VG xenbox has 0 B free; it runs on"):
        checkpoints.take("web")
    assert xl.calls == [("save -p", "web"), ("unpause", "web")]
    assert checkpoints.list("web") == [] and list((tmp_path / "checkpoints" / "web").iterdir()) == []


def test_a_failed_save_leaves_no_checkpoint_and_the_guest_running(tmp_path):
    xl = Xl(fail_save=True)
    checkpoints = store(tmp_path, xl)
    with pytest.raises(CheckpointError, match="no checkpoint of web was taken: .*suspend failed"):
        checkpoints.take("web")
    assert xl.calls == [("save -p", "web"), ("unpause", "web")]


def test_no_room_refuses_before_the_guest_is_touched_and_deletes_nothing(tmp_path):
    xl = Xl()
    with pytest.raises(CheckpointError, match=r"the data store has 1 MiB free and its memory needs 112 MiB"):
        store(tmp_path, xl, free=1 * MIB).take("web")
    with pytest.raises(CheckpointError, match=r"its disk snapshots need 64 MiB and the data store's volume group "
                                              r"has 32 MiB free.*Nothing was deleted"):
        store(tmp_path, xl, Lvm(free=32 * MIB)).take("web")
    assert xl.calls == []


def test_a_guest_not_running_has_no_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="web is not running"):
        store(tmp_path, Xl(running=False)).take("web")


def test_restoring_stops_the_guest_puts_the_disks_back_keeps_the_checkpoint_and_restores_memory(tmp_path):
    xl, lvm = Xl(), Lvm()
    checkpoints = store(tmp_path, xl, lvm)
    taken = checkpoints.take("web", now=1_796_000_000)
    xl.calls, lvm.calls = [], []
    checkpoints.restore("web", taken.stamp)
    assert xl.calls == [("destroy", "web"), ("restore", MEMORY)]
    assert lvm.calls == [("merge", "web.xvda.cp-20261130T005320Z"),
                         ("snapshot", "web.xvda", "web.xvda.cp-20261130T005320Z", 64 * MIB)]
    assert checkpoints.list("web") == [taken]           # restorable again


def test_old_checkpoints_are_pruned_with_their_snapshots_and_an_unknown_one_is_named(tmp_path):
    xl, lvm = Xl(), Lvm()
    checkpoints = store(tmp_path, xl, lvm)
    stamps = [checkpoints.take("web", now=1_796_000_000 + minute * 60).stamp for minute in range(3)]
    gone = checkpoints.prune("web", keep=1)
    assert [c.stamp for c in gone] == stamps[:2]
    assert [c.stamp for c in checkpoints.list("web")] == stamps[2:]
    assert sorted(lvm.volumes) == ["web.xvda", f"web.xvda.cp-{stamps[2]}"]
    with pytest.raises(CheckpointError, match=rf"web has no checkpoint 2020 \(it has: {stamps[2]}\)"):
        checkpoints.delete("web", "2020")
    with pytest.raises(CheckpointError, match="would leave"):
        checkpoints.list("../etc")


def test_a_checkpoint_cut_short_is_not_listed(tmp_path):
    checkpoints = store(tmp_path)
    (tmp_path / "checkpoints" / "web" / ".20261130T000000Z").mkdir(parents=True)
    (tmp_path / "checkpoints" / "web" / "20261130T000001Z").mkdir()         # its record never written
    assert checkpoints.list("web") == []


def test_a_schedule_is_read_from_the_manifest_and_checked(tmp_path):
    from hypervisor.appliances.manifest import CheckpointSchedule, parse_manifest
    from hypervisor.settings.problems import FileProblems
    (tmp_path / "vmlinuz").write_text("k")
    base = 'name = "web"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "vmlinuz"\n'
    assert parse_manifest(base, tmp_path).checkpoint == CheckpointSchedule(None, 3)
    assert parse_manifest(base + "[checkpoint]\nevery_min = 60\nkeep = 5\n", tmp_path).checkpoint == \
        CheckpointSchedule(60, 5)
    with pytest.raises(FileProblems) as raised:
        parse_manifest(base + '[checkpoint]\nevery_min = 1\nkeep = 0\nevery = "hour"\n', tmp_path)
    text = str(raised.value)
    assert "checkpoint.every_min = 1: must be at least 5 minutes" in text
    assert "checkpoint.keep = 0: must be at least 1" in text
    assert 'checkpoint.every' in text and "unknown key" in text


def test_a_scheduled_checkpoint_is_due_once_the_newest_is_old_enough(tmp_path):
    from datetime import datetime, timezone
    from hypervisor.appliances.checkpoints import Checkpoint, is_due
    at = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    one = [Checkpoint("web", "S", "2026-12-07T11:30:00Z", 10, 1, (), tmp_path)]
    assert is_due(60, [], at) and not is_due(None, [], at)
    assert not is_due(60, one, at) and is_due(30, one, at)
    assert is_due(30, one, at.replace(minute=0, second=0)) and not is_due(31, one, at)


class StillOpen(Lvm):
    """An origin held open by a backend that never lets go, and a merge LVM therefore puts off."""

    def lvs(self, group):
        return [Lv(name, size, in_use=name == "web.xvda") for name, size in self.volumes.items()]


class MergePutOff(Lvm):
    def merge_snapshot(self, group, name):
        self.calls.append(("merge", name))          # LVM: "merging will occur on next activation"


def test_a_volume_still_open_or_a_merge_put_off_restores_nothing(tmp_path):
    for lvm, why in ((StillOpen(), "the volume web.xvda is still in use"),
                     (MergePutOff(), "LVM put off putting it back; nothing was started")):
        xl = Xl()
        checkpoints = store(tmp_path / type(lvm).__name__, xl, lvm)
        stamp = checkpoints.take("web").stamp
        with pytest.raises(CheckpointError, match=why):
            checkpoints.restore("web", stamp)
        assert ("restore", MEMORY) not in xl.calls
