"""A captured sysfs (tests/fixtures/hardware/*/sysfs.json, made by capture.py in a real dom0) rebuilt as files,
folders and symlinks under a temporary folder, for readers that take the sysfs root as a parameter."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path


def rebuild(capture: Path, root: Path) -> Path:
    """The tree under `root`; returns root/sys. A link whose target was not captured (a driver's folder
    under /sys/bus/*/drivers, a bridge) gets an empty folder there, as sysfs has one."""
    tree = json.loads(capture.read_text())
    links = []
    for path, entry in sorted(tree.items()):
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if "link" in entry:
            target.symlink_to(entry["link"])
            links.append(target)
        elif "text" in entry:
            target.write_text(entry["text"])
        else:
            target.write_bytes(base64.b64decode(entry["base64"]))
    for link in links:
        pointed = Path(os.path.normpath(link.parent / os.readlink(link)))
        if not pointed.exists() and root in pointed.parents:
            pointed.mkdir(parents=True, exist_ok=True)
    return root / "sys"
