"""Disk images and OVA packages imported on a booted host, and started as HVM guests: `xenbox appliance
import` from a stick, its disks converted onto volumes of the data store (pool "local").

The image is one nobody here built: grub-rescue-usb.img from Debian's grub-rescue-pc package (a hybrid
ISO that boots as a disk), fetched with `apt-get download` into images/cache. On the test side it is
converted to qcow2 (a bare image to import) and to a streamOptimized vmdk in an OVA with an OVF and .mf
written here (tests/ova.py); a vmdk renamed .qcow2 is the bad image. The host's CPU has AMD-V and
nested paging (board/qemu/qemu.toml), so HVM is available. One machine serves every test here, in order.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from debian_package import unpacked
from hypervisor.storage import human_size
from machine import Shell, booted, leave_first_boot_for_later, wait_for_console
from tests.ova import write_ova, write_ovf

CACHE = REPO / "images" / "cache"
RESCUE = "usr/lib/grub-rescue/grub-rescue-usb.img"
MIB = 1024 * 1024
GUEST_MIB = 128             # GRUB needs little; two HVM guests and their device models fit beside dom0


def grub_rescue_image() -> Path:
    """grub-rescue-usb.img, unpacked from the package apt downloads (once: kept in images/cache)."""
    return unpacked("grub-rescue-pc", CACHE, RESCUE).resolve()


def qemu_img(*argv: str) -> None:
    subprocess.run(["qemu-img", *argv], check=True, capture_output=True)


def stick(folder: Path) -> Path:
    """An ext4 filesystem (no partition table) holding rescue.qcow2, rescue-ova.ova and bad.qcow2."""
    content = folder / "content"
    package = folder / "package"
    content.mkdir()
    package.mkdir()
    raw = grub_rescue_image()
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(content / "rescue.qcow2"))
    qemu_img("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", str(raw),
             str(package / "rescue-ova-disk1.vmdk"))
    ovf = write_ovf(package, "rescue-ova", [package / "rescue-ova-disk1.vmdk"], [raw.stat().st_size],
                    memory_mib=GUEST_MIB)
    write_ova(ovf, content / "rescue-ova.ova")
    shutil.copy(package / "rescue-ova-disk1.vmdk", content / "bad.qcow2")      # a vmdk, named as qcow2
    image = folder / "stick.img"
    with open(image, "wb") as disk:
        disk.truncate(64 * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "IMPORTS", "-d", str(content), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def shell(iso, tmp_path_factory):
    """The host, a data store made on its blank disk (vda), the stick (vdb) mounted at /mnt/stick."""
    folder = tmp_path_factory.mktemp("imports")
    blank = folder / "blank.img"
    with open(blank, "wb") as disk:
        disk.truncate(2048 * MIB)
    with booted(iso, "imports", disks=[blank, stick(folder)]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            said = shell.run("xenbox storage init vda 2>&1", 600)
            assert shell.status == 0, said
            shell.run("mkdir -p /mnt/stick && mount -o ro /dev/vdb /mnt/stick")
            assert shell.status == 0
            yield shell


def started_as_hvm(shell, name: str) -> None:
    said = shell.run(f"xenbox appliance start {name} 2>&1", 300)
    assert shell.status == 0, said
    domid = shell.run(f"xl domid {name}").strip()
    assert domid.isdigit(), domid
    assert shell.run(f"xl list -l {name} | grep -c '\"type\": \"hvm\"'").strip() != "0"
    # Its device model (QEMU in dom0) is up, and the guest's vCPU runs: its CPU time goes on.
    state = shell.run(f"xenstore-read /local/domain/0/device-model/{domid}/state")
    assert state.strip() == "running", state
    before = float(shell.run(f"xl list {name} | tail -1").split()[-1])
    shell.run("sleep 10")
    line = shell.run(f"xl list {name} | tail -1").split()
    assert line[0] == name and float(line[-1]) > before, line
    # Seen running, it is paused for the rest: a nested guest left running in GRUB while dom0 works hard has
    # frozen this emulated host for good (see test_new_guests.pause_the_nested_guest).
    shell.run(f"xl pause {name}")


def test_a_bare_qcow2_becomes_a_volume_of_the_data_store_and_boots_as_hvm(shell):
    size = grub_rescue_image().stat().st_size       # 5081088 bytes in grub-rescue-pc 2.06-13+deb12u2
    said = shell.run(f"xenbox appliance import /mnt/stick/rescue.qcow2 --memory {GUEST_MIB} 2>&1", 600)
    assert shell.status == 0, said
    assert f"xenbox: converting rescue.qcow2: 100% of {human_size(size)}" in said, said
    assert ("as hvm appliance rescue in /var/lib/xenbox/appliances/rescue, disks xvda "
            f"({-(-size // MIB)} MiB on local)") in said, said
    assert shell.run("lvs --noheadings -o lv_name xenbox | grep -c 'rescue.xvda'").strip() == "1"
    # What the guest will read is the image, byte for byte.
    same = shell.run(f"qemu-img convert -f qcow2 -O raw /mnt/stick/rescue.qcow2 /tmp/r.raw && cmp -n {size} "
                     "/tmp/r.raw /dev/xenbox/rescue.xvda && echo SAME; rm -f /tmp/r.raw")
    assert "SAME" in same, same
    started_as_hvm(shell, "rescue")


def test_an_ova_is_imported_with_what_its_ovf_says_and_boots_as_hvm(shell):
    said = shell.run("xenbox appliance import /mnt/stick/rescue-ova.ova --json", 600)
    assert shell.status == 0, said
    assert '"name": "rescue-ova"' in said and f'"memory_mib": {GUEST_MIB}' in said, said
    assert "checking the SHA256 digest of rescue-ova-disk1.vmdk" in said
    assert "does not say which firmware it boots with; it is given BIOS" in said
    started_as_hvm(shell, "rescue-ova")


def test_a_bad_image_is_refused_with_its_sentence_and_nothing_made(shell):
    said = shell.run("xenbox appliance import /mnt/stick/bad.qcow2 2>&1", 300)
    assert shell.status == 1, said
    assert ("xenbox: /mnt/stick/bad.qcow2 was not imported: bad.qcow2 is named as a qcow2 image, but its contents "
            "are vmdk: rename it to bad.vmdk if it is one, then import it again") in said, said
    assert "bad" not in shell.run("lvs --noheadings -o lv_name xenbox; ls /var/lib/xenbox/appliances")
