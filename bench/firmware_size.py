"""Issue 21's size figure: what device firmware and CPU microcode add to the ISO (budget: at most +30 MiB).

Read from the measured ISO itself, no second build: its root squashfs's /usr/lib/firmware is taken out
(unsquashfs) and compressed alone with the build's own options (firmware/iso.py), which is its share of
the squashfs; boot/ucode.cpio, Xen's microcode, is in the ISO as it is. The baseline, the ISO without
them, is the ISO less both.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.iso import extract
from bench.report import Figure
from firmware.device_firmware import FIRMWARE_DIR, UCODE_CPIO
from firmware.iso import SQUASHFS_OPTIONS
from firmware.run import run

MIB = 1024 * 1024
ROOT_SQUASHFS = "/live/rootfs.squashfs"
GROUP = "Firmware and microcode (issue 21): the ISO with them, against without"
BUDGET_MIB = 30


@dataclass(frozen=True)
class FirmwareSize:
    iso_bytes: int
    firmware_bytes: int         # usr/lib/firmware compressed as the squashfs compresses it
    firmware_files: int
    microcode_bytes: int        # boot/ucode.cpio


def measure(iso: Path, work: Path) -> FirmwareSize:
    folder = work / "firmware-size"
    shutil.rmtree(folder, ignore_errors=True)
    found = extract(iso, folder, [ROOT_SQUASHFS, "/" + UCODE_CPIO])
    tree = folder / "root"
    run(["unsquashfs", "-no-xattrs", "-quiet", "-d", tree, found[ROOT_SQUASHFS], FIRMWARE_DIR], quiet=True)
    firmware = tree / FIRMWARE_DIR
    files = sum(1 for path in firmware.rglob("*") if path.is_file()) if firmware.is_dir() else 0
    alone = folder / "firmware.squashfs"
    if files:
        run(["mksquashfs", firmware, alone, *SQUASHFS_OPTIONS, "-noappend", "-quiet"], quiet=True)
    size = FirmwareSize(iso.stat().st_size, alone.stat().st_size if files else 0, files,
                        found["/" + UCODE_CPIO].stat().st_size)
    shutil.rmtree(folder, ignore_errors=True)
    return size


def figures(size: FirmwareSize | None) -> list[Figure]:
    if size is None:
        return [Figure(GROUP, "iso_firmware_mib", "ISO", "MiB", None, None, f"<= +{BUDGET_MIB} MiB")]
    without = size.iso_bytes - size.firmware_bytes - size.microcode_bytes
    return [
        Figure(GROUP, "iso_firmware_mib", "ISO", "MiB", without / MIB, size.iso_bytes / MIB,
               f"<= +{BUDGET_MIB} MiB", (without / MIB) + BUDGET_MIB, "the ISO less both"),
        Figure(GROUP, "firmware_mib", f"device firmware, {size.firmware_files} files (zstd)", "MiB", None,
               size.firmware_bytes / MIB),
        Figure(GROUP, "microcode_mib", "CPU microcode (boot/ucode.cpio)", "MiB", None, size.microcode_bytes / MIB),
    ]
