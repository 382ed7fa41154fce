"""The torture's appliance bundles: the sample's kernel and ramdisk, and a disk image of random bytes whose
checksum tells a whole copy from a half one.

Each carries its own kernel (not an absolute path into the boot medium): a bundle may name only its
own files. Its disks on the pools are made at its first start, which the boot's autostart does.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

IMAGE_MIB = 48
MANIFEST = """name = "{name}"
type = "pv"
[memory]
initial_mib = 96
[boot]
kernel = "vmlinuz"
ramdisk = "initrd.img"
cmdline = "console=hvc0 quiet"
[[disks]]
file = "disk.img"
[[disks]]
pool = "local"
size_mib = 16
[[disks]]
pool = "files"
format = "qcow2"
size_mib = 8
[autostart]
enabled = {autostart}
order = 20
"""
# In dom0: the medium's kernel (a bzImage) and the sample's ramdisk.
DOM0_KERNEL = "/run/xenbox/medium/boot/vmlinuz"
DOM0_RAMDISK = "/usr/share/xenbox/appliances/sample-web/initrd.img"


def manifest(name: str, autostart: bool) -> str:
    return MANIFEST.format(name=name, autostart="true" if autostart else "false")


def make_in_dom0(shell, folder: str, name: str, autostart: bool) -> str:
    """Make the bundle in dom0's /tmp (memory: gone at the cut, as a USB stick pulled out would be);
    returns its image's sha256."""
    lines = " ".join(f"'{line}'" for line in manifest(name, autostart).splitlines())
    said = shell.run(f"rm -rf {folder} && mkdir {folder} && cp {DOM0_KERNEL} {DOM0_RAMDISK} {folder}/ && "
                     f"dd if=/dev/urandom of={folder}/disk.img bs=1M count={IMAGE_MIB} 2>/dev/null && "
                     f"printf '%s\\n' {lines} > {folder}/appliance.toml && sha256sum {folder}/disk.img", 300)
    found = re.search(r"^([0-9a-f]{64}) ", said, re.M)
    if shell.status != 0 or not found:
        raise RuntimeError(f"the bundle {folder} could not be made in dom0: {said}")
    return found.group(1)


def make_on_host(folder: Path, name: str, autostart: bool, build: Path) -> str:
    """The same bundle on this machine (for an answer volume), from the ISO's build tree; returns the
    image's sha256."""
    folder.mkdir(parents=True)
    shutil.copy(build / "iso" / "boot" / "vmlinuz", folder / "vmlinuz")
    shutil.copy(build / "rootfs" / DOM0_RAMDISK.lstrip("/"), folder / "initrd.img")
    image = os.urandom(IMAGE_MIB * 1024 * 1024)
    (folder / "disk.img").write_bytes(image)
    (folder / "appliance.toml").write_text(manifest(name, autostart))
    return hashlib.sha256(image).hexdigest()
