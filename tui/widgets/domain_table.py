"""The running domains, refreshed live: name, id, state, vCPUs, memory, CPU %."""
from __future__ import annotations

from textual.widgets import DataTable

from hypervisor.xl import Domain

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


class DomainTable(DataTable):
    DEFAULT_CSS = """
    DomainTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    """

    def on_mount(self) -> None:
        self.border_title = "Domains"
        self.cursor_type = "row"
        self.add_columns(*COLUMNS)

    def show(self, domains: list[Domain], cpu: dict[int, float | None]) -> None:
        selected = self.cursor_row
        self.clear()
        for domain in domains:
            self.add_row(*row(domain, cpu.get(domain.domid)), key=str(domain.domid))
        if domains:
            self.move_cursor(row=min(selected, len(domains) - 1))
