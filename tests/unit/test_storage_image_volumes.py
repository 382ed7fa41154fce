"""The files pool's images among the guest volumes: real image files in a temporary folder, made and
read by the real qemu-img; LVM's report replayed (test_storage_volumes.py). Whether a guest holds
an image is given to the class (on a host it is read from /proc and /sys: see held_paths)."""
import subprocess

import pytest

from hypervisor import runner
from hypervisor.storage import StorageError
from hypervisor.storage.image_files import ImageFiles, held_paths
from hypervisor.storage.volumes import GuestVolumes
from test_storage_volumes import MIB, lvm_with_guest_volumes

class LvmReplayedImagesReal:
    """LVM's tools answered from captured output; qemu-img really run."""

    def __init__(self) -> None:
        self.lvm = lvm_with_guest_volumes()

    def __call__(self, argv, *, input=None, timeout=60):
        if argv[0] == "qemu-img":
            return runner.run(argv, input=input, timeout=timeout)
        return self.lvm(argv, input=input, timeout=timeout)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    with open(folder / "web.xvdb.raw", "wb") as raw:
        raw.truncate(32 * MIB)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(folder / "gone.xvdc.qcow2"), str(48 * MIB)],
                   check=True)
    (folder / ".db.xvdb.raw.partial").write_bytes(b"")      # one being made: not a volume yet
    return folder


def volumes(folder, held=()):
    run = LvmReplayedImagesReal()
    return GuestVolumes(run, appliances=lambda: ["web", "db"],
                        images=ImageFiles(folder, run, held=lambda: {str(folder / name) for name in held}))


def test_images_are_listed_after_the_lvm_volumes_with_their_pool_size_and_owner(images):
    listed = volumes(images).list()
    assert [(v.name, v.pool) for v in listed][-2:] == [("gone.xvdc.qcow2", "files"), ("web.xvdb.raw", "files")]
    assert {v.pool for v in listed[:-2]} == {"local"}
    files = {v.name: v for v in listed[-2:]}
    assert files["gone.xvdc.qcow2"].summary == "gone.xvdc.qcow2, 48 MiB, no appliance's (left behind)"
    assert files["web.xvdb.raw"].summary == "web.xvdb.raw, 32 MiB, the disk of appliance web"


def test_an_image_a_guest_holds_is_in_use_and_is_neither_grown_nor_deleted(images):
    held = volumes(images, held=["gone.xvdc.qcow2"])
    assert held.find("gone.xvdc.qcow2", "xenbox").in_use
    with pytest.raises(StorageError, match="^gone.xvdc.qcow2 is in use by a running guest: shut the guest down"):
        held.grow("gone.xvdc.qcow2", 64)
    with pytest.raises(StorageError, match="^gone.xvdc.qcow2 is in use by a running guest"):
        held.delete("gone.xvdc.qcow2", typed="gone.xvdc.qcow2")
    assert (images / "gone.xvdc.qcow2").exists()


def test_images_grow_raw_ones_staying_sparse_and_never_shrink(images):
    grown = volumes(images).grow("web.xvdb.raw", 64)
    assert grown.size == 64 * MIB
    assert (images / "web.xvdb.raw").stat().st_blocks == 0
    assert volumes(images).grow("gone.xvdc.qcow2", 96).size == 96 * MIB      # qemu-img read it back
    with pytest.raises(StorageError, match=r"^web.xvdb.raw is 64 MiB; shrinking it to 16 MiB would destroy"):
        volumes(images).grow("web.xvdb.raw", 16)


def test_a_left_behind_image_is_deleted_with_its_name_typed_an_appliances_never(images):
    with pytest.raises(StorageError, match="^web.xvdb.raw is the disk of appliance web: it is kept"):
        volumes(images).delete("web.xvdb.raw", typed="web.xvdb.raw")
    with pytest.raises(StorageError, match="^deleting gone.xvdc.qcow2 destroys what is on it: give its name again"):
        volumes(images).delete("gone.xvdc.qcow2", typed="gone")
    volumes(images).delete("gone.xvdc.qcow2", typed="gone.xvdc.qcow2")
    assert sorted(p.name for p in images.iterdir()) == [".db.xvdb.raw.partial", "web.xvdb.raw"]


def test_held_paths_reads_open_files_and_loop_devices_backing_files(tmp_path):
    proc, sys_block = tmp_path / "proc", tmp_path / "sys" / "block"
    (proc / "4242" / "fd").mkdir(parents=True)
    (proc / "4242" / "fd" / "7").symlink_to("/var/lib/xenbox/images/web.xvdc.qcow2")
    (sys_block / "loop0" / "loop").mkdir(parents=True)
    (sys_block / "loop0" / "loop" / "backing_file").write_text("/var/lib/xenbox/images/web.xvdb.raw\n")
    (sys_block / "vda").mkdir()
    assert held_paths(proc, sys_block) == {"/var/lib/xenbox/images/web.xvdc.qcow2",
                                           "/var/lib/xenbox/images/web.xvdb.raw"}


def test_held_paths_sees_a_file_this_process_has_open(tmp_path):
    image = tmp_path / "open.raw"
    with open(image, "wb"):
        assert str(image) in held_paths()
