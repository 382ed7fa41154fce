"""The one mount-table reader, on captured /proc/self/mounts text (fixtures storage/mounts/ and vm/):
the booted image's, the build host's (a space, a backslash and a byte that is not UTF-8 in mount
points), and the VM's with NFS mounts."""
import os
from pathlib import Path

from hypervisor.storage.mounts import Mount, mount_holding, mounted_at, parse_mounts, parse_options, read_mounts
from test_storage_support import FIXTURES, fixture


def test_the_images_own_table():
    mounts = parse_mounts(fixture("mounts/image.txt"))
    assert len(mounts) == 11
    assert mounts[3] == Mount("overlay", "/", "overlay", {"rw": None, "relatime": None, "lowerdir": "/lower",
                                                          "upperdir": "/overlay/upper", "workdir": "/overlay/work"})
    assert mounts[-1] == Mount("/dev/xenbox/data", "/var/lib/xenbox", "ext4", {"rw": None, "noatime": None})
    assert mounted_at(Path("/var/lib/xenbox"), mounts) and mounted_at("/run/xenbox/medium", mounts)
    assert not mounted_at("/var/lib", mounts) and not mounted_at("/run/xenbox/answer-volume", mounts)


def test_octal_escapes_are_read_back():
    """The kernel writes a space as \\040 and a backslash as \\134 (captured from a tmpfs named 'my stick')."""
    mounts = read_mounts(FIXTURES / "mounts" / "build-host.txt")
    assert mounts[-3] == Mount("my stick", "/tmp/libs/iso images", "tmpfs", {"rw": None, "relatime": None})
    assert mounts[-2].mountpoint == "/tmp/libs/back\\slash"
    assert mounted_at("/tmp/libs/iso images", mounts)
    assert mount_holding("/tmp/libs/iso images/web.iso", mounts).source == "my stick"


def test_a_mount_point_that_is_not_utf8_names_the_same_folder_as_a_path():
    """The kernel leaves other bytes as they are: here a folder named 'caf\\xe9' (Latin-1)."""
    mounts = read_mounts(FIXTURES / "mounts" / "build-host.txt")
    assert mounts[-1].mountpoint == os.fsdecode(b"/tmp/libs/latin1-caf\xe9")
    assert mounted_at(Path(os.fsdecode(b"/tmp/libs/latin1-caf\xe9")), mounts)


def test_nfs_mounts_keep_their_options():
    mounts = [m for m in parse_mounts(fixture("vm/proc-mounts.txt")) if m.fstype in ("nfs", "nfs4")]
    assert [(m.source, m.mountpoint, m.fstype, m.options["vers"]) for m in mounts] == [
        ("127.0.0.1:/isos", "/mnt/isos", "nfs4", "4.2"), ("127.0.0.1:/srv/guests", "/mnt/guests", "nfs", "3")]
    assert mounts[1].options["proto"] == "tcp" and mounts[1].options["hard"] is None
    assert parse_options("rw,vers=4.2") == {"rw": None, "vers": "4.2"}


def test_the_mount_holding_a_path_is_the_longest_mountpoint_above_it():
    mounts = parse_mounts(fixture("mounts/image.txt") + "10.0.2.2:/x /run/xenbox/pools/nas nfs4 rw 0 0\n")
    assert mount_holding(Path("/var/lib/xenbox/images"), mounts).fstype == "ext4"
    assert mount_holding(Path("/var/lib/xenboxes"), mounts).mountpoint == "/"
    assert mount_holding(Path("/run/xenbox/pools/nas/web.raw"), mounts).fstype == "nfs4"
    assert mount_holding("/run/xenbox/medium", mounts).fstype == "iso9660"
    assert mount_holding("/etc", []) == Mount("rootfs", "/", "rootfs")


def test_the_last_mount_at_a_place_is_the_one_in_force():
    mounts = parse_mounts("tmpfs /srv tmpfs rw 0 0\n/dev/sdb1 /srv ext4 rw 0 0\n")
    assert mount_holding("/srv/x", mounts).fstype == "ext4"


def test_short_and_empty_lines_are_skipped(tmp_path):
    table = tmp_path / "mounts"
    table.write_text("\nbroken line\n" + fixture("mounts/image.txt"))
    assert len(read_mounts(table)) == 11


def test_this_machines_table_reads():
    """The running kernel's own table, whatever this machine has mounted: '/' is always there."""
    assert any(mount.mountpoint == "/" for mount in read_mounts())
