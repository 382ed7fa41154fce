"""Take the boot files out of the root filesystem, then remove what dom0 never reads."""
from __future__ import annotations

import shutil
from pathlib import Path

from firmware.context import Context
from firmware.run import die, run


def kernel_version(ctx: Context) -> str:
    versions = sorted(p.name for p in (ctx.rootfs / "usr/lib/modules").iterdir())
    if len(versions) != 1:
        die(f"expected one kernel in the root filesystem, found {versions or 'none'}",
            "check the board's package list: it should name linux-image-amd64 once")
    return versions[0]


def extract_boot_files(ctx: Context) -> None:
    boot = ctx.iso_tree / "boot"
    boot.mkdir(parents=True, exist_ok=True)
    version = kernel_version(ctx)
    xen = sorted((ctx.rootfs / "boot").glob("xen-*-amd64.gz"))
    if not xen:
        die("no Xen hypervisor found in the root filesystem's /boot",
            "the board's package list must include xen-hypervisor-4.17-amd64")
    shutil.copy2(xen[-1], boot / "xen.gz")
    shutil.copy2(ctx.rootfs / "boot" / f"vmlinuz-{version}", boot / "vmlinuz")


def trim_rootfs(ctx: Context) -> None:
    modules = ctx.rootfs / "usr/lib/modules" / kernel_version(ctx)
    for folder in ctx.board.modules_exclude:
        _remove(modules / "kernel" / folder)
    run(["depmod", "-b", ctx.rootfs, kernel_version(ctx)], quiet=True)
    for path in ctx.board.prune:
        _remove(ctx.rootfs / path)
    (ctx.rootfs / "boot").mkdir(exist_ok=True)
    (ctx.rootfs / "var/log").mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
