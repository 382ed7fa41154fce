"""What the build machine must have: root, and these tools (with the package that brings each)."""
from __future__ import annotations

import os
import shutil

from firmware.run import die

TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "mksquashfs": "squashfs-tools",
    "grub-mkrescue": "grub-common",
    "xorriso": "xorriso",
    "mformat": "mtools",
    "cpio": "cpio",
    "zstd": "zstd",
    "depmod": "kmod",
}
GRUB_PLATFORMS = {
    "/usr/lib/grub/i386-pc": "grub-pc-bin",
    "/usr/lib/grub/x86_64-efi": "grub-efi-amd64-bin",
}


def check_host() -> None:
    if os.geteuid() != 0:
        die("building the image needs root (mmdebstrap, chroot and device nodes)",
            "run it as root: sudo make")
    missing = sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)}
                     | {pkg for path, pkg in GRUB_PLATFORMS.items() if not os.path.isdir(path)})
    if missing:
        die(f"host tools missing; install the packages: {' '.join(missing)}",
            "`make deps` installs them (apt-get)")
