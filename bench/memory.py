"""dom0's memory with its userland running: /proc/meminfo and the Pss of every process.

Used is MemTotal - MemAvailable (what the kernel could not hand out without
swapping: kernel, tmpfs, process memory). Userland is the sum of Pss over all
processes with an address space (kernel threads have none), so shared pages are
counted once. The shell the benchmark types into is counted, in both runs alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bench import shell
from bench.shell import ProbeError  # noqa: F401  (bench's modules import it from here)

# Shell builtins only, but one `cat` per process: under TCG, with dom0 busy, every
# fork costs. Kernel threads have an empty smaps_rollup and are skipped. The
# markers are typed split ("BENCH""-", %s-) so the echo of the typed line never matches.
COMMAND = (
    "while read -r k v u; do echo \"BENCH\"\"-MEMINFO $k $v\"; done </proc/meminfo; "
    "cd /proc; for d in [0-9]*; do p=; "
    "while read -r k v u; do [ \"$k\" = Pss: ] && p=$v; done <$d/smaps_rollup; "
    "[ -n \"$p\" ] && read -r c <$d/comm && printf '%s-PROC %s %s %s :: ' BENCH $d $p \"$c\" "
    "&& /bin/busybox cat $d/cmdline && echo; "
    "done 2>/dev/null; cd /"
)
MEMINFO = re.compile(r"BENCH-MEMINFO (\S+): (\d+)")
PROC = re.compile(r"BENCH-PROC (\d+) (\d+) (.*?) :: ([^\r\n]*)")


@dataclass(frozen=True)
class Process:
    pid: int
    pss_kib: int
    name: str
    command: str


@dataclass(frozen=True)
class Memory:
    meminfo: dict[str, int]             # /proc/meminfo, kB
    processes: list[Process] = field(default_factory=list)

    @property
    def total_kib(self) -> int:
        return self.meminfo["MemTotal"]

    @property
    def available_kib(self) -> int:
        return self.meminfo["MemAvailable"]

    @property
    def used_kib(self) -> int:
        return self.total_kib - self.available_kib

    @property
    def userland_pss_kib(self) -> int:
        return sum(p.pss_kib for p in self.processes)

    def largest(self, count: int) -> list[Process]:
        return sorted(self.processes, key=lambda p: -p.pss_kib)[:count]


def parse(output: str) -> Memory:
    meminfo = {key: int(kib) for key, kib in MEMINFO.findall(output)}
    if "MemTotal" not in meminfo or "MemAvailable" not in meminfo:
        raise ProbeError(f"no MemTotal/MemAvailable in the shell's output:\n{output[-2000:]}")
    output = output.replace("\0", " ")        # /proc/PID/cmdline separates arguments with NULs
    processes = [Process(int(pid), int(pss), name.strip(), command.strip())
                 for pid, pss, name, command in PROC.findall(output)]
    if not processes:
        raise ProbeError(f"no process Pss in the shell's output:\n{output[-2000:]}")
    return Memory(meminfo, processes)


def measure(console) -> Memory:
    return parse(shell.run(console, COMMAND))
