"""The boot's word to the consoles that this host has no settings yet: a marker file on /run (a tmpfs, so
it lasts one boot). `xenbox host boot` writes it when it found no settings kept, no answer file and no
data store; each console then opens its first-boot screens, and the console that sets the host up
removes it, which closes the other console's screens. A console whose operator leaves them for later
leaves a second marker naming its terminal, so a console forked again on that terminal (after a crash,
or `kill`) does not open them again.
"""
from __future__ import annotations

from pathlib import Path

MARKER = Path("/run/xenbox/first-boot")


def mark(path: Path | None = None) -> None:
    path = path or MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("no settings kept, no answer file: the consoles open the first-boot screens\n")


def clear(path: Path | None = None) -> None:
    (path or MARKER).unlink(missing_ok=True)


def pending(path: Path | None = None) -> bool:
    return (path or MARKER).exists()


def _later(tty: str) -> Path:
    return MARKER.with_name(f"first-boot-later-{tty or 'console'}")


def leave_for_later(tty: str) -> None:
    path = _later(tty)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the first-boot screens were left for later on this terminal\n")


def left_for_later(tty: str) -> bool:
    return _later(tty).exists()
