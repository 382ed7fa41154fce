"""A console's start in the booted dom0, idle: XenBox's console app beside a one-widget Textual app.

At boot the console is ready some seconds after dom0's /init; how many of them any
Textual console would take in this dom0 anyway is measured here, after the boot has
settled: bench/probes/console_start.py is typed into a shell on the console and run,
alternately for the one-widget app and for XenBox's console, each in a fresh interpreter.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench import shell
from bench.memory import ProbeError
from bench.refresh import heredoc, without_docstring

PROBE = Path(__file__).resolve().parent / "probes" / "console_start.py"
REMOTE = "/tmp/bench-console-start.py"
KINDS = ("textual", "xenbox")       # the baseline first
RUNS = 3                            # of each, alternating
RESULT = re.compile(r"BENCH-START kind=(\w+) start_ms=(-?\d+) import_ms=(\d+) shown_ms=(\d+)")


@dataclass(frozen=True)
class ConsoleStart:
    kind: str
    runs: int
    start_s: float          # process created -> the probe's first line: the interpreter's own start
    import_s: float         # the probe's first line -> the app made
    shown_s: float          # the app's start -> first frame (textual) or the HVM line (xenbox)

    @property
    def total_s(self) -> float:
        return self.start_s + self.import_s + self.shown_s


def parse(output: str) -> dict[str, ConsoleStart]:
    """The median of each kind's runs."""
    found: dict[str, list[tuple[float, float, float]]] = {}
    for kind, start, imported, shown in RESULT.findall(output):
        found.setdefault(kind, []).append((int(start) / 1000, int(imported) / 1000, int(shown) / 1000))
    missing = [kind for kind in KINDS if kind not in found]
    if missing:
        raise ProbeError(f"no BENCH-START line for {', '.join(missing)} in the probe's output:\n{output[-2000:]}")
    return {kind: ConsoleStart(kind, len(runs), *(statistics.median(column) for column in zip(*runs)))
            for kind, runs in found.items()}


def measure(console, runs: int = RUNS) -> dict[str, ConsoleStart]:
    for line in heredoc(without_docstring(PROBE.read_text()), REMOTE):
        shell.type_slowly(console, line)
    one_each = "; ".join(f"python3 {REMOTE} {kind}" for kind in KINDS)
    command = (f"export PYTHONPATH=/usr/lib/xenbox/python; "
               f"for run in {' '.join(str(n) for n in range(1, runs + 1))}; do {one_each}; done")
    return parse(shell.run(console, command, timeout=600))
