"""The files pool: image files on the data store's filesystem, made at an appliance's first start.

Real files in a temporary folder and the real qemu-img (a host package); the data store's mount is the
one stand-in (a mounted LVM volume needs a VM: the end-to-end storage test has it).
"""
import json
import subprocess

import pytest

from hypervisor import runner
from hypervisor.storage import StorageError
from hypervisor.storage.pools import FilePool, open_pool, LocalPool

MIB = 1024 * 1024


class Store:
    def __init__(self, mounted=True):
        self.mounted = mounted

    def is_mounted(self):
        return self.mounted


def pool(tmp_path, mounted=True):
    return FilePool(runner.run, tmp_path / "images", Store(mounted))


def test_a_raw_image_is_sparse_and_has_the_size_asked_for(tmp_path):
    said = []
    path = pool(tmp_path).volume("web", "xvdb", 64, "raw", said.append)
    assert path == tmp_path / "images" / "web.xvdb.raw"
    assert path.stat().st_size == 64 * MIB and path.stat().st_blocks == 0
    assert said == [f"creating its 64 MiB raw image {path}"]


def test_a_qcow2_image_is_made_by_qemu_img(tmp_path):
    path = pool(tmp_path).volume("web", "xvdc", 32, "qcow2")
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path)], capture_output=True,
                                     check=True).stdout)
    assert (path.name, info["format"], info["virtual-size"]) == ("web.xvdc.qcow2", "qcow2", 32 * MIB)


def test_an_image_is_made_once_and_kept(tmp_path):
    files = pool(tmp_path)
    path = files.volume("web", "xvdb", 8, "raw")
    path.write_bytes(b"what the guest wrote")
    said = []
    assert files.volume("web", "xvdb", 8, "raw", said.append) == path
    assert path.read_bytes() == b"what the guest wrote" and said == []
    assert [p.name for p in (tmp_path / "images").iterdir()] == ["web.xvdb.raw"]      # no partial left


def test_no_mounted_data_store_no_image(tmp_path):
    with pytest.raises(StorageError, match="its disk xvdb cannot be used: it is an image file on the data store, which is not mounted"):
        pool(tmp_path, mounted=False).volume("web", "xvdb", 8, "raw")
    assert not (tmp_path / "images").exists()


def test_an_image_larger_than_the_free_space_is_refused_with_both_sizes(tmp_path):
    with pytest.raises(StorageError, match=r"its disk xvdb needs 1024 TiB and .*/images has "
                                           r".* free: delete images there, or lower size_mib"):
        pool(tmp_path).volume("web", "xvdb", 1024 ** 3, "raw")
    assert list((tmp_path / "images").iterdir()) == []


def test_pools_by_name():
    assert isinstance(open_pool("files"), FilePool) and isinstance(open_pool("local"), LocalPool)
