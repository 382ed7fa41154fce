"""Boot the real ISO under QEMU (TCG) and hand back its serial console."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from conftest import LOGS
from firmware.qemu import Machine
from serial import SerialConsole

OVERVIEW = r"HVM: (available|unavailable)"
BOOT_TIMEOUT = 400     # TCG on a loaded 2-core CI machine; ~60 s when idle


@contextlib.contextmanager
def booted(iso: Path, name: str, **machine_options):
    with tempfile.TemporaryDirectory(prefix=f"xenbox-{name}-") as workdir:
        machine = Machine(iso=iso, accel="tcg", **machine_options)
        console = SerialConsole(machine.argv(Path(workdir)), LOGS / f"{name}.serial.log")
        try:
            yield console
        finally:
            console.close()
