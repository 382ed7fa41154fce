"""The kernel's mount table (/proc/self/mounts): what is mounted where, read in one place.

One line a mount, fstab's fields: source, mountpoint, type, options, then two zeros. The kernel
writes a space, tab, newline or backslash in a field as an octal escape (`\\040`); a later line
may mount over an earlier one at the same place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MOUNT_TABLE = Path("/proc/self/mounts")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    source: str                    # a device, server:/path for NFS, or a name such as tmpfs
    mountpoint: str
    fstype: str
    options: dict[str, str | None] = field(default_factory=dict, hash=False)


def parse_mounts(text: str) -> list[Mount]:
    """Every mount, in the table's order; a line of fewer than four fields is skipped."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounts.append(Mount(_unescape(fields[0]), _unescape(fields[1]), fields[2], parse_options(fields[3])))
    return mounts


def parse_options(text: str) -> dict[str, str | None]:
    """'rw,vers=4.2,hard' -> {'rw': None, 'vers': '4.2', 'hard': None}."""
    options: dict[str, str | None] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        options[key] = value if sep else None
    return options


def _unescape(field_text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match[1], 8)), field_text)


def read_mounts(table: Path = MOUNT_TABLE) -> list[Mount]:
    # Bytes that are not UTF-8 (a stick's folder named in Latin-1) are read as Python reads
    # file names, so a mount point compares equal to the Path naming it.
    return parse_mounts(table.read_text(encoding="utf-8", errors="surrogateescape"))


def mounted_at(mountpoint: Path | str, mounts: list[Mount]) -> bool:
    return any(mount.mountpoint == str(mountpoint) for mount in mounts)


def mount_holding(path: Path | str, mounts: list[Mount]) -> Mount:
    """The mount `path` is on: the longest mountpoint above it, the last one mounted there;
    the root filesystem when the table has no line for `/`."""
    path = str(path)
    holding = Mount("rootfs", "/", "rootfs")
    for mount in mounts:
        point = mount.mountpoint
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(holding.mountpoint):
            holding = mount
    return holding
