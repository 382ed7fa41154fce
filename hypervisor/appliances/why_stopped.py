"""Why an appliance is not running: what its last start said, or the last lines its console printed.

`launch.start` keeps one small record per appliance in /run/xenbox/runs (RAM, this boot only): when it
last started it, or why that start failed (libxl's error and the tail of the guest's qemu-dm log). The
Appliances screen and `xenbox appliance list` read it back. A guest that Xen started and that stopped
by itself (a kernel panic, a power-off) left its story in its console log, which the start begins
afresh (the previous run's is kept as guest-NAME.log.old), so the lines shown are this run's.

Console logs stay in RAM (/var/log/xen/console on the tmpfs overlay), never on the data store: a
guest's console can print what should not outlive the power-off (an installer's generated password,
a key), and a chatty guest must not fill or wear the data store. rc.services keeps each log bounded.
The lines shown here also have `password=...`-style values masked.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hypervisor.settings.atomic import write_atomically
from hypervisor.xen import daemons as xen_daemons
from hypervisor.xen.plain_text import last_lines, strip_escapes
from hypervisor.xen.xl import libxl_reason

RUNS = Path("/run/xenbox/runs")
QEMU_LOGS = Path("/var/log/xen")       # libxl writes qemu-dm-NAME.log there for each HVM guest
CONSOLE_LINES = 6
QEMU_LINES = 4
WIDTH = 76                            # a line of the reason panel at 80 columns

PANIC = re.compile(r"Kernel panic - not syncing: (.*?)\s*(?:\]---)?\s*$")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")        # the kernel's "[    1.234567] "
SECRET = re.compile(r"(?i)\b((?:root)?pass(?:word|wd)?|pw|secret|token|api[_-]?key|key)([=:])\S+")


@dataclass(frozen=True)
class Run:
    started: float          # when the start was asked for (time.time())
    refused: str = ""       # why it did not start; "" when Xen started it


# -- the record launch.start keeps ------------------------------------------------------------
def record(name: str, run: Run, runs: Path | None = None) -> None:
    folder = runs or RUNS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(folder / f"{name}.json", json.dumps(asdict(run)))


def read_run(name: str, runs: Path | None = None) -> Run | None:
    try:
        return Run(**json.loads(((runs or RUNS) / f"{name}.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def console_log(name: str, logs: Path | None = None) -> Path:
    return (logs or xen_daemons.CONSOLE_LOGS) / f"guest-{name}.log"


def begin_console_log(name: str, logs: Path | None = None) -> None:
    """Before a start: the previous run's console log becomes guest-NAME.log.old. No domain of that name
    runs (launch checked), so xenconsoled has closed its file and opens a new one for the new domain."""
    log = console_log(name, logs)
    try:
        os.replace(log, log.with_name(log.name + ".old"))
    except FileNotFoundError:
        pass


# -- what the start failure says ---------------------------------------------------------------
def qemu_dm_log(name: str, logs: Path | None = None) -> Path:
    return (logs or QEMU_LOGS) / f"qemu-dm-{name}.log"


def qemu_dm_tail(name: str, since: float, logs: Path | None = None, count: int = QEMU_LINES) -> list[str]:
    """The last lines of the guest's qemu-dm log, if this start wrote it (libxl starts a new one for each
    device model; one older than the start is a previous run's, and says nothing about this one)."""
    path = qemu_dm_log(name, logs)
    try:
        if path.stat().st_mtime < since - 1:
            return []
        return dm_lines(last_lines(path, 50), count)
    except OSError:
        return []


def dm_lines(text: str, count: int = QEMU_LINES) -> list[str]:
    """The informative last lines of a qemu-dm log: not blank, not QEMU's own 'terminating on signal' (libxl
    stopping it after the failure that matters)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [mask(line) for line in lines if ": terminating on signal" not in line][-count:]


XC_ERROR = re.compile(r"xc: error: (?:panic: )?[\w.]+:\d+: \w+: (.*)")


def start_failure(name: str, output: str, qemu: list[str], fallback: str) -> str:
    """The sentence for a start that `xl create` refused (its output): Xen's domain builder's error (`xc:`),
    which libxl's own lines after it only echo wrongly ("No such file or directory"), else libxl's; a hint
    when the cause is known; then what the device model said last."""
    builder = [found.group(1).strip() for found in map(XC_ERROR.match, output.splitlines()) if found]
    said = builder[0] if builder else (libxl_reason(output) or fallback)
    text = f"Xen could not start {name}: {said}"
    hint = hint_for(said, qemu)
    if hint:
        text += f"\n{hint}"
    if qemu:
        text += f"\nIts device model's log ({qemu_dm_log(name)}) ends:\n" + \
            "\n".join(f"  {line}" for line in qemu)
    return text


FIRMWARE_FILES = "UEFI: /usr/share/ovmf/OVMF.fd (package ovmf); BIOS: SeaBIOS's bios-256k.bin"
DRIVE = re.compile(r"-drive [^ ]*file=([^,]+)[^ ]*: (.*)")


def hint_for(libxl: str, qemu: list[str]) -> str | None:
    """What to do, for the failures seen on XenBox (captured in tests/fixtures/xen/failures)."""
    if "failed to read BIOS file" in libxl:
        return (f"Its firmware is not on this host ({FIRMWARE_FILES}): choose the other firmware for it, "
                "or use an image that has the file.")
    if re.search(r"too large .*Out of memory", libxl):
        return "Its kernel and ramdisk do not fit in its memory: raise memory.initial_mib in its appliance.toml."
    if "neither hap nor shadow paging available" in libxl:
        return ("This host's CPU gives Xen no hardware-assisted paging (EPT/NPT), which HVM guests need here: "
                "run the guest as PV, or on a host whose CPU has EPT/NPT switched on.")
    for line in qemu:
        drive = DRIVE.search(line)
        if drive:
            return (f"Its device model could not use {drive.group(1)}: {drive.group(2).strip()}. "
                    "Put a readable image there, or eject it.")
    return None


# -- what the console said last ----------------------------------------------------------------
def mask(line: str) -> str:
    return SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", line)


def console_tail(text: str, count: int = CONSOLE_LINES) -> list[str]:
    """The last lines worth showing: kernel timestamps dropped, blanks dropped, long lines cut, secrets masked.
    After a kernel panic, the lines up to the panic's own: what follows it is a stack trace."""
    lines = [TIMESTAMP.sub("", line).rstrip() for line in strip_escapes(text).splitlines()]
    lines = [mask(line) for line in lines if line.strip()]
    panics = [number for number, line in enumerate(lines) if PANIC.search(line)]
    if panics:
        lines = lines[:panics[-1] + 1]
    return [line if len(line) <= WIDTH else line[:WIDTH - 3] + "..." for line in lines[-count:]]


def panic_of(text: str) -> str | None:
    """The kernel's panic message ("VFS: Unable to mount root fs on unknown-block(0,0)"), the last one."""
    found = [m.group(1) for m in (PANIC.search(TIMESTAMP.sub("", line)) for line in text.splitlines()) if m]
    return found[-1] if found else None


def stopped_reason(name: str, run: Run, text: str, last_output: float | None) -> str:
    """The sentence for an appliance that Xen started and that is gone now."""
    started = time.strftime("%H:%M:%S", time.localtime(run.started))
    panic = panic_of(text)
    if panic:
        head = f"{name} crashed after it started at {started}: its kernel panicked: {panic}"
    else:
        head = f"{name} stopped after it started at {started}"
    if last_output is not None and last_output >= run.started:
        head += f" (console's last output {last_output - run.started:.0f} s after the start)"
    lines = console_tail(text)
    if not lines:
        return head + ". Its console printed nothing."
    return head + f". Its console's last lines:\n" + "\n".join(f"  {line}" for line in lines)


def why_not_running(name: str, runs: Path | None = None, console_logs: Path | None = None) -> str | None:
    """What to show for an appliance that is not running: None if it was not started this boot."""
    run = read_run(name, runs)
    if run is None:
        return None
    if run.refused:
        at = time.strftime("%H:%M:%S", time.localtime(run.started))
        return f"The start at {at} failed. {run.refused}"
    return last_words(name, run, console_logs)


def last_words(name: str, run: Run, console_logs: Path | None = None) -> str:
    log = console_log(name, console_logs)
    try:
        last_output = log.stat().st_mtime
        text = last_lines(log, 200, chunk=16 * 1024)     # asked every 2 s for each stopped appliance
    except OSError:
        last_output, text = None, ""
    return stopped_reason(name, run, text, last_output)
