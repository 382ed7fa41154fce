"""Boot messages ("xenbox: ..."): said on the serial console, where a headless operator and the tests
read them, and kept in /run/xenbox/boot.log.

The serial console UI shares that line: the messages land on its screen. The log growing is its cue to
draw itself again (tui/app.py), so a message never leaves the screen scrolled or half overwritten.
rc.boot and the DHCP script append their own lines to the same log.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

BOOT_LOG = Path("/run/xenbox/boot.log")


def say_at_boot(line: str, out: TextIO | None = None, log: Path = BOOT_LOG) -> None:
    text = f"xenbox: {line}"
    print(text, file=out or sys.stdout, flush=True)
    try:                        # after the line is out: the console redraws over it, not before it
        with log.open("a") as kept:
            kept.write(text + "\n")
    except OSError:
        pass                    # no /run/xenbox (a shell on a dev machine): the line was still said


def log_size(log: Path = BOOT_LOG) -> int:
    try:
        return log.stat().st_size
    except OSError:
        return 0
