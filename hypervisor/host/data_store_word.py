"""The boot's word to the consoles about the data store, where the console password lives: a file on /run
(a tmpfs, so it lasts one boot).

The consoles start before the boot has found the data store, so until it has, nobody knows whether a
password exists. rc.boot says `waiting` before the consoles start; `xenbox host boot` then says `read` (the
data store is mounted: its config/console.toml decides), `none` (no data store: no password), or
`unreadable` with the reason (one was found but cannot be read: a password may be on it), and whether
this is safe mode. No word at all means no XenBox boot started this console (a developer's machine).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hypervisor.settings.tomlwrite import dumps

WORD = Path("/run/xenbox/data-store")
WAITING, READ, NONE, UNREADABLE = "waiting", "read", "none", "unreadable"


@dataclass(frozen=True)
class Word:
    state: str
    reason: str = ""
    safe: bool = False


def tell(word: Word, path: Path | None = None) -> None:
    path = path or WORD
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(dumps({"state": word.state, "reason": word.reason, "safe": word.safe}))
    os.replace(temporary, path)         # a console never reads half a word


def heard(path: Path | None = None) -> Word | None:
    """The boot's last word; `waiting` when it cannot be read (the boot is the only writer, so that is
    a broken /run: better locked than open)."""
    try:
        data = tomllib.loads((path or WORD).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return Word(WAITING)
    state = data.get("state")
    if state not in (WAITING, READ, NONE, UNREADABLE):
        return Word(WAITING)
    return Word(state, str(data.get("reason", "")), data.get("safe") is True)
