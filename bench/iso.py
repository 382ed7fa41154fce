"""The ISO under measurement: a private snapshot of it, and files taken out of it with xorriso."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from firmware.run import run


def snapshot(iso: Path, work: Path) -> Path:
    """A link to (or copy of) the ISO, so a rebuild during the run can't swap Xen or the kernel under us.

    The build renames a finished ISO into place, so a hard link keeps the old one intact.
    """
    work.mkdir(parents=True, exist_ok=True)
    target = work / "xenbox.iso"
    target.unlink(missing_ok=True)
    try:
        os.link(iso, target)
    except OSError:
        shutil.copyfile(iso, target)
    return target


def extract(iso: Path, dest: Path, paths: list[str]) -> dict[str, Path]:
    """Copy `paths` (absolute paths inside the ISO) into `dest`; returns where each went."""
    dest.mkdir(parents=True, exist_ok=True)
    found = {path: dest / Path(path).name for path in paths}
    for target in found.values():
        target.unlink(missing_ok=True)
    argv: list[str | Path] = ["xorriso", "-osirrox", "on", "-indev", iso]
    for path, target in found.items():
        argv += ["-extract", path, target]
    run(argv, quiet=True)
    for target in found.values():
        target.chmod(0o644)     # xorriso keeps the ISO's read-only modes
    return found
