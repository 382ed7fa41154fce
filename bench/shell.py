"""Run a command in a shell on the serial console and hand back what it printed."""
from __future__ import annotations

import re

DONE = b"BENCH-DONE"
# Xen keeps only 128 bytes of serial input for dom0: a long line typed at once loses
# characters whenever dom0 is busy. Type it a piece at a time.
PIECE = 32
PAUSE = 0.2


class ProbeError(Exception):
    """What a command typed into the machine said was not what was asked for."""


TIMED = re.compile(r"BENCH-TIMED (\S+) ([0-9.]+) ([0-9.]+) (\d+)")


def type_slowly(console, line: str) -> None:
    data = line.encode() + b"\r"
    for start in range(0, len(data), PIECE):
        console.child.send(data[start:start + PIECE])
        console.settle(PAUSE)


def run(console, command: str, timeout: float = 240) -> str:
    """`command` must be one line. Its output is everything up to the end marker, typed echo included.

    The marker is typed as "BENCH""-DONE" so the echo of the typed line never matches it.
    Never type Ctrl-C here: QEMU's `-serial stdio` takes it as its own SIGINT and quits.
    """
    since = len(console.transcript)
    type_slowly(console, f'{command}; echo "BENCH""-DONE"')
    match = console.wait_for_output(DONE, timeout, since)
    return console.transcript[since:since + match.start()].decode(errors="replace")


def run_ok(console, command: str, failed: str, timeout: float = 240) -> str:
    """`run`, failing with a ProbeError that starts with `failed` (and shows the output's tail) unless
    `command` exited 0."""
    said = run(console, f"{command}; echo BENCH-RC $?", timeout)
    if "BENCH-RC 0" not in said:
        raise ProbeError(f"{failed}:\n{said[-1500:]}")
    return said


def seconds(output: str, name: str, command: str = "") -> float:
    """How long the command called `name` took, from its BENCH-TIMED line in `output`; fails loudly if it
    failed or never said."""
    found = [m for m in TIMED.finditer(output) if m.group(1) == name]
    if not found:
        raise ProbeError(f"{name}: no timing line in:\n{output[-1500:]}")
    _, start, end, code = found[-1].groups()
    if code != "0":
        raise ProbeError(f"{name}: `{command or name}` failed (exit {code}):\n{output[-1500:]}")
    return float(end) - float(start)


def timed(console, name: str, command: str, timeout: float = 900) -> float:
    """Seconds `command` took by the clock of the shell's own machine (/proc/uptime, 10 ms steps), read
    on each side of it: dom0's, or a guest's when its console is attached."""
    line = (f"t0=$(cut -d' ' -f1 /proc/uptime); {command}; rc=$?; t1=$(cut -d' ' -f1 /proc/uptime); "
            f"echo BENCH-TIMED {name} $t0 $t1 $rc")
    return seconds(run(console, line, timeout), name, command)
