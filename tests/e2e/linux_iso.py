"""An ISO that boots Linux with Xen's PV drivers, for an HVM guest: what a Linux installer CD is to XenBox.

GRUB (grub-mkrescue, as the image's own ISO is made) boots, at once, the kernel of the XenBox ISO under test
with the sample appliance's busybox initramfs from that ISO's root filesystem. Its init loads xen-blkfront
and xen-netfront, takes a DHCP lease and serves a page, saying so on hvc0. Nothing here is XenBox's code:
the guest is what an operator would install from any distribution's CD.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SAMPLE_INITRD = "usr/share/xenbox/appliances/sample-web/initrd.img"
SQUASHFS = "/live/rootfs.squashfs"
# No menu: the guest boots straight into Linux. hvc0 is the PV console an HVM guest has too (xl console -t pv,
# and the host's console log); tty0 is its screen.
GRUB_CFG = """set timeout=0
menuentry "Linux with Xen's PV drivers" {
    linux /vmlinuz console=tty0 console=hvc0 quiet
    initrd /initrd.img
}
"""


def _from_iso(iso: Path, inside: str, out: Path) -> None:
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", inside, str(out)],
                   check=True, capture_output=True)


def linux_iso(xenbox_iso: Path, work: Path) -> Path:
    """The ISO, made in `work` from the XenBox ISO's kernel and its sample appliance's initramfs."""
    tree = work / "linux-iso"
    (tree / "boot" / "grub").mkdir(parents=True)
    _from_iso(xenbox_iso, "/boot/vmlinuz", tree / "vmlinuz")
    squashfs = work / "rootfs.squashfs"
    _from_iso(xenbox_iso, SQUASHFS, squashfs)
    subprocess.run(["unsquashfs", "-q", "-n", "-f", "-d", str(work / "root"), str(squashfs), SAMPLE_INITRD],
                   check=True, capture_output=True)
    squashfs.unlink()
    shutil.copy(work / "root" / SAMPLE_INITRD, tree / "initrd.img")
    (tree / "boot" / "grub" / "grub.cfg").write_text(GRUB_CFG)
    out = work / "linux-pv.iso"
    subprocess.run(["grub-mkrescue", "-o", str(out), str(tree), "--", "-volid", "LINUX_PV"],
                   check=True, capture_output=True)
    return out
