"""Python in the image: the pinned wheels, XenBox's own packages, and their bytecode.

The root filesystem is read-only, so bytecode is compiled here: without it the
console's first frame takes twice as long under emulation.
"""
from __future__ import annotations

import shutil
import sys

from firmware.board import BOARDS, REPO
from firmware.context import Context
from firmware.run import run

SITE = "usr/lib/xenbox/python"      # on PYTHONPATH of every XenBox program in dom0
CONSOLE_IMPORTS = "usr/lib/xenbox/console-imports"    # read ahead at boot by the initramfs (initramfs/init)
# Every file the console's start reads, roughly in the order it reads them: Python itself and the
# libraries it links, then the bytecode and shared objects the import loads, then their libraries.
LIST_IMPORTS = """
import os, subprocess, sys
import runpy, argparse, tui.__main__, tui.supervisor, tui.app   # what `python3 -m tui` imports, in order
LOADER = "/lib64/ld-linux-x86-64.so.2"
def linked(path):
    listed = subprocess.run([LOADER, "--list", path], capture_output=True, text=True).stdout
    return [line.split("=>")[1].split("(")[0].strip() for line in listed.splitlines() if "=> /" in line]
files = [sys.executable, LOADER, *linked(sys.executable)]
for module in list(sys.modules.values()):
    spec = getattr(module, "__spec__", None)
    path = spec and (spec.cached or (spec.origin if spec.has_location else None))
    if path:
        files.append(path)
files += [lib for path in files if path.endswith(".so") for lib in linked(path)]
seen = set()
for path in map(os.path.realpath, files):
    if path not in seen:
        seen.add(path)
        print(path)
"""
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
    listed = run(["chroot", ctx.rootfs, "env", f"PYTHONPATH=/{SITE}", "python3", "-c", LIST_IMPORTS], capture=True)
    (ctx.rootfs / CONSOLE_IMPORTS).write_text(listed)
