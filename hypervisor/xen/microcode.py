"""The CPU's microcode revision, before and after Xen's boot-time update.

Xen loads microcode itself, from the early cpio among its boot modules (`ucode=scan`, firmware/
device_firmware.py). It says what it did in its boot log (`xl dmesg`); the lines below are Xen 4.17's own
(xen/arch/x86/cpu/microcode/{core,intel,amd}.c and setup.c, checked against the strings of the xen.gz
XenBox ships):
  "BSP microcode revision: 0x%08x"            (an INFO line: only with loglvl=info or higher)
  "microcode: CPU%u updated from revision %#x to %#x, date = %04x-%02x-%02x"
  "microcode: couldn't find any matching ucode in the provided blob!"
  "microcode: couldn't find any newer%s revision in the provided blob!"
  "Microcode loading not available"
  "Parsing microcode blob error %d"
dom0's /proc/cpuinfo "microcode" field is the revision the CPU reports now, as Xen lets dom0 read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_UPDATED = re.compile(r"microcode: CPU(\d+) updated from revision (0x[0-9a-f]+) to (0x[0-9a-f]+), "
                      r"date = (\d{4}-\d{2}-\d{2})")
_BSP = re.compile(r"BSP microcode revision: (0x[0-9a-f]+)")
_CPUINFO = re.compile(r"^microcode\s*:\s*(0x[0-9a-f]+)\s*$", re.MULTILINE)
_VERDICTS = (
    ("Microcode loading not available", "this CPU cannot load microcode under Xen"),
    ("couldn't find any matching ucode", "the image has no microcode for this CPU"),
    ("couldn't find any newer", "already up to date (the image has nothing newer)"),
    ("Parsing microcode blob error", "the image's microcode could not be read"),
)


@dataclass(frozen=True)
class Microcode:
    before: str | None          # the revision the CPU booted with (Xen's BSP line, or its update's "from")
    after: str | None           # the revision Xen updated CPU0 to at this boot
    date: str | None            # that update's release date
    now: str | None             # what dom0's /proc/cpuinfo reports
    said: str                   # Xen's verdict in words, "" when its log says nothing about microcode

    @property
    def line(self) -> str:
        if self.after:
            text = f"{self.before} -> {self.after} ({self.date}), updated by Xen at boot"
        elif self.before or self.now:
            text = f"{self.before or self.now}"
            text += f", not updated: {self.said}" if self.said else ", not updated"
        else:
            text = f"revision unknown{': ' + self.said if self.said else ' (Xen said nothing about it)'}"
        return f"microcode    {text}"


def microcode(xen_log: str, cpuinfo: str) -> Microcode:
    # CPU0's lines: the first is the boot-time update, a later one a run-time load (xen-ucode)
    updates = [m for m in _UPDATED.finditer(xen_log) if m.group(1) == "0"]
    first, last = (updates[0], updates[-1]) if updates else (None, None)
    bsp = _BSP.search(xen_log)
    now = _CPUINFO.search(cpuinfo)
    said = next((words for needle, words in _VERDICTS if needle in xen_log), "")
    before = first.group(2) if first else bsp.group(1) if bsp else None
    updated = last
    return Microcode(
        before=_short(before) if before else None,
        after=_short(last.group(3)) if last else None,
        date=last.group(4) if last else None,
        now=_short(now.group(1)) if now else None,
        said="" if updated else said,
    )


def _short(revision: str) -> str:
    """0x0a001137 and 0xa001137 are one revision: written the way Xen's update line writes it."""
    return hex(int(revision, 16))
