"""The Appliances screen's refresh, in dom0's CPU milliseconds, with 1 and with 50 appliances defined.

bench/probes/refresh_cpu.py is typed into a shell on the console as a heredoc (the
image need not ship it, so any ISO can be measured), then run with dom0's Python.
Both counts are measured in the same boot, one after the other, by one process.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bench import shell
from bench.memory import ProbeError

PROBE = Path(__file__).resolve().parent / "probes" / "refresh_cpu.py"
REMOTE = "/tmp/bench-refresh.py"
COUNTS = (1, 50)            # the baseline first
REFRESHES = 10
RESULT = re.compile(r"BENCH-REFRESH n=(\d+) broken=(\d+) refreshes=(\d+) steady_ms=([0-9.]+) "
                    r"steady_xl_ms=([0-9.]+) first_ms=([0-9.]+) steady_wall_ms=([0-9.]+)")


@dataclass(frozen=True)
class Refresh:
    appliances: int             # rows on the screen
    broken: int
    refreshes: int
    steady_ms: float            # CPU per refresh, catalog cached (mean), process + xl
    steady_xl_ms: float         #   of which in child processes (`xl list`)
    first_ms: float             # CPU of the screen's first refresh: every manifest read, xl info too
    steady_wall_ms: float


def parse(output: str) -> list[Refresh]:
    found = [Refresh(int(n), int(broken), int(count), float(steady), float(xl), float(first), float(wall))
             for n, broken, count, steady, xl, first, wall in RESULT.findall(output)]
    if not found:
        raise ProbeError(f"no BENCH-REFRESH line in the probe's output:\n{output[-2000:]}")
    refused = next((r for r in found if r.broken), None)
    if refused:     # a catalog of refused manifests is cheaper to list than the screen's: no figure
        raise ProbeError(f"the catalog refused {refused.broken} of the {refused.appliances} appliances the probe "
                         f"defined: fix copy_manifest in {PROBE.name} for the sample's manifest")
    return found


def heredoc(script: str, path: str, end: str = "BENCH_EOF") -> list[str]:
    """The lines that write `script` to `path` from an interactive shell (quoted: nothing expands)."""
    lines = script.splitlines()
    if any("\t" in line or line == end for line in lines):
        raise ValueError("the probe holds a tab or the heredoc's end marker: it would not arrive intact")
    return [f"cat > {path} <<'{end}'", *lines, end]


def without_docstring(script: str) -> str:
    """The script minus its module docstring: every byte typed over serial costs time."""
    if not script.startswith('"""'):
        return script
    end = script.index('"""', 3) + 3
    return script[end:].lstrip("\n")


def measure(console, counts: tuple[int, ...] = COUNTS, refreshes: int = REFRESHES) -> list[Refresh]:
    for line in heredoc(without_docstring(PROBE.read_text()), REMOTE):
        shell.type_slowly(console, line)
    argv = " ".join(str(n) for n in (refreshes, *counts))
    output = shell.run(console, f"PYTHONPATH=/usr/lib/xenbox/python python3 {REMOTE} {argv}", timeout=600)
    return parse(output)
