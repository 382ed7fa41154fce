"""A disk laid out as XenBox's data store is (LVM group "xenbox", volume "data", ext4 labelled XENBOX_DATA)
holding only config/boot.env, the serial port a box keeps: what GRUB's menu reads at boot.

Made on the build host with LVM's own tools on a loop device. This host has no device-mapper, so the volume
is never activated: its filesystem is made in a file (mke2fs -d) and written at the volume's first extent,
the only segment of a new volume on an empty disk. GRUB's own reader (grub-fstest) checks the result."""
import subprocess
from pathlib import Path

from hypervisor.host.serial_port import keep, parse_serial
from hypervisor.storage import DATA_LV, VG_NAME
from hypervisor.storage.datastore import LABEL

DISK_MIB, VOLUME_MIB = 96, 64


def lvm(loop: str, *argv: str) -> str:
    """An LVM command that sees only `loop` and never asks for device-mapper."""
    config = f'devices {{ filter=["a|^{loop}$|","r|.*|"] }} activation {{ udev_sync=0 udev_rules=0 }}'
    done = subprocess.run([argv[0], "--config", config, "--driverloaded", "n", *argv[1:]],
                          capture_output=True, text=True, check=True)
    return done.stdout


def data_store_disk(folder: Path, serial: str) -> Path:
    tree = folder / "tree"
    keep(parse_serial(serial), tree / "config" / "boot.env")
    for left in (tree / "config").glob("*.prev"):
        left.unlink()
    disk, filesystem = folder / "data-store.img", folder / "data.ext4"
    with open(disk, "wb") as file:
        file.truncate(DISK_MIB * 1024 * 1024)
    loop = subprocess.run(["losetup", "--find", "--show", str(disk)], capture_output=True, text=True,
                          check=True).stdout.strip()
    try:
        lvm(loop, "pvcreate", "-q", loop)
        lvm(loop, "vgcreate", "-q", VG_NAME, loop)
        lvm(loop, "lvcreate", "-q", "--activate", "n", "-Zn", "-n", DATA_LV, "-L", f"{VOLUME_MIB}M", VG_NAME)
        start = int(lvm(loop, "pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", loop))
        assert lvm(loop, "lvs", "--noheadings", "-o", "seg_pe_ranges", VG_NAME).split() == [f"{loop}:0-15"]
    finally:
        subprocess.run(["losetup", "--detach", loop], check=True)
    with open(filesystem, "wb") as file:
        file.truncate(VOLUME_MIB * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", LABEL, "-m", "0", "-d", str(tree), str(filesystem)], check=True)
    with open(disk, "r+b") as out, open(filesystem, "rb") as data:
        out.seek(start)
        out.write(data.read())
    read = subprocess.run(["grub-fstest", str(disk), "cat", f"(lvm/{VG_NAME}-{DATA_LV})/config/boot.env"],
                          capture_output=True, text=True, check=True).stdout
    assert f"xenbox_serial={serial}\n" in read, read
    return disk
