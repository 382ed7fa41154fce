"""The dom0 root filesystem: Debian packages by mmdebstrap, cached by package list."""
from __future__ import annotations

import hashlib
import shutil

from firmware.context import Context
from firmware.run import run

# Never unpacked into the image: documentation, manuals and translations.
DPKG_EXCLUDES = [
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
]


def rootfs_tarball(ctx: Context) -> str:
    """The cached tarball's name changes whenever the package list or suite does."""
    key = "\n".join([ctx.board.suite, *sorted(ctx.board.packages), *DPKG_EXCLUDES,
                     *(ctx.board.components if ctx.board.components != ("main",) else ())])
    return f"rootfs-{ctx.board.suite}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.tar"


def build_rootfs(ctx: Context) -> None:
    tarball = ctx.cache / rootfs_tarball(ctx)
    if not tarball.exists():
        ctx.cache.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        run(
            [
                "mmdebstrap",
                "--variant=essential",
                f"--components={','.join(ctx.board.components)}",
                f"--include={','.join(ctx.board.packages)}",
                *(f"--dpkgopt={rule}" for rule in DPKG_EXCLUDES),
                # The image carries its own initramfs; Debian's would cost 30 s and 60 MB.
                "--aptopt=APT::Install-Recommends false",
                ctx.board.suite,
                partial,
            ],
            env={"INITRD": "No"},
        )
        partial.rename(tarball)
    else:
        print(f"    using cached {tarball.name}", flush=True)
    if ctx.rootfs.exists():
        shutil.rmtree(ctx.rootfs)
    ctx.rootfs.mkdir(parents=True)
    run(["tar", "-C", ctx.rootfs, "--numeric-owner", "-xpf", tarball], quiet=True)
