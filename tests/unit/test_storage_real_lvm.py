"""The real LVM tools on a loop device, through `Lvm`: a VG created, an LV created, grown and removed.

Runs as root where lvm2 and losetup exist. LVM is pointed at a private LVM_SYSTEM_DIR whose filter accepts
only the test's loop device, so it neither sees nor archives anything of the host's. Where the kernel has no
device-mapper (no /sys/class/misc/device-mapper) LVs cannot be activated: the test then checks the sentence that says so.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.lvm import Lvm

MIB = 1024 * 1024
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creating a loop device and an LVM VG needs root"),
    pytest.mark.skipif(not (shutil.which("vgcreate") and shutil.which("losetup")),
                       reason="lvm2 (vgcreate) or losetup is not installed: apt-get install lvm2"),
]


@pytest.fixture
def loop(tmp_path, monkeypatch):
    mapper_existed = Path("/dev/mapper").exists()     # libdevmapper makes /dev/mapper/control even with no driver
    image = tmp_path / "pv.img"
    image.write_bytes(b"")
    os.truncate(image, 64 * MIB)
    device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True,
                            check=True).stdout.strip()
    config = tmp_path / "lvm"
    config.mkdir()
    (config / "lvm.conf").write_text(
        f'devices {{ filter = [ "a|^{device}$|", "r|.*|" ] }}\n'
        "activation { udev_sync = 0 udev_rules = 0 }\nbackup { backup = 0 archive = 0 }\n")
    monkeypatch.setenv("LVM_SYSTEM_DIR", str(config))
    monkeypatch.setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
    yield device
    dm = ["--driverloaded", "n"] if not Path("/sys/class/misc/device-mapper").exists() else []
    env = {**os.environ}
    subprocess.run(["vgremove", "-ff", "-y", *dm, f"xbtest{os.getpid()}"], capture_output=True, env=env)
    subprocess.run(["pvremove", "-ff", "-y", *dm, device], capture_output=True, env=env)
    subprocess.run(["losetup", "--detach", device], check=True)
    if not mapper_existed:
        shutil.rmtree("/dev/mapper", ignore_errors=True)


def test_vg_and_lv_lifecycle_on_a_loop_device(loop):
    name = f"xbtest{os.getpid()}"
    lvm = Lvm()
    lvm.create_vg(name, [loop])
    group = lvm.vg(name)
    assert (group.pv_count, group.extent_size) == (1, 4 * MIB) and 56 * MIB <= group.size <= 64 * MIB
    assert [pv.vg for pv in lvm.pvs() if pv.path == loop] == [name]
    with pytest.raises(StorageError, match=f"^VG {name} has 6[0-9] MiB free; the disk big needs 1 GiB"):
        lvm.create_lv(name, "big", 1024 * MIB)
    if not Path("/sys/class/misc/device-mapper").exists():
        with pytest.raises(StorageError, match="^the kernel has no device-mapper driver"):
            lvm.create_lv(name, "web", 8 * MIB)
        return
    lvm.create_lv(name, "web", 8 * MIB)
    lvm.resize_lv(name, "web", 12 * MIB)
    assert [(lv.name, lv.size, lv.active) for lv in lvm.lvs(name)] == [("web", 12 * MIB, True)]
    lvm.remove_lv(name, "web")
    assert lvm.lvs(name) == []


def test_a_volume_is_renamed_in_one_step_and_the_refusals_name_the_fix(loop):
    """As `appliance add` names a bundle's new volume once its copy is in place. The volumes are made inactive
    (lvcreate -an -Zn), which needs no device-mapper, so this runs on any kernel."""
    if not Path("/sys/class/misc/device-mapper").exists():      # LVM told so, as --driverloaded n would
        with open(Path(os.environ["LVM_SYSTEM_DIR"]) / "lvm.conf", "a") as config:
            config.write("global { activation = 0 }\n")
    name = f"xbtest{os.getpid()}"
    lvm = Lvm()
    lvm.create_vg(name, [loop])
    for volume in ("web.xvda.adding-k2j4", "web.xvdb"):
        subprocess.run(["lvcreate", "-an", "-Zn", "-n", volume, "-L", "8m", name], check=True, capture_output=True)
    lvm.rename_lv(name, "web.xvda.adding-k2j4", "web.xvda")
    assert sorted(lv.name for lv in lvm.lvs(name)) == ["web.xvda", "web.xvdb"]
    with pytest.raises(StorageError, match=f"^VG {name} already has a volume called web.xvdb: delete or rename"):
        lvm.rename_lv(name, "web.xvda", "web.xvdb")
    with pytest.raises(StorageError, match=f"^VG {name} has no volume web.xvdc: it may have been renamed"):
        lvm.rename_lv(name, "web.xvdc", "web.xvdd")
    with pytest.raises(StorageError, match="is not a usable volume name"):
        lvm.rename_lv(name, "web.xvda", "../data")
