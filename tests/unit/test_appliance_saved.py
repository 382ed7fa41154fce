"""`xenbox appliance restore FILE`: the guest configuration inside an `xl save` file read and checked by
the guest path gate before `xl restore` gives it to a guest.

Xen cannot run here, so the files are written as xl writes them (tools/xl/xl_saverestore.c: the header,
then libxl's JSON of the configuration; the guest's memory after it is not read), and `xl` is replayed.
The e2e appliance test restores a file xl really wrote, through the same code.
"""
import json
import re
import struct
from pathlib import Path

import pytest

from hypervisor.appliances.launch import CannotStart
from hypervisor.appliances.saved import MAGIC, read_saved_guest, restore
from hypervisor.cli.main import main
from hypervisor.xen.xl import Xl

BLOCK = "/usr/lib/xenbox/block-phy"


def saved_file(path: Path, config: dict, *, json_flag: bool = True) -> Path:
    """What `xl save` writes: magic, byte order, flags (JSON | stream v2), the configuration, then memory."""
    text = json.dumps(config).encode() + b"\0"
    optional = struct.pack("=I", len(text)) + text
    path.write_bytes(MAGIC + struct.pack("=IIII", 0x01020304, (1 if json_flag else 0) | 2, 0, len(optional))
                     + optional + b"\x00guest memory" * 64)
    return path


def config(name="web", disks=(), kernel=None, **more) -> dict:
    """libxl's domain configuration as libxl_domain_config_to_json writes it (only the keys read here)."""
    build = {"max_vcpus": 1, "type.pv": {"slack_memkb": 0}, **({"kernel": kernel} if kernel else {})}
    return {"c_info": {"type": "pv", "name": name}, "b_info": build,
            "disks": [{"pdev_path": target, "vdev": vdev, "backend": "phy", "format": "raw", "script": BLOCK,
                       "readwrite": 1} for vdev, target in disks],
            "nics": [{"devid": 0, "mac": "00:16:3e:12:34:56", "bridge": "xenbr0",
                      "script": "/usr/lib/xenbox/vif-bridge"}], **more}      # as a booted XenBox saved it


class Recorded:
    def __init__(self):
        self.calls = []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(argv[1:])
        return ""


def no_appliance(name):
    return None, {}


def test_the_configuration_inside_a_save_file_is_read(tmp_path):
    file = saved_file(tmp_path / "web.save", config(kernel="/srv/vmlinuz", disks=[("xvda", "/dev/xenbox/web.xvda")]))
    guest = read_saved_guest(file)
    assert (guest.name, guest.paths, guest.foreign) == (
        "web", [("kernel", "/srv/vmlinuz"), ("disk xvda", "/dev/xenbox/web.xvda")], [])


@pytest.mark.parametrize("disk, reason", [
    ("/dev/xenbox/data", "is the data store's own volume"),
    ("/dev/sda", "is a host device: use device ="),
    ("/etc/shadow", "is outside the bundle, on no pool and no volume of the data store"),
])
def test_a_saved_guest_naming_what_no_guest_may_have_is_not_restored(tmp_path, disk, reason):
    file = saved_file(tmp_path / "web.save", config(disks=[("xvda", "/dev/xenbox/web.xvda"), ("xvdb", disk)]))
    xl = Recorded()
    with pytest.raises(CannotStart) as refused:
        restore(file, Xl(run=xl), appliance=no_appliance)
    assert str(refused.value).startswith(f"{file} was not restored: its guest web: its disk xvdb ({disk}) {reason}")
    assert xl.calls == []


def test_a_saved_guest_in_its_bundle_with_its_host_disk_is_restored(tmp_path):
    bundle = tmp_path / "web"
    bundle.mkdir()
    (bundle / "vmlinuz").write_bytes(b"kernel")
    file = saved_file(tmp_path / "web.save", config(kernel=str(bundle / "vmlinuz"),
                                                     disks=[("xvda", "/dev/xenbox/web.xvda"), ("xvdd", "/dev/sda2")]))
    xl = Recorded()
    assert restore(file, Xl(run=xl), appliance=lambda name: (bundle, {"disk xvdd": Path("/dev/sda2")})) == "web"
    assert xl.calls == [["restore", str(file)]]
    # The host disk is the one its manifest's device = finds now, or the restore is refused.
    moved = lambda name: (bundle, {"disk xvdd": Path("/dev/sdb2")})
    with pytest.raises(CannotStart, match=r"its disk xvdd \(/dev/sda2\) is a host device"):
        restore(file, Xl(run=Recorded()), appliance=moved)


@pytest.mark.parametrize("more, said", [
    ({"pcidevs": [{"bdf": "0000:03:00.0"}]}, "1 PCI devices of the host"),
    ({"p9s": [{"tag": "share", "path": "/"}]}, "1 folders of the host shared over 9p"),
    ({"b_info": {"device_model": "/tmp/qemu", "type.pv": {}}}, "b_info.device_model"),
    ({"b_info": {"type.pv": {"bootloader": "/tmp/loader"}}}, "the boot loader /tmp/loader"),
])
def test_what_xenbox_never_gives_a_guest_is_not_restored(tmp_path, more, said):
    file = saved_file(tmp_path / "web.save", config(**more))
    with pytest.raises(CannotStart, match=f"its guest web asks for {said}, which XenBox never gives a guest"):
        restore(file, Xl(run=Recorded()), appliance=no_appliance)


def test_a_disk_or_network_script_of_its_own_is_not_restored(tmp_path):
    odd = config(disks=[("xvda", "/dev/xenbox/web.xvda")])
    odd["disks"][0]["script"] = "/tmp/run-me"
    odd["nics"][0]["script"] = "/tmp/me-too"
    guest = read_saved_guest(saved_file(tmp_path / "web.save", odd))
    assert guest.foreign == ["the disk script /tmp/run-me", "the network script /tmp/me-too"]


@pytest.mark.parametrize("content, said", [
    (b"state", "is not a file `xenbox appliance save` wrote"),
    (MAGIC + struct.pack("=IIII", 0x04030201, 3, 0, 8), "holds no guest configuration XenBox can read"),
    (MAGIC + struct.pack("=IIII", 0x01020304, 3, 0, 8) + struct.pack("=I", 1 << 30), "the file is damaged"),
    (MAGIC + struct.pack("=IIII", 0x01020304, 3, 0, 10) + struct.pack("=I", 6) + b"[1, 2", "the file is damaged"),
])
def test_a_file_that_is_no_save_says_so(tmp_path, content, said):
    (tmp_path / "x.save").write_bytes(content)
    with pytest.raises(CannotStart, match=said):
        read_saved_guest(tmp_path / "x.save")


def test_the_cli_refuses_with_the_reason(tmp_path, capsys, monkeypatch):
    file = saved_file(tmp_path / "web.save", config(disks=[("xvda", "/dev/xenbox/data")]))
    xl = Recorded()
    monkeypatch.setattr(Xl, "on_this_host", classmethod(lambda cls: cls(run=xl)))     # Xen cannot run here
    assert main(["appliance", "restore", str(file)]) == 1
    assert "was not restored: its guest web: its disk xvda (/dev/xenbox/data) is the data store's own volume" in \
        capsys.readouterr().err
    assert xl.calls == []


def test_a_guest_saved_on_this_host_names_the_images_own_network_script(tmp_path):
    """The image's xl.conf gives every guest XenBox's vif-bridge: a save made on the host itself is no
    foreign configuration (seen refused on the booted image before this was read from xl.conf)."""
    xl_conf = Path(__file__).resolve().parents[2] / "board/common/rootfs_overlay/etc/xen/xl.conf"
    script = re.search(r'^vif\.default\.script="([^"]+)"', xl_conf.read_text(), re.M)[1]
    saved = config(nics=[{"devid": 0, "mac": "00:16:3e:12:34:56", "bridge": "xenbr0", "script": script}])
    assert read_saved_guest(saved_file(tmp_path / "web.save", saved)).foreign == []
