"""The running domains, refreshed live: name, id, state, vCPUs, memory, CPU %."""
from __future__ import annotations

from hypervisor.xen.domains import Domain
from tui.widgets.keyed_table import KeyedTable

COLUMNS = ("Name", "ID", "State", "vCPUs", "Memory", "CPU %")


def row(domain: Domain, cpu: float | None) -> tuple[str, ...]:
    return (
        domain.name,
        str(domain.domid),
        domain.state,
        str(domain.vcpus),
        f"{domain.memory_mib} MiB",
        "..." if cpu is None else f"{cpu:5.1f}",
    )


class DomainTable(KeyedTable):
    DEFAULT_CSS = """
    DomainTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    """

    def on_mount(self) -> None:
        self.border_title = "Domains"
        self.add_columns(*COLUMNS)

    def show(self, domains: list[Domain], cpu: dict[int, float | None]) -> None:
        self.show_rows({str(domain.domid): row(domain, cpu.get(domain.domid)) for domain in domains})
