"""The figures side by side: a table for a person, bench.json for a program. No verdicts."""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.guest import DirectBoot
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
    limit: float | None = None          # the target as a number, where it is one: met when xenbox <= limit
    baseline: str = "floor"             # what the floor column holds, when it is not the floor
    at_least: bool = False              # a rate: met when xenbox >= limit

    @property
    def met(self) -> bool | None:
        if self.limit is None or self.xenbox is None:
            return None
        return self.xenbox >= self.limit if self.at_least else self.xenbox <= self.limit

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
              target: str = "", limit: float | None = None) -> list[Figure]:
    rows = [Figure(group, prefix + m.key, m.label, "s", floor_times.get(m.key), xenbox_times.get(m.key))
            for m in milestones]
    rows.append(Figure(group, prefix + "init_to_ready", "dom0 /init -> console ready", "s",
                       _minus(floor_times["ready"], floor_times["init"]),
                       _minus(xenbox_times["ready"], xenbox_times["init"]), target, limit))
    return rows


def figures(floor: Run, xenbox: Run, floor_iso_bytes: int, xenbox_iso_bytes: int) -> list[Figure]:
    milestones = xenbox.milestones      # the floor's are a subset
    rows = _timeline("Timeline, wall clock (s after QEMU started)", "",
                     milestones, floor.times, xenbox.times, "<= 6 s", 6.0)
    rows += _timeline("Timeline, QEMU's CPU time (s it had used by then)", "cpu_",
                      milestones, floor.cpu_times, xenbox.cpu_times)
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


GUEST = ("First autostart appliance (sample-web) answers HTTP, s; baseline: the same guest kernel and\n"
         "  initramfs booted by QEMU TCG alone, no Xen, from QEMU's start")
REFRESH = ("Appliances screen, one refresh (xl list, CPU meter, cached catalog, rows), dom0 CPU ms of process + xl;\n"
           "  baseline: {base}, XenBox column: {many} appliances, same boot, mean of {count} refreshes")


def _appliances(count: int) -> str:
    return "1 appliance" if count == 1 else f"{count} appliances"


def _refresh(run: Run, count: int):
    return next((r for r in run.refreshes if r.appliances == count), None)


def appliance_figures(xenbox: Run, alone: DirectBoot | None, counts: tuple[int, int]) -> list[Figure]:
    """Issue 3's two appliance targets, each beside a baseline measured in the same run."""
    guest = xenbox.guest
    http = guest.http_s if guest else None
    ready = xenbox.times.get("ready")
    rows = [
        Figure(GUEST, "guest_http_after_ready", "console ready -> HTTP answer", "s",
               alone.http_s if alone else None, _minus(http, ready), "<= 15 s", 15.0,
               "guest alone: QEMU start -> HTTP answer"),
        Figure(GUEST, "guest_http_cpu_after_ready", "  the same in QEMU's CPU s", "s",
               alone.http_cpu_s if alone else None,
               _minus(guest.http_cpu_s if guest else None, xenbox.cpu_times.get("ready")),
               baseline="guest alone: QEMU start -> HTTP answer, QEMU CPU s"),
        Figure(GUEST, "guest_started_after_ready", "  console ready -> guest started", "s",
               None, _minus(guest.started_s if guest else None, ready), baseline=""),
        Figure(GUEST, "guest_http", "QEMU start -> HTTP answer", "s",
               alone.http_s if alone else None, http, baseline="guest alone: QEMU start -> HTTP answer"),
    ]
    few, many = _refresh(xenbox, counts[0]), _refresh(xenbox, counts[1])
    group = REFRESH.format(base=_appliances(counts[0]), many=many.appliances if many else counts[1],
                           count=many.refreshes if many else "-")
    base = f"{_appliances(counts[0])}, same boot"

    def row(key: str, label: str, attribute: str, target: str = "", limit: float | None = None) -> Figure:
        return Figure(group, key, label, "ms", getattr(few, attribute) if few else None,
                      getattr(many, attribute) if many else None, target, limit, base)
    rows += [
        row("refresh_cpu_ms", "refresh, catalog cached", "steady_ms", "<= 100 ms", 100.0),
        row("refresh_xl_cpu_ms", "  of which child processes (xl)", "steady_xl_ms"),
        row("refresh_wall_ms", "  wall clock", "steady_wall_ms"),
        row("refresh_first_cpu_ms", "first refresh, manifests read", "first_ms"),
    ]
    return rows


CONSOLE_START = ("Console start in the booted dom0, once idle: a fresh interpreter, headless, 80x24, median of {runs};\n"
                 "  baseline: a one-widget Textual app to its first frame, XenBox column: XenBox's console to its HVM line")


def console_start_figures(xenbox: Run) -> list[Figure]:
    """What any Textual console costs in this dom0 (the baseline) beside what XenBox's console costs."""
    one_widget, console = xenbox.console_starts.get("textual"), xenbox.console_starts.get("xenbox")
    group = CONSOLE_START.format(runs=console.runs if console else "-")

    def row(key: str, label: str, attribute: str) -> Figure:
        return Figure(group, key, label, "s", getattr(one_widget, attribute) if one_widget else None,
                      getattr(console, attribute) if console else None, baseline="one-widget Textual app")
    return [
        row("console_start_interpreter", "interpreter's own start", "start_s"),
        row("console_start_imports", "imports", "import_s"),
        row("console_start_shown", "app start -> frame / HVM line", "shown_s"),
        row("console_start_total", "process created -> shown", "total_s"),
    ]


def console_target(timeline: list[Figure], starts: list[Figure]) -> str:
    """Issue 2's console target in plain words, beside the least a Textual console costs in this dom0."""
    ready = next((row for row in timeline if row.key == "init_to_ready"), None)
    total = next((row for row in starts if row.key == "console_start_total"), None)
    if ready is None or ready.xenbox is None:
        return "Issue 2's console target: console ready not measured"
    line = (f"Issue 2's console target: dom0 /init -> console ready {ready.xenbox:.1f} s against {ready.target}: "
            f"{'met' if ready.met else 'NOT met'}")
    if total is None or total.floor is None or total.xenbox is None:
        return line + "; console start once idle not measured"
    return (f"{line}.\n  Once the boot is over, in the same dom0, a one-widget Textual app takes {total.floor:.1f} s "
            f"from its process's creation to its first frame,\n  and XenBox's console {total.xenbox:.1f} s to its HVM "
            f"line: the rest of the {ready.xenbox:.1f} s is the initramfs before the console and the boot beside it.")


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


def _target(figure: Figure) -> str:
    if figure.met is None:
        return figure.target
    return f"{figure.target}: {'met' if figure.met else 'NOT met'}"


def table(rows: list[Figure], heading: str, against: str = "floor") -> str:
    versus = f"XenBox vs {against}"
    width = max(18, len(versus) + 2)
    lines = [heading, "", f"{'':40}{against:>9}{'XenBox':>9}   {versus:<{width}}target"]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(group)
        label = f"  {row.label}" + (f" ({row.unit})" if row.unit and row.unit != "s" else "")
        lines.append(f"{label:<40}{_value(row.floor, row.unit):>9}{_value(row.xenbox, row.unit):>9}"
                     f"   {_versus(row):<{width}}{_target(row)}".rstrip())
    return "\n".join(lines)


def verdicts(rows: list[Figure]) -> str:
    """One plain sentence per numeric target: the figure, the target, met or not."""
    lines = []
    for row in rows:
        if row.limit is None:
            continue
        unit = f" {row.unit}" if row.unit else ""
        if row.met is None:
            lines.append(f"  {row.label.strip()}: not measured, so target {row.target} unknown")
        else:
            lines.append(f"  {row.label.strip()}: {_value(row.xenbox, row.unit)}{unit} against {row.target}: "
                         f"{'met' if row.met else 'NOT met'}")
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
        "sample_guest": asdict(run.guest) if run.guest else None,
        "appliances_refresh": [asdict(r) for r in run.refreshes],
        "console_start_idle": {kind: asdict(c) for kind, c in run.console_starts.items()},
    }


def write_json(path: Path, rows: list[Figure], method: dict, isos: dict[str, tuple[Path, int]],
               runs: dict[str, list[Run]], guest_alone: list[DirectBoot | None] = (), extra: dict | None = None) -> None:
    data = {
        "method": method,
        "figures": [{**asdict(row), "floor": _round(row.floor), "xenbox": _round(row.xenbox),
                     "ratio": _round(row.ratio), "delta": _round(row.delta), "met": row.met} for row in rows],
        "runs": {name: [_run_json(run, *isos[name]) for run in each] for name, each in runs.items()},
        "guest_alone": [{**asdict(b), "log": str(b.log)} if b else None for b in guest_alone],
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
