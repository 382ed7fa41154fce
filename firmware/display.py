"""websockify and noVNC for guests' screens (hypervisor/appliances/display.py), from Debian's packages
but without what those packages pull in.

Installed as packages, `novnc` would bring nodejs (for its build tools, utils/) and `python3-websockify`
numpy with BLAS and LAPACK (which websockify only tries for speed): tens of MiB that dom0 never runs. So
the two .deb files, pinned by version and SHA-256, are fetched with `apt-get download` into the build's
cache and only their files are taken: websockify's Python package beside XenBox's own, noVNC's static
page and scripts to /usr/share/novnc.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from firmware.context import Context
from firmware.python import SITE
from firmware.run import die, run

NOVNC = "usr/share/novnc"


@dataclass(frozen=True)
class Pinned:
    package: str
    version: str
    sha256: str

    @property
    def file(self) -> str:
        """apt-get download's file name: the epoch's colon is written %3a."""
        return f"{self.package}_{self.version.replace(':', '%3a')}_{'all' if self.package == 'novnc' else 'amd64'}.deb"


# bookworm's, as its mirror had them in Dec 2026. A newer one there (a security update) fails the build
# with both hashes: check its changelog, then change the version and hash here.
WEBSOCKIFY = Pinned("python3-websockify", "0.10.0+dfsg1-4+b1",
                    "4b69feda46389154b1243dde9c14f091a2a1d070ae17afc5be02dafc527910e9")
NOVNC_DEB = Pinned("novnc", "1:1.3.0-1", "5ff8b8c93c1c6cc911e01bfa77d12d4098e1904f738a996040c8095e02492ebb")


def fetch(pinned: Pinned, cache: Path) -> Path:
    deb = cache / "debs" / pinned.file
    if not deb.is_file():
        deb.parent.mkdir(parents=True, exist_ok=True)
        run(["apt-get", "download", f"{pinned.package}={pinned.version}"], cwd=deb.parent)
    found = hashlib.sha256(deb.read_bytes()).hexdigest()
    if found != pinned.sha256:
        deb.unlink()
        die(f"{pinned.file} has SHA-256 {found}, not the pinned {pinned.sha256}",
            "a different build of the package: check it, then update the pin in firmware/display.py")
    return deb


def install_display(ctx: Context) -> None:
    with tempfile.TemporaryDirectory(dir=ctx.work) as scratch:
        unpacked = Path(scratch)
        for pinned in (WEBSOCKIFY, NOVNC_DEB):
            run(["dpkg-deb", "-x", fetch(pinned, ctx.cache), unpacked], quiet=True)
        site = ctx.rootfs / SITE / "websockify"
        shutil.rmtree(site, ignore_errors=True)
        shutil.copytree(unpacked / "usr/lib/python3/dist-packages/websockify", site)
        web = ctx.rootfs / NOVNC
        shutil.rmtree(web, ignore_errors=True)
        # utils/ is noVNC's build and proxy scripts (node, bash): the page needs none of it.
        shutil.copytree(unpacked / NOVNC, web, symlinks=True, ignore=shutil.ignore_patterns("utils"))
    run(["chroot", ctx.rootfs, "python3", "-m", "compileall", "-q", f"/{SITE}/websockify"], quiet=True)
    size = sum(f.stat().st_size for f in web.rglob("*") if f.is_file()) // 1024
    print(f"    websockify {WEBSOCKIFY.version}, noVNC {NOVNC_DEB.version} ({size} KiB)", flush=True)
