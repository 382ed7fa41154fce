"""The ISO under measurement: a private snapshot of it, files taken out of it with xorriso, and discs
remade from its boot files (the floor, a disc without the root filesystem)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from firmware.run import run


def snapshot(iso: Path, work: Path) -> Path:
    """A link to (or copy of) the ISO, so a rebuild during the run can't swap Xen or the kernel under us.

    The build renames a finished ISO into place, so a hard link keeps the old one intact.
    """
    work.mkdir(parents=True, exist_ok=True)
    target = work / "xenbox.iso"
    target.unlink(missing_ok=True)
    try:
        os.link(iso, target)
    except OSError:
        shutil.copyfile(iso, target)
    return target


def extract(iso: Path, dest: Path, paths: list[str]) -> dict[str, Path]:
    """Copy `paths` (absolute paths inside the ISO) into `dest`; returns where each went."""
    dest.mkdir(parents=True, exist_ok=True)
    found = {path: dest / Path(path).name for path in paths}
    for target in found.values():
        target.unlink(missing_ok=True)
    argv: list[str | Path] = ["xorriso", "-osirrox", "on", "-indev", iso]
    for path, target in found.items():
        argv += ["-extract", path, target]
    run(argv, quiet=True)
    for target in found.values():
        target.chmod(0o644)     # xorriso keeps the ISO's read-only modes
    return found


BOOT_FILES = ["/boot/xen.gz", "/boot/vmlinuz", "/boot/initrd.img"]
MENU = "/boot/grub/grub.cfg"


def boot_tree(iso: Path, tree: Path) -> dict[str, Path]:
    """Xen, the dom0 kernel, the initramfs and the GRUB menu of `iso`, under tree/boot; where each went."""
    shutil.rmtree(tree, ignore_errors=True)
    boot = tree / "boot"
    return {**extract(iso, boot, BOOT_FILES), **extract(iso, boot / "grub", [MENU])}


def make_disc(tree: Path, out: Path, volume_id: str) -> Path:
    """A GRUB hybrid ISO of `tree`, labelled `volume_id`."""
    out.unlink(missing_ok=True)
    run(["grub-mkrescue", "-o", out, tree, "--", "-volid", volume_id], quiet=True)
    return out
