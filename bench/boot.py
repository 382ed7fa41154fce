"""Boot an ISO under QEMU the way the end-to-end tests do, its serial line timestamped as bytes arrive.

Each chunk of output gets two stamps: wall-clock seconds since QEMU started, and
the CPU seconds QEMU had used by then. Under TCG the guest only advances while
QEMU runs, so the second is far less sensitive to whatever else the host is doing.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from pathlib import Path

from firmware.board import REPO
from firmware.qemu import Machine


def _e2e_serial():
    # tests/e2e/serial.py is imported by path: as `serial` it would clash with pyserial.
    spec = importlib.util.spec_from_file_location("xenbox_e2e_serial", REPO / "tests" / "e2e" / "serial.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_serial = _e2e_serial()
Timeout = _serial.Timeout
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all its threads (QEMU runs one per vCPU)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()     # the name may hold spaces; fields after it don't
    return (int(fields[11]) + int(fields[12])) / TICKS


class TimedConsole(_serial.SerialConsole):
    """The end-to-end tests' console; `cpu[i]` is QEMU's CPU time when `events[i]` arrived."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        super().__init__(argv, log_path)
        self.cpu: list[float | None] = []

    def pump(self, seconds: float = 0.2) -> None:
        before = len(self.events)
        super().pump(seconds)
        if len(self.events) > before:
            self.cpu.append(cpu_seconds(self.child.pid))


@contextlib.contextmanager
def booted(iso: Path, log: Path, host_forwards: list[str] | None = None, disks: list[Path] | None = None):
    """QEMU's start is the console's `started` (t0): it is taken just before the process is spawned.

    `host_forwards` are QEMU user-net hostfwd rules (bench/http.py makes them); `disks` are raw
    images attached as virtio disks (vda, vdb, ...).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xenbox-bench-") as workdir:
        machine = Machine(iso=iso, accel="tcg", host_forwards=list(host_forwards or []), disks=list(disks or []))
        console = TimedConsole(machine.argv(Path(workdir)), log)
        try:
            yield console
        finally:
            console.close()
