"""The sample appliance the image carries: Debian's kernel and a busybox userland, as a PV guest bundle.

It lands in dom0 at /usr/share/xenbox/appliances/sample-web: appliance.toml and
initrd.img. Its manifest names dom0's own kernel on the boot medium as its kernel.
"""
from __future__ import annotations

import shutil

from firmware.board import REPO
from firmware.context import Context
from firmware.initramfs import install_busybox, install_modules, pack
from firmware.trim import kernel_version

SOURCE = REPO / "board" / "common" / "appliances"
BUILT_IN = "usr/share/xenbox/appliances"     # in dom0's root filesystem


def build_sample_appliances(ctx: Context) -> None:
    for source in sorted(p for p in SOURCE.iterdir() if (p / "appliance.toml").is_file()):
        bundle = ctx.rootfs / BUILT_IN / source.name
        if bundle.exists():
            shutil.rmtree(bundle)
        bundle.mkdir(parents=True)
        shutil.copy2(source / "appliance.toml", bundle / "appliance.toml")
        size = _guest_initramfs(ctx, source, bundle / "initrd.img")
        print(f"    appliance {source.name}: initrd {size // 1024} KiB", flush=True)


def _guest_initramfs(ctx: Context, source, out) -> int:
    tree = ctx.work / "appliances" / source.name
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(source / "rootfs", tree, symlinks=True)
    for folder in ("proc", "sys", "dev", "tmp", "var/run"):
        (tree / folder).mkdir(parents=True, exist_ok=True)
    install_busybox(tree, ctx.rootfs / "bin" / "busybox")
    (tree / "sbin").symlink_to("bin")     # the kernel runs /sbin/poweroff when Xen asks the guest to stop
    names = [line.strip() for line in (source / "modules.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    version = kernel_version(ctx)
    install_modules(tree, ctx.rootfs / "usr/lib/modules" / version, version, names)
    return pack(tree, out)
