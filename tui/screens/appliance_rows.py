"""What the appliances table shows: the catalog and the running guests merged into rows, without Textual.

Pure functions of what the catalog, `xl list`, the CPU meter and the boot's autostart
status said, so they can be tested without Xen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from hypervisor.appliances.autostart_status import Outcome
from hypervisor.appliances.catalog import Entry
from hypervisor.appliances.manifest import Manifest
from hypervisor.xen.domains import Domain, state_has
from hypervisor.xen.frontends import PvDrivers

# (key, heading, width): 28+8+4+4+6+5+4 = 59 characters plus 2 of padding per column
# = 73, and the table's border and scrollbar still fit in 80 columns.
COLUMNS = (
    ("name", "Name", 28),
    ("state", "State", 8),
    ("id", "ID", 4),
    ("vcpus", "vCPU", 4),
    ("memory", "MiB", 6),
    ("cpu", "CPU%", 5),
    ("autostart", "Auto", 4),
)
STOPPED, BROKEN = "stopped", "broken"


@dataclass(frozen=True)
class ApplianceRow:
    name: str
    state: str                  # running, paused, stopped, broken, or Xen's own (shutdown, crashed, dying)
    domid: int | None           # None when it is not running
    vcpus: int | None
    memory_mib: int | None
    cpu: float | None           # share of the whole host; None until there are two samples
    autostart: bool
    reason: str | None = None   # why it is broken or did not start, in the manifest's or Xen's words
    manifest: Manifest | None = None
    pv_drivers: PvDrivers | None = None     # a running guest's disks and NICs (hypervisor.xen.frontends)

    @property
    def running(self) -> bool:
        return self.domid is not None

    @property
    def max_memory_mib(self) -> int | None:
        return self.manifest.memory.maximum_mib if self.manifest else None

    @property
    def max_vcpus(self) -> int | None:
        return self.manifest.vcpus.maximum if self.manifest else None


def display_state(domain: Domain | None, broken: bool) -> str:
    """`xl list` already reads blocked as running; add stopped and broken for what is not running."""
    if domain is None:
        return BROKEN if broken else STOPPED
    return domain.state


def reason_for(entry: Entry | None, domain: Domain | None, failed: Outcome | None,
               why: str | None = None) -> str | None:
    """`why` is what the appliance's last start this boot left (hypervisor.appliances.why_stopped): why
    it failed, or its console's last lines."""
    if entry is not None and entry.problem:
        return entry.problem
    if domain is not None and state_has(domain.state, "crashed"):
        crashed = f"{domain.name} crashed; its on_crash policy decides what Xen does next."
        return f"{crashed}\n{why}" if why else crashed
    if domain is None and why:
        return why
    if domain is None and failed is not None:
        return f"Autostart did not start it at boot: {failed.reason}"
    return None


def build_rows(entries: Sequence[Entry], domains: Sequence[Domain], cpu: dict[int, float | None],
               outcomes: Sequence[Outcome] = (),
               why: Callable[[str], str | None] = lambda name: None,
               drivers: dict[int, PvDrivers] | None = None) -> list[ApplianceRow]:
    """Every appliance of the catalog (by name), then running guests the catalog does not know; never dom0.
    `why(name)` says what an appliance's last start left, asked only for one that is not running or crashed;
    `drivers` are the running guests' PV frontends by domid."""
    drivers = drivers or {}
    running = {d.name: d for d in domains if d.domid != 0}
    failed = {o.name: o for o in outcomes if not o.started}
    rows = []
    for entry in entries:
        domain = running.pop(entry.name, None)
        asked = domain is None or state_has(domain.state, "crashed")
        rows.append(_row(entry, domain, cpu, failed.get(entry.name), why(entry.name) if asked else None, drivers))
    rows.extend(_row(None, domain, cpu, None, None, drivers) for domain in running.values())
    return rows


def _row(entry: Entry | None, domain: Domain | None, cpu: dict[int, float | None],
         failed: Outcome | None, why: str | None = None,
         drivers: dict[int, PvDrivers] | None = None) -> ApplianceRow:
    manifest = entry.manifest if entry else None
    if domain is not None:
        vcpus, memory = domain.vcpus, domain.memory_mib
    else:
        vcpus = manifest.vcpus.initial if manifest else None
        memory = manifest.memory.initial_mib if manifest else None
    return ApplianceRow(
        name=entry.name if entry else domain.name,
        state=display_state(domain, broken=bool(entry and entry.problem)),
        domid=domain.domid if domain else None,
        vcpus=vcpus,
        memory_mib=memory,
        cpu=cpu.get(domain.domid) if domain else None,
        autostart=bool(entry and entry.autostart),
        reason=reason_for(entry, domain, failed, why),
        manifest=manifest,
        pv_drivers=(drivers or {}).get(domain.domid) if domain else None,
    )


def cells(row: ApplianceRow) -> tuple[str, ...]:
    """The row as the table's text, column by column (see COLUMNS)."""
    def number(value: int | None) -> str:
        return "-" if value is None else str(value)
    if not row.running:
        cpu = "-"
    else:
        cpu = "..." if row.cpu is None else f"{row.cpu:.1f}"
    return (row.name, row.state, number(row.domid), number(row.vcpus), number(row.memory_mib), cpu,
            "yes" if row.autostart else "no")


def summary(rows: Sequence[ApplianceRow]) -> str:
    """One line for the status bar: "3 appliances: 1 running, 1 paused, 1 broken"."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items(), key=lambda c: -c[1]))
    return f"{len(rows)} appliance{'s' if len(rows) != 1 else ''}" + (f": {states}" if states else "")
