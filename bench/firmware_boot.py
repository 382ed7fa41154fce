"""Issue 21's boot-time figure: XenBox's boot with device firmware and CPU microcode, against the same ISO
without them (target: unchanged within noise).

The baseline ISO is remade from the measured one, no second build: its /boot and /live are taken out, the root
squashfs recompressed without /usr/lib/firmware (the build's own mksquashfs options, firmware/iso.py) and
boot/ucode.cpio replaced by an empty cpio (its trailer alone), so that GRUB still loads the module and Xen's
`ucode=scan` finds nothing in it; then grub-mkrescue makes the disc with the same label, as the build does. The two boot alternately, with the firmware
first, and each figure is the median; the noise is the spread of the baseline's own boots.
"""
from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from bench.iso import make_disc
from bench.measure import XENBOX, Run, boot
from bench.report import Figure
from firmware.device_firmware import FIRMWARE_DIR, UCODE_CPIO
from firmware.iso import SQUASHFS_OPTIONS
from firmware.run import run

ROOT_SQUASHFS = "/live/rootfs.squashfs"
GROUP = "Boot with firmware and microcode (issue 21), against the same ISO without them"
# The console's boot alone: no sample-guest, refresh or console-start probes, which are the full bench's.
PROFILE = replace(XENBOX, name="xenbox-firmware", appliances=False)
SPANS = [("grub_to_xen", "GRUB menu -> Xen banner (loads the microcode)", "grub", "xen"),
         ("xen_to_ready", "Xen banner -> console ready", "xen", "ready"),
         ("qemu_to_ready", "QEMU start -> console ready", None, "ready")]


@dataclass(frozen=True)
class Rounds:
    with_firmware: list[Run]
    without: list[Run]
    without_iso: Path


def empty_cpio() -> bytes:
    """A newc cpio archive holding nothing: its trailer record alone."""
    return subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input=b"", capture_output=True, check=True).stdout


def volume_id(iso: Path) -> str:
    """The ISO's label, by which the initramfs finds its boot medium."""
    said = run(["xorriso", "-indev", iso, "-pvd_info"], quiet=True)
    return re.search(r"^Volume Id\s*:\s*(\S+)", said, re.MULTILINE).group(1)


def iso_tree(iso: Path, tree: Path) -> None:
    """What the build hands grub-mkrescue (firmware/iso.py): /boot, with only our grub.cfg of GRUB's
    files, and /live; grub-mkrescue adds its own GRUB, EFI image and boot catalog again."""
    run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot", tree / "boot",
         "-extract", "/live", tree / "live"], quiet=True)
    for path in [tree, *tree.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)           # xorriso keeps the ISO's read-only modes
    grub = tree / "boot" / "grub"
    for entry in grub.iterdir() if grub.is_dir() else ():
        if entry.name != "grub.cfg":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def without_firmware(iso: Path, work: Path) -> Path:
    """work/xenbox-without-firmware.iso: `iso` less its device firmware and microcode."""
    folder = work / "without-firmware"
    shutil.rmtree(folder, ignore_errors=True)
    tree = folder / "iso"
    iso_tree(iso, tree)
    squashfs = tree / ROOT_SQUASHFS.lstrip("/")
    root = folder / "root"
    run(["unsquashfs", "-quiet", "-d", root, squashfs], quiet=True)
    shutil.rmtree(root / FIRMWARE_DIR)
    squashfs.unlink()
    run(["mksquashfs", root, squashfs, *SQUASHFS_OPTIONS, "-noappend", "-quiet"], quiet=True)
    (tree / UCODE_CPIO).unlink(missing_ok=True)
    (tree / UCODE_CPIO).write_bytes(empty_cpio())
    out = make_disc(tree, work / "xenbox-without-firmware.iso", volume_id(iso))
    shutil.rmtree(folder, ignore_errors=True)
    return out


def measure(iso: Path, work: Path, logs: Path, rounds: int) -> Rounds:
    without_iso = without_firmware(iso, work)
    with_firmware, without = [], []
    for number in range(1, rounds + 1):
        with_firmware.append(boot(PROFILE, iso, logs / f"with-firmware-{number}.serial.log"))
        without.append(boot(PROFILE, without_iso, logs / f"without-firmware-{number}.serial.log"))
    return Rounds(with_firmware, without, without_iso)


def span(run_: Run, start: str | None, end: str) -> float | None:
    finish = run_.times.get(end)
    begin = 0.0 if start is None else run_.times.get(start)
    return None if finish is None or begin is None else finish - begin


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def figures(rounds: Rounds | None) -> list[Figure]:
    if rounds is None:
        return [Figure(GROUP, key, label, "s", None, None) for key, label, _, _ in SPANS]
    rows = []
    for key, label, start, end in SPANS:
        base = [span(r, start, end) for r in rounds.without]
        known = [v for v in base if v is not None]
        noise = (max(known) - min(known)) if len(known) > 1 else None
        median = _median(base)
        # Unchanged within noise: no later than the baseline's median plus its own spread over the rounds.
        limit = None if median is None or noise is None else median + noise
        target = f"<= +{noise:.1f} s (baseline spread)" if noise is not None else "unchanged within noise"
        rows.append(Figure(GROUP, f"firmware_{key}", label, "s", median,
                           _median([span(r, start, end) for r in rounds.with_firmware]), target, limit,
                           "the same ISO without firmware and microcode"))
    return rows
