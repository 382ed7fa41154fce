"""Board overlays and the few files that name this build."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from firmware.context import Context
from firmware.run import run


def apply_overlays(ctx: Context) -> None:
    for overlay in ctx.board.overlays:
        shutil.copytree(overlay, ctx.rootfs, symlinks=True, dirs_exist_ok=True)
    # busybox is init: small, respawns the consoles at once, runs our shutdown path.
    init = ctx.rootfs / "sbin" / "init"
    if init.is_symlink() or init.exists():
        init.unlink()
    os.symlink("/bin/busybox", init)
    link_busybox_applets(ctx.rootfs)
    release = ctx.rootfs / "etc" / "xenbox" / "release"
    release.parent.mkdir(parents=True, exist_ok=True)
    release.write_text(f"XENBOX_VERSION={ctx.version}\nXENBOX_BOARD={ctx.board.name}\n")


BIN_DIRS = ("usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin")


def link_busybox_applets(rootfs: Path) -> None:
    """Give every busybox applet a name in /usr/local/bin, unless Debian installed the real tool.

    poweroff and reboot must be busybox's: they ask busybox init to run the shutdown path.
    """
    busybox = rootfs / "bin" / "busybox"
    applets = run([busybox, "--list"], capture=True).split()
    target_dir = rootfs / "usr" / "local" / "bin"
    target_dir.mkdir(parents=True, exist_ok=True)
    for applet in applets:
        if not any((rootfs / d / applet).exists() for d in BIN_DIRS):
            os.symlink("/bin/busybox", target_dir / applet)
