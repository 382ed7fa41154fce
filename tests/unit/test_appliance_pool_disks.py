"""An appliance's pool disks become volumes when it starts; the xl.cfg then names their devices.

The pool is a stand-in here (its LVM calls are tested in test_storage_datastore and run for real in the
end-to-end storage test); this checks what launch does with the devices it hands back.
"""
from pathlib import Path

import pytest

from hypervisor.appliances.manifest import parse_manifest
from hypervisor.appliances.launch import CannotStart, with_pool_volumes
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.storage import StorageError

MANIFEST = """
name = "db"
type = "pv"
[memory]
initial_mib = 128
[boot]
kernel = "vmlinuz"
[[disks]]
file = "root.img"
[[disks]]
pool = "local"
size_mib = 512
"""


class Pool:
    def __init__(self, problem: str | None = None) -> None:
        self.asked, self.problem = [], problem

    def volume(self, appliance, target, size_mib, disk_format):
        self.asked.append((appliance, target, size_mib, disk_format))
        if self.problem:
            raise StorageError(self.problem)
        return Path(f"/dev/xenbox/{appliance}.{target}")

    def open(self, name):
        assert name == "local"
        return self


@pytest.fixture
def manifest(tmp_path):
    for name in ("vmlinuz", "root.img"):
        (tmp_path / name).write_text("placeholder\n")
    return parse_manifest(MANIFEST, tmp_path)


def test_the_pool_disk_gets_its_volume_and_the_xl_cfg_names_it(manifest, tmp_path):
    pool = Pool()
    started = with_pool_volumes(manifest, pool.open)
    assert pool.asked == [("db", "xvdb", 512, "raw")]
    assert ("'format=raw, vdev=xvdb, access=rw, script=/usr/lib/xenbox/block-phy, target=/dev/xenbox/db.xvdb'"
            in to_xl_cfg(started))
    assert f"'format=raw, vdev=xvda, access=rw, script=/usr/lib/xenbox/block-phy, target={tmp_path}/root.img'" \
        in to_xl_cfg(started)


def test_a_missing_pool_stops_only_this_appliance_with_the_reason(manifest):
    with pytest.raises(CannotStart, match="^db: its disk xvdb is on the pool local, the data store, which is not set up"):
        with_pool_volumes(manifest, Pool("its disk xvdb is on the pool local, the data store, which is not set up").open)


def test_an_xl_cfg_is_never_written_with_an_unnamed_volume(manifest):
    with pytest.raises(ValueError, match="is on pool local"):
        to_xl_cfg(manifest)


def test_appliances_without_pool_disks_never_touch_storage(tmp_path):
    (tmp_path / "vmlinuz").write_text("x")
    plain = parse_manifest(MANIFEST.split("[[disks]]")[0], tmp_path)
    assert with_pool_volumes(plain, Pool("must not be asked").open) is plain
