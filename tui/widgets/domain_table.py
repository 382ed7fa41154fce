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
        rows = {str(domain.domid): row(domain, cpu.get(domain.domid)) for domain in domains}
        if list(rows) == [key.value for key in self.rows]:
            self._change_cells(rows)        # the same domains: only the cells that changed are redrawn
            return
        selected = self.cursor_row
        self.clear()
        for key, cells in rows.items():
            self.add_row(*cells, key=key)
        if domains:
            self.move_cursor(row=min(selected, len(domains) - 1))

    def _change_cells(self, rows: dict[str, tuple[str, ...]]) -> None:
        columns = list(self.columns)
        for key, cells in rows.items():
            for column, (old, new) in zip(columns, zip(self.get_row(key), cells)):
                if old != new:
                    self.update_cell(key, column, new, update_width=len(new) > len(old))
