"""The root squashfs and the GRUB hybrid ISO (BIOS and UEFI, CD and USB stick)."""
from __future__ import annotations

from pathlib import Path

from firmware.board import BOARDS
from firmware.context import Context
from firmware.python import CONSOLE_IMPORTS
from firmware.run import run


# How the root filesystem is compressed; bench/firmware_size.py compresses the firmware alone the same way.
SQUASHFS_OPTIONS = ["-comp", "zstd", "-Xcompression-level", "15", "-b", "256K"]


def make_squashfs(ctx: Context) -> None:
    live = ctx.iso_tree / "live"
    live.mkdir(parents=True, exist_ok=True)
    target = live / "rootfs.squashfs"
    target.unlink(missing_ok=True)
    order = ctx.work / "squashfs.sort"
    order.write_text(import_order(ctx.rootfs))
    run(["mksquashfs", ctx.rootfs, target, *SQUASHFS_OPTIONS, "-sort", order, "-noappend", "-quiet", "-progress"])
    # The initramfs checks this, so an older XenBox stick is never taken for this one.
    (live / "build-id").write_text(ctx.version + "\n")


def import_order(rootfs: Path) -> str:
    """mksquashfs's sort file: the files the console imports first, in the order it imports them, so
    that they lie together on the medium and are read in a few long reads rather than some 360 short ones."""
    listed = (rootfs / CONSOLE_IMPORTS).read_text().split()
    return "".join(f"{path.lstrip('/')} {32767 - rank}\n" for rank, path in enumerate(listed))


def grub_config(ctx: Context) -> str:
    b = ctx.board
    fills = {
        "VERSION": ctx.version,
        "XEN_CMDLINE": f"{b.xen_cmdline} {b.xen_ucode}".strip(),
        "XEN_HEADLESS_CMDLINE": f"{b.xen_headless_cmdline} {b.xen_ucode}".strip(),
        "XEN_EFI_EXTRA": b.xen_efi_extra,
        "DOM0_CMDLINE": b.dom0_cmdline,
        "DOM0_HEADLESS_CMDLINE": b.dom0_headless_cmdline,
        "DOM0_SAFE_EXTRA": b.dom0_safe_extra,
        "BOOT_ARGS": ctx.build_id_arg,
    }
    text = (BOARDS / b.name / "grub.cfg").read_text()
    for key, value in fills.items():
        text = text.replace(f"@{key}@", value)
    return text


def make_iso(ctx: Context) -> None:
    grub_dir = ctx.iso_tree / "boot" / "grub"
    grub_dir.mkdir(parents=True, exist_ok=True)
    (grub_dir / "grub.cfg").write_text(grub_config(ctx))
    partial = ctx.iso.with_suffix(".partial.iso")
    # grub-mkrescue builds for every GRUB platform installed (i386-pc and x86_64-efi)
    # and makes the image hybrid, so it also boots when written raw to a USB stick.
    run(["grub-mkrescue", "-o", partial, ctx.iso_tree, "--", "-volid", ctx.board.label], quiet=True)
    partial.rename(ctx.iso)
