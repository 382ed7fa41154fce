"""The sample appliance the image carries: Debian's kernel and a busybox userland, as a PV guest bundle.

It lands in dom0 at /usr/share/xenbox/appliances/sample-web: appliance.toml, initrd.img and
vmlinux, dom0's own kernel unpacked. Xen's domain builder unpacks a bzImage in dom0 at every
start, and Debian's is xz: that was 4 of the 6 s `xl create` took under emulation. Stored
plain, the squashfs (zstd, in the kernel) does the unpacking, far faster; the image grows by 10 MiB.
"""
from __future__ import annotations

import lzma
import shutil
from pathlib import Path

from firmware.board import REPO
from firmware.context import Context
from firmware.initramfs import install_busybox, install_modules, pack
from firmware.run import die
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
        kernel = unpacked_kernel(ctx.iso_tree / "boot" / "vmlinuz", bundle / "vmlinux")
        print(f"    appliance {source.name}: initrd {size // 1024} KiB, kernel {kernel // 2**20} MiB", flush=True)


XZ_MAGIC = b"\xfd7zXZ\x00"


def unpacked_kernel(bzimage: Path, out: Path) -> int:
    """The ELF kernel inside a bzImage whose payload is xz (Debian's), written to `out`; its size."""
    data = bzimage.read_bytes()
    start = data.find(XZ_MAGIC)
    if start < 0:
        die(f"{bzimage} holds no xz-compressed kernel", "the sample appliance expects Debian's linux-image-amd64")
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
    if not elf.startswith(b"\x7fELF"):
        die(f"the xz payload of {bzimage} is not an ELF kernel", "the sample appliance expects Debian's linux-image-amd64")
    out.write_bytes(elf)
    return len(elf)


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
