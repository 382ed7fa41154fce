"""Build a XenBox image, as a flat list of named steps.

    python3 -m firmware.build [--board pc] [--images DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from firmware.appliance import build_sample_appliances
from firmware.board import REPO, load_board
from firmware.context import Context
from firmware.device_firmware import install_firmware
from firmware.display import install_display
from firmware.host import check_host
from firmware.initramfs import build_initramfs
from firmware.iso import make_iso, make_squashfs
from firmware.overlay import apply_overlays
from firmware.python import install_python
from firmware.rootfs import build_rootfs
from firmware.run import BuildError, probe, step
from firmware.trim import extract_boot_files, trim_rootfs

STEPS = [
    ("Checking the build machine", lambda ctx: check_host()),
    ("Building the root filesystem from Debian packages", build_rootfs),
    ("Installing Python packages and compiling bytecode", install_python),
    ("Adding websockify and noVNC for guests' screens", install_display),
    ("Applying the board's root filesystem overlay", apply_overlays),
    ("Taking out Xen and the dom0 kernel", extract_boot_files),
    ("Trimming kernel modules and unused files", trim_rootfs),
    ("Keeping the firmware kept modules name; microcode for Xen", install_firmware),
    ("Building the initramfs", build_initramfs),
    ("Building the sample appliance (PV guest)", build_sample_appliances),
    ("Compressing the root filesystem (squashfs, zstd)", make_squashfs),
    ("Making the hybrid ISO (BIOS + UEFI, CD + USB)", make_iso),
]


def build_version() -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    sha = probe(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).strip()
    return f"{stamp}-{sha or 'nogit'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the XenBox ISO.")
    parser.add_argument("--board", default="pc", help="board under board/ (default: pc)")
    parser.add_argument("--images", type=Path, default=REPO / "images", help="output folder")
    args = parser.parse_args(argv)
    try:
        ctx = Context(board=load_board(args.board), images=args.images.resolve(), version=build_version())
        for number, (title, action) in enumerate(STEPS, start=1):
            with step(number, len(STEPS), title):
                action(ctx)
    except (BuildError, ValueError) as error:
        print(f"\nbuild failed: {error}", file=sys.stderr)
        if getattr(error, "hint", ""):
            print(f"  {error.hint}", file=sys.stderr)
        return 1
    size = ctx.iso.stat().st_size / 2**20
    print(f"\nbuilt {ctx.iso} ({size:.0f} MiB, version {ctx.version})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
