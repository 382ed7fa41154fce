"""`xenbox appliance import`: each host path an xl.cfg names placed where the guest path gate lets a
guest have it, or the import refused whole with the fix. Real files in a temporary folder; the host's
disks are lsblk's answer for a VM laid out like a XenBox host (captured, see test_storage_disks.py),
with the partition's device node made by mknod."""
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from hypervisor.appliances.importing import ImportRefused, import_bundle
from hypervisor.appliances.manifest import load_bundle
from hypervisor.appliances.xlcfg import manifest_from_xl_cfg
from hypervisor.cli.main import main
from hypervisor.storage.disks import Disk


def imported(cfg: Path, text: str):
    cfg.write_text(text)
    return manifest_from_xl_cfg(text, cfg)


@pytest.fixture
def stick(tmp_path) -> Path:
    """A stick brought from another Xen host: the xl.cfg beside its kernel and image."""
    folder = tmp_path / "stick"
    (folder / "images").mkdir(parents=True)
    (folder / "vmlinuz").write_bytes(b"kernel")
    with open(folder / "images" / "web.img", "wb") as image:
        image.truncate(4 * 1024 * 1024)
    return folder


def test_files_beside_the_cfg_are_copied_in_and_volumes_stay(stick, tmp_path):
    text = ('name = "web"\nmemory = 64\nkernel = "vmlinuz"\n'
            f'disk = [ "file:{stick}/images/web.img,xvda,w", "phy:/dev/xenbox/web.xvdb,xvdb,w",'
            ' "/var/lib/xenbox/images/web.xvdc.qcow2,qcow2,xvdc,w" ]\n')
    said = []
    folder = import_bundle(imported(stick / "web.cfg", text), tmp_path / "appliances", said.append)
    assert folder == tmp_path / "appliances" / "web"
    assert sorted(p.name for p in folder.iterdir()) == ["appliance.toml", "vmlinuz", "web.img"]
    assert (folder / "web.img").stat().st_size == 4 * 1024 * 1024
    manifest = load_bundle(folder)          # the gate passes every path of the bundle written
    assert manifest.boot.kernel == folder.resolve() / "vmlinuz"
    assert [str(d.file) for d in manifest.disks] == [str(folder.resolve() / "web.img"), "/dev/xenbox/web.xvdb",
                                                     "/var/lib/xenbox/images/web.xvdc.qcow2"]
    assert f"copying {stick}/vmlinuz into the bundle as vmlinuz" in said


@pytest.mark.parametrize("disk, reason", [
    ("/etc/shadow", "is not beside web.cfg, on no pool and no volume of the data store: copy it beside the xl.cfg"),
    ("/dev/xenbox/data", "is the data store's own volume"),
    ("/dev/vg0/web", "is not on this host: copy the file beside web.cfg"),
    ("/proc/self/environ", "is one of the kernel's files"),
])
def test_a_path_that_cannot_be_placed_refuses_the_import_whole(stick, tmp_path, disk, reason):
    text = f'name = "web"\nmemory = 64\nkernel = "vmlinuz"\ndisk = [ "{disk},raw,xvda,w" ]\n'
    with pytest.raises(ImportRefused) as refused:
        import_bundle(imported(stick / "web.cfg", text), tmp_path / "appliances")
    assert str(refused.value).startswith(f"{stick}/web.cfg names 1 path no guest may be given:\n"
                                         f"  disks[0].file = {disk!r} {reason}")
    assert not (tmp_path / "appliances" / "web").exists()
    assert list((tmp_path / "appliances").glob(".*")) == []          # no staging folder left either


def test_a_link_beside_the_cfg_out_of_its_folder_is_not_copied(stick, tmp_path):
    (stick / "images" / "shadow.img").symlink_to("/etc/shadow")
    text = f'name = "web"\nmemory = 64\nkernel = "vmlinuz"\ndisk = [ "{stick}/images/shadow.img,raw,xvda,w" ]\n'
    with pytest.raises(ImportRefused, match=r"is not beside web.cfg \(it leads to /etc/shadow\)"):
        import_bundle(imported(stick / "web.cfg", text), tmp_path / "appliances")


def test_a_host_disk_partition_becomes_device_and_partition(stick, tmp_path):
    """The partition's node is made here; lsblk says it is sdb2 of the disk with a WWN."""
    node = tmp_path / "sdb2"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(8, 18))
    part = Disk("sdb2", str(node), "part", 1 << 30)
    disk = Disk("sdb", str(tmp_path / "sdb"), "disk", 2 << 30, stable_id="wwn-0x5000c500a1b2c3d4", children=(part,))
    text = f'name = "web"\nmemory = 64\nkernel = "vmlinuz"\ndisk = [ "phy:{node},xvda,w" ]\n'
    folder = import_bundle(imported(stick / "web.cfg", text), tmp_path / "appliances", disks=lambda: [disk])
    manifest = load_bundle(folder)
    assert [(d.device, d.partition, d.file) for d in manifest.disks] == [("wwn-0x5000c500a1b2c3d4", 2, None)]
    unknown = replace(disk, children=())
    with pytest.raises(ImportRefused, match="is a host device: use device ="):
        import_bundle(imported(stick / "web2.cfg", text.replace('"web"', '"web2"')), tmp_path / "appliances",
                      disks=lambda: [unknown])


def test_an_unusable_name_writes_nothing_outside(stick, tmp_path):
    with pytest.raises(ImportRefused, match="is not a usable appliance name"):
        import_bundle(imported(stick / "web.cfg", 'name = "../../x"\nmemory = 64\n'), tmp_path / "appliances")
    assert not (tmp_path / "x").exists()


def test_the_cli_says_why_and_exits_1(stick, tmp_path, capsys):
    (stick / "web.cfg").write_text('name = "web"\nmemory = 64\nkernel = "/etc/shadow"\n')
    assert main(["appliance", "import", str(stick / "web.cfg"), "--into", str(tmp_path / "appliances")]) == 1
    assert "web.cfg was not imported: " in capsys.readouterr().err
    (stick / "web.cfg").write_text('name = "web"\nmemory = 64\nkernel = "vmlinuz"\n')
    assert main(["appliance", "import", str(stick / "web.cfg"), "--into", str(tmp_path / "appliances")]) == 0
    assert "imported" in capsys.readouterr().out
