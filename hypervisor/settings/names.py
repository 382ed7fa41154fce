"""The names an operator or a file gives things that become path parts: appliances, pools, iSCSI targets.

One pattern, checked wherever a name is read (a settings file, a manifest, an answer file, the command
line): no '/', no leading '.', so never '..'. Where a name is joined to a folder, `inside` checks the
result again, resolved, so that a name that slipped past a reader still cannot leave its folder.
"""
from __future__ import annotations

import re
from pathlib import Path

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_VALID = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"


class OutsideFolder(ValueError):
    """A name that would make a path outside the folder it belongs in."""


def inside(folder: Path, part: str) -> Path:
    """`folder / part`, refused unless it resolves to an entry directly in `folder` (symbolic links followed)."""
    path = folder / part
    if "/" in part or part in ("", ".", "..") or path.resolve().parent != folder.resolve():
        raise OutsideFolder(f"{part!r} cannot be a name here: it would leave {folder}; use {NAME_VALID}")
    return path
