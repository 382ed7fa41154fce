"""Python in the image: the pinned wheels, XenBox's own packages, and their bytecode.

The root filesystem is read-only, so bytecode is compiled here: without it the
console's first frame takes twice as long under emulation.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from firmware.board import BOARDS, REPO
from firmware.context import Context
from firmware.run import probe, run

SITE = "usr/lib/xenbox/python"      # on PYTHONPATH of every XenBox program in dom0
CONSOLE_IMPORTS = "usr/lib/xenbox/console-imports"    # read ahead at boot by the initramfs (initramfs/init)
# Every file the console's start reads, roughly in the order it reads them: Python itself and the
# libraries it links, then the bytecode and shared objects the import loads, then their libraries.
# Asked of the image's own Python and loader (in a chroot), since the paths are the image's.
IMPORTED = """
import sys
import runpy, argparse, tui.__main__, tui.supervisor, tui.app   # what `python3 -m tui` imports, in order
print(sys.executable)
for module in list(sys.modules.values()):
    spec = getattr(module, "__spec__", None)
    path = spec and (spec.cached or (spec.origin if spec.has_location else None))
    if path:
        print(path)
"""
REAL_PATHS = """
import os, sys
seen = set()
for path in map(os.path.realpath, sys.argv[1:]):
    if path not in seen:
        seen.add(path)
        print(path)
"""
LOADER = "/lib64/ld-linux-x86-64.so.2"
OWN_PACKAGES = ("hypervisor", "tui")
REQUIREMENTS = BOARDS / "common" / "requirements-image.txt"


def install_python(ctx: Context) -> None:
    wheels = ctx.cache / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "download", "--quiet", "--only-binary=:all:", "--no-deps",
         "--require-hashes", "-r", REQUIREMENTS, "-d", wheels])
    site = ctx.rootfs / SITE
    site.mkdir(parents=True, exist_ok=True)
    run([*pip, "install", "--quiet", "--no-index", "--find-links", wheels, "--no-deps",
         "--require-hashes", "--no-compile", "--target", site, "-r", REQUIREMENTS])
    for name in OWN_PACKAGES:
        shutil.copytree(REPO / name, site / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # Compile with the image's own interpreter so the bytecode matches it.
    run(["chroot", ctx.rootfs, "python3", "-m", "compileall", "-q", "-j", "0",
         f"/{SITE}", "/usr/lib/python3.11"], quiet=True)
    (ctx.rootfs / CONSOLE_IMPORTS).write_text(console_files(ctx.rootfs))


def console_files(rootfs: Path) -> str:
    """The files the console's start reads, one a line, as the image names them (symlinks resolved)."""
    executable, *modules = run(["chroot", rootfs, "env", f"PYTHONPATH=/{SITE}", "python3", "-c", IMPORTED],
                               capture=True).splitlines()
    files = [executable, LOADER, *linked(rootfs, executable), *modules]
    files += [lib for path in files if path.endswith(".so") for lib in linked(rootfs, path)]
    return run(["chroot", rootfs, "python3", "-c", REAL_PATHS, *files], quiet=True)


def linked(rootfs: Path, path: str) -> list[str]:
    """The shared libraries the image's loader loads for `path` (nothing for a file it cannot list)."""
    listed = probe(["chroot", rootfs, LOADER, "--list", path])
    return [line.split("=>")[1].split("(")[0].strip() for line in listed.splitlines() if "=> /" in line]
