"""Boot milestones: the chunk of serial output that carried each, hence when it arrived.

Also Xen's and the kernel's own clocks, read from their logs: Xen prints boot
timestamps (console_timestamps=boot), the kernel's are in its ring buffer (dmesg).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bench import shell


@dataclass(frozen=True)
class Milestone:
    key: str
    label: str
    pattern: bytes


# The first "(XEN)" line is Xen's banner ("Xen version 4.17 ..."); GRUB's menu comes before it.
COMMON = [
    Milestone("grub", "GRUB menu", rb"GNU GRUB"),
    Milestone("xen", "Xen banner", rb"\(XEN\)"),
]

XEN_DOM0_START = re.compile(rb"\(XEN\) \[\s*([0-9]+\.[0-9]+)\] Freed \d+kB init memory")
KERNEL_INIT = re.compile(r"BENCH-KINIT \[\s*([0-9]+\.[0-9]+)\]")
KERNEL_INIT_COMMAND = "echo \"BENCH\"\"-KINIT $(/bin/busybox dmesg | /bin/busybox grep -m1 'Run /init')\""


def chunk_index(events: list[tuple[float, bytes]], offset: int) -> int | None:
    """Which chunk of output carried the byte at `offset` of the transcript."""
    end = 0
    for index, (_, chunk) in enumerate(events):
        end += len(chunk)
        if offset < end:
            return index
    return None


def find(events: list[tuple[float, bytes]], transcript: bytes, milestones: list[Milestone]) -> dict[str, int | None]:
    """The chunk in which each milestone first appeared; a line counts when its last byte has arrived."""
    found: dict[str, int | None] = {}
    for milestone in milestones:
        match = re.search(milestone.pattern, transcript)
        found[milestone.key] = chunk_index(events, match.end() - 1) if match else None
    return found


def xen_dom0_start(transcript: bytes) -> float | None:
    """Xen's own clock when it frees its init memory, just before dom0's kernel runs."""
    match = XEN_DOM0_START.search(transcript)
    return float(match.group(1)) if match else None


def kernel_init(console) -> float | None:
    """The kernel's own clock when it ran the initramfs /init (asked in a shell on the console)."""
    match = KERNEL_INIT.search(shell.run(console, KERNEL_INIT_COMMAND))
    return float(match.group(1)) if match else None


ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[78=>])")


def stamped_lines(events: list[tuple[float, bytes]], cpu: list[float | None]) -> str:
    """The serial output as text lines, each with when its end arrived: where a boot spends its time."""
    lines, current = [], b""
    for index, (_, chunk) in enumerate(events):
        *complete, rest = chunk.split(b"\n")
        for part in complete:
            lines.append((index, current + part))
            current = b""
        current += rest
    if current:
        lines.append((len(events) - 1, current))
    out = ["    wall  QEMU CPU  (seconds since QEMU started)"]
    for index, raw in lines:
        text = ESCAPES.sub(b"", raw).replace(b"\r", b"").decode(errors="replace").strip()
        if text:
            used = f"{cpu[index]:8.2f}" if cpu[index] is not None else "       -"
            out.append(f"{events[index][0]:8.2f}  {used}  {text[:150]}")
    return "\n".join(out) + "\n"
