"""A real bootable ISO nobody here built: Debian's grub-rescue-cdrom.iso, and its screen under plain QEMU.

The package is fetched with `apt-get download` (the test host's apt sources, as for the image) into the
build cache and unpacked with dpkg-deb; both are on any Debian machine. The reference screen is the same
ISO booted by QEMU on the test host, read with the monitor's `screendump` once it stops changing.
"""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from debian_package import unpacked
from screen_hash import Screen, phash, read_ppm, spread, BLANK_SPREAD

PACKAGE = "grub-rescue-pc"
ISO_IN_PACKAGE = "usr/lib/grub-rescue/grub-rescue-cdrom.iso"


def rescue_iso(cache: Path) -> Path:
    return unpacked(PACKAGE, cache, ISO_IN_PACKAGE)


def _monitor(path: Path, command: str) -> None:
    import socket
    with socket.socket(socket.AF_UNIX) as monitor:
        monitor.connect(str(path))
        monitor.settimeout(10)
        monitor.sendall(command.encode() + b"\n")
        time.sleep(0.5)


def settled_screen(dump, timeout: float = 180, settle: int = 3) -> Screen:
    """The screen `dump()` gives once `settle` reads in a row, two seconds apart, are one non-blank picture."""
    deadline, last, same = time.monotonic() + timeout, None, 0
    while time.monotonic() < deadline:
        screen = dump()
        if screen is not None and spread(screen) >= BLANK_SPREAD:
            same = same + 1 if last is not None and phash(screen) == phash(last) else 1
            last = screen
            if same >= settle:
                return screen
        time.sleep(2)
    raise AssertionError(f"the screen did not settle on something within {timeout:.0f} s")


def reference_screen(iso: Path) -> Screen:
    """grub-rescue-cdrom.iso booted by plain QEMU (TCG, no display), its screen once it is still."""
    with tempfile.TemporaryDirectory(prefix="xenbox-reference-") as work:
        monitor, picture = Path(work) / "monitor", Path(work) / "screen.ppm"
        qemu = subprocess.Popen(["qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-display", "none",
                                 "-cdrom", str(iso), "-boot", "d", "-monitor", f"unix:{monitor},server,nowait"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def dump() -> Screen | None:
                if not monitor.exists():
                    return None
                picture.unlink(missing_ok=True)
                _monitor(monitor, f"screendump {picture}")
                try:
                    return read_ppm(picture.read_bytes())
                except (OSError, ValueError, IndexError):      # not written yet, or not whole yet
                    return None
            return settled_screen(dump, 120)
        finally:
            qemu.kill()
            qemu.wait()
