"""The floor: an ISO with the image's own Xen, kernel and GRUB menu, and an initramfs of busybox alone.

It boots exactly like XenBox (same GRUB, same menu entry, same Xen and kernel
command lines) and stops at a shell where XenBox would mount its root and start
its services. Booting the floor through GRUB rather than QEMU's -kernel keeps the
path the same: QEMU's -kernel cannot load Xen as multiboot2, and GRUB's menu
timeout and its reading of the CD are part of what a person waits for in both.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.iso import boot_tree, make_disc
from firmware.initramfs import install_busybox, pack
from firmware.run import die

INIT_LINE = "floor: early boot (initramfs) started"
PROMPT = "floor# "

INIT = f"""#!/bin/sh
# The floor's whole userland: say we started, then a shell on the console, forever.
export PATH=/bin PS1='{PROMPT}'
busybox mount -t proc proc /proc
busybox mount -t sysfs sysfs /sys
busybox mount -t devtmpfs devtmpfs /dev
echo "{INIT_LINE}" > /dev/console
while true; do setsid cttyhack sh; done
"""


def image_busybox(initrd: Path, dest: Path) -> Path:
    """The busybox XenBox's own initramfs runs (the image's busybox-static)."""
    unpacked = subprocess.run(["zstd", "-dc", initrd], capture_output=True)
    if unpacked.returncode != 0:
        die(f"could not decompress {initrd} with zstd", "firmware/initramfs.py makes it with zstd; did that change?")
    busybox = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout", "bin/busybox"],
                             input=unpacked.stdout, capture_output=True)
    if busybox.returncode != 0 or not busybox.stdout:
        die(f"{initrd} holds no bin/busybox", busybox.stderr.decode(errors="replace").strip())
    target = dest / "busybox"
    target.write_bytes(busybox.stdout)
    target.chmod(0o755)
    return target


def build_initramfs(busybox: Path, tree: Path, out: Path) -> None:
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("dev", "proc", "sys"):
        (tree / d).mkdir(parents=True)
    install_busybox(tree, busybox)
    (tree / "init").write_text(INIT)
    (tree / "init").chmod(0o755)
    pack(tree, out)     # compressed as XenBox's initramfs is, so the kernel's unpacking costs alike


def build_floor_iso(xenbox_iso: Path, work: Path) -> Path:
    """Make work/floor.iso from xenbox_iso's /boot, with the busybox-only initramfs in place of XenBox's."""
    tree = work / "floor-iso"
    files = boot_tree(xenbox_iso, tree)
    busybox = image_busybox(files["/boot/initrd.img"], work)
    # Over XenBox's initrd, at the same path: XenBox's own grub.cfg then boots the floor unchanged.
    build_initramfs(busybox, work / "floor-initramfs", files["/boot/initrd.img"])
    return make_disc(tree, work / "floor.iso", "XENBOX_FLOOR")
