"""The figures side by side: a table for a person, bench.json for a program. No verdicts."""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.measure import Run

MIB = 1024 * 1024


@dataclass(frozen=True)
class Figure:
    group: str
    key: str
    label: str
    unit: str
    floor: float | None
    xenbox: float | None
    target: str = ""                    # informational: printed beside the figure, never checked

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.xenbox is None or self.floor == 0:
            return None
        return self.xenbox / self.floor

    @property
    def delta(self) -> float | None:
        if self.floor is None or self.xenbox is None:
            return None
        return self.xenbox - self.floor


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _timeline(group: str, prefix: str, milestones: list, floor_times: dict, xenbox_times: dict,
              target: str) -> list[Figure]:
    rows = [Figure(group, prefix + m.key, m.label, "s", floor_times.get(m.key), xenbox_times.get(m.key))
            for m in milestones]
    rows.append(Figure(group, prefix + "init_to_ready", "dom0 /init -> console ready", "s",
                       _minus(floor_times["ready"], floor_times["init"]),
                       _minus(xenbox_times["ready"], xenbox_times["init"]), target))
    return rows


def figures(floor: Run, xenbox: Run, floor_iso_bytes: int, xenbox_iso_bytes: int) -> list[Figure]:
    milestones = xenbox.milestones      # the floor's are a subset
    rows = _timeline("Timeline, wall clock (s after QEMU started)", "",
                     milestones, floor.times, xenbox.times, "<= 6 s")
    rows += _timeline("Timeline, QEMU's CPU time (s it had used by then)", "cpu_",
                      milestones, floor.cpu_times, xenbox.cpu_times, "")
    clocks = "Their own clocks (s after Xen's timer / the kernel started)"
    rows += [
        Figure(clocks, "xen_dom0_start", "Xen: dom0 kernel started", "s", floor.xen_dom0_start, xenbox.xen_dom0_start),
        Figure(clocks, "kernel_init", "kernel: /init started", "s", floor.kernel_init, xenbox.kernel_init),
    ]
    size = "Size"
    rows.append(Figure(size, "iso", "ISO", "MiB", floor_iso_bytes / MIB, xenbox_iso_bytes / MIB, "<= 200 MiB"))
    memory = "dom0 memory, console running"
    rows += [
        Figure(memory, "used", "used: MemTotal - MemAvailable", "MiB",
               floor.memory.used_kib / 1024, xenbox.memory.used_kib / 1024),
        Figure(memory, "shmem", "  of which tmpfs/shared (Shmem)", "MiB",
               floor.memory.meminfo.get("Shmem", 0) / 1024, xenbox.memory.meminfo.get("Shmem", 0) / 1024),
        Figure(memory, "userland_pss", "userland: sum of Pss", "MiB",
               floor.memory.userland_pss_kib / 1024, xenbox.memory.userland_pss_kib / 1024, "<= 150 MiB"),
        Figure(memory, "processes", "userland processes", "", len(floor.memory.processes),
               len(xenbox.memory.processes)),
    ]
    return rows


def median(rounds: list[list[Figure]]) -> list[Figure]:
    """Each figure's median over the rounds (the rounds list the same figures in the same order)."""
    def mid(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None
    return [replace(first, floor=mid([r[i].floor for r in rounds]), xenbox=mid([r[i].xenbox for r in rounds]))
            for i, first in enumerate(rounds[0])]


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if unit == "" else f"{value:.1f}"


def _versus(figure: Figure) -> str:
    if figure.delta is None:
        return "-"
    delta = f"{figure.delta:+.0f}" if figure.unit == "" else f"{figure.delta:+.1f}"
    if figure.ratio is None:
        return delta
    return f"x{figure.ratio:.2f} ({delta})" if figure.ratio < 10 else f"x{figure.ratio:.0f} ({delta})"


def table(rows: list[Figure], heading: str) -> str:
    lines = [heading, "", f"{'':40}{'floor':>9}{'XenBox':>9}   {'XenBox vs floor':<18}target"]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(group)
        label = f"  {row.label}" + (f" ({row.unit})" if row.unit and row.unit != "s" else "")
        lines.append(f"{label:<40}{_value(row.floor, row.unit):>9}{_value(row.xenbox, row.unit):>9}"
                     f"   {_versus(row):<18}{row.target}".rstrip())
    return "\n".join(lines)


def largest(run: Run, count: int = 6) -> str:
    return "\n".join(f"  {p.pss_kib / 1024:6.1f}  {p.command or p.name}"[:100] for p in run.memory.largest(count))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _run_json(run: Run, iso: Path, iso_bytes: int) -> dict:
    return {
        "iso": str(iso), "iso_bytes": iso_bytes, "serial_log": str(run.log),
        "times_s": {key: _round(value) for key, value in run.times.items()},
        "qemu_cpu_s": {key: _round(value) for key, value in run.cpu_times.items()},
        "xen_clock_dom0_start_s": run.xen_dom0_start, "kernel_clock_init_s": run.kernel_init,
        "memory_kib": {"used": run.memory.used_kib, "userland_pss": run.memory.userland_pss_kib},
        "meminfo_kib": run.memory.meminfo,
        "processes": [asdict(p) for p in run.memory.processes],
    }


def write_json(path: Path, rows: list[Figure], method: dict, isos: dict[str, tuple[Path, int]],
               runs: dict[str, list[Run]]) -> None:
    data = {
        "method": method,
        "figures": [{**asdict(row), "floor": _round(row.floor), "xenbox": _round(row.xenbox),
                     "ratio": _round(row.ratio), "delta": _round(row.delta)} for row in rows],
        "runs": {name: [_run_json(run, *isos[name]) for run in each] for name, each in runs.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
