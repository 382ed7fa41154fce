"""A stick or partition brought with bundles: mounted read-only for as long as it is read, then unmounted.

Only the mount boundary is stood in for: this build host has no stick to mount, so blkid, mount and
umount are answered by a recording runner, `is_block_device` says yes for the names the tests give,
and the kernel's mount table is a file. The end-to-end storage test mounts a real disk in a booted XenBox.
The bundles found on a mounted device are real folders and files.
"""
from pathlib import Path

import pytest

from hypervisor.appliances.on_media import bundle_on, bundles_on
from hypervisor.runner import CommandError
from hypervisor.storage import media
from hypervisor.storage.media import MediaError, device_path, mounted_read_only


@pytest.fixture
def blocks(monkeypatch):
    """sdb, sdb1 and vdc are block devices here; nothing else is."""
    monkeypatch.setattr(media, "is_block_device", lambda path: path.name in ("sdb", "sdb1", "vdc"))


class Runner:
    def __init__(self, kind="vfat\n", fail=()):
        self.calls, self.kind, self.fail = [], kind, fail

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        if argv[0] in self.fail:
            raise CommandError(tuple(argv), 32, f"{argv[0]}: {argv[-1]}: target is busy")
        return self.kind if argv[0] == "blkid" else ""


def lifecycle(tmp_path, runner, device="sdb1", body=lambda folder: None):
    said = []
    mounts = tmp_path / "mounts"
    mounts.write_text("")
    with mounted_read_only(device, said.append, runner, tmp_path / "media", mounts, tmp_path / "sys") as folder:
        body(folder)
    return folder, said


def test_a_device_is_mounted_read_only_with_its_type_and_unmounted_after(tmp_path, blocks):
    runner, seen = Runner(), []
    folder, said = lifecycle(tmp_path, runner, "/dev/sdb1", lambda folder: seen.append(folder.is_dir()))
    assert folder == tmp_path / "media" / "sdb1" and seen == [True]
    assert runner.calls == [["blkid", "-o", "value", "-s", "TYPE", "/dev/sdb1"],
                            ["mount", "-t", "vfat", "-o", "ro", "/dev/sdb1", str(folder)],
                            ["umount", str(folder)]]
    assert said == [f"/dev/sdb1 (vfat) mounted read-only at {folder}", "/dev/sdb1 unmounted"]
    assert not folder.exists()


def test_an_ext4_journal_is_not_replayed_and_the_device_is_unmounted_even_when_reading_fails(tmp_path, blocks):
    runner = Runner("ext4\n")

    def broken(folder):
        raise RuntimeError("the bundle could not be read")
    with pytest.raises(RuntimeError):
        lifecycle(tmp_path, runner, "sdb1", broken)
    assert runner.calls[1] == ["mount", "-t", "ext4", "-o", "ro,noload", "/dev/sdb1", str(tmp_path / "media/sdb1")]
    assert runner.calls[-1] == ["umount", str(tmp_path / "media/sdb1")]


def test_a_device_that_cannot_be_unmounted_is_said_with_the_command_to_run(tmp_path, blocks):
    folder, said = lifecycle(tmp_path, Runner(fail=("umount",)))
    assert said[-1] == (f"/dev/sdb1 could not be unmounted from {folder} (umount: {folder}: target is busy): "
                        f"`umount {folder}` before pulling it out")


def test_a_whole_disk_with_partitions_names_them_and_data_store_disks_are_no_media(tmp_path, blocks):
    (tmp_path / "sys" / "sdb" / "sdb1").mkdir(parents=True)
    (tmp_path / "sys" / "sdb" / "sdb2").mkdir()
    (tmp_path / "sys" / "sdb" / "queue").mkdir()
    runner = Runner("")
    with pytest.raises(MediaError, match=r"^/dev/sdb holds no filesystem: it has partitions \(sdb1, sdb2\); give "
                                         r"the one holding the bundles, such as sdb1$"):
        lifecycle(tmp_path, runner, "sdb")
    with pytest.raises(MediaError, match="/dev/vdc is an LVM physical volume, not a filesystem holding files"):
        lifecycle(tmp_path, Runner("LVM2_member\n"), "vdc")
    assert not any(call[0] == "mount" for call in runner.calls)


def test_a_mount_that_fails_leaves_no_folder_behind(tmp_path, blocks):
    runner = Runner(fail=("mount",))
    with pytest.raises(MediaError, match=r"/dev/sdb1 \(vfat\) could not be mounted: mount: .*target is busy"):
        lifecycle(tmp_path, runner)
    assert not (tmp_path / "media" / "sdb1").exists()
    assert runner.calls[-1][0] == "mount"           # and no umount of what was never mounted


def test_a_device_mounted_already_is_read_where_it_is_and_left_mounted(tmp_path, blocks, monkeypatch):
    monkeypatch.setattr(media, "where_mounted", lambda device, mounts: Path("/mnt/stick"))
    runner = Runner()
    folder, said = lifecycle(tmp_path, runner)
    assert folder == Path("/mnt/stick") and runner.calls == []
    assert said == ["/dev/sdb1 is mounted at /mnt/stick already: reading it there"]


@pytest.mark.parametrize("text, message", [
    ("sdz9", "/dev/sdz9 is not a disk or partition of this host: plug the stick in"),
    ("../sda", "'../sda' is no device name: give one such as sdb1 or /dev/sdb1"),
    ("/etc/passwd", "'/etc/passwd' is no device name"),
])
def test_only_a_block_device_is_mounted(text, message, blocks):
    with pytest.raises(MediaError, match=message):
        device_path(text)


def bundle(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "appliance.toml").write_text('name = "x"\n')
    return folder


def test_bundles_at_the_top_or_one_folder_down_are_found_and_nothing_off_the_device(tmp_path):
    stick = tmp_path / "stick"
    bundle(stick / "web")
    bundle(stick / "bundles" / "db")
    bundle(stick / "bundles" / "db" / "inside")          # a bundle's own folders are not looked into
    bundle(stick / "deep" / "er" / "est")                # two folders down: not looked at
    (stick / "web.tar").write_bytes(b"")
    (stick / "bundles" / "cache.tar.gz").write_bytes(b"")
    (stick / "notes.txt").write_text("")
    (stick / ".Trashes").mkdir()
    bundle(tmp_path / "host")
    (stick / "host").symlink_to(tmp_path / "host")
    assert bundles_on(stick) == ["bundles/cache.tar.gz", "bundles/db/", "web.tar", "web/"]
    assert bundle_on(stick, "web/") == stick / "web" and bundle_on(stick, "/web.tar") == stick / "web.tar"
    with pytest.raises(MediaError, match="host leads off the device"):
        bundle_on(stick, "host")
    with pytest.raises(MediaError, match=r"notes.txt is no bundle on the device .*; it holds bundles/cache.tar.gz"):
        bundle_on(stick, "notes.txt")
    assert bundles_on(bundle(tmp_path / "one")) == ["./"]           # the stick is a bundle itself
