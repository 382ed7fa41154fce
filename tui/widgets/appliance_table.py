"""The appliances table: rows keyed by name, changed in place (see keyed_table.py), the state in colour."""
from __future__ import annotations

from rich.text import Text
from textual.widgets.data_table import ColumnKey

from tui.screens.appliance_rows import COLUMNS, ApplianceRow, cells
from tui.widgets.keyed_table import KeyedTable

STATE_STYLES = {"running": "green", "paused": "yellow", "broken": "bold red", "crashed": "bold red"}


class ApplianceTable(KeyedTable):
    DEFAULT_CSS = """
    ApplianceTable {
        height: 1fr; border: solid $primary; border-title-color: $text;
        scrollbar-size-vertical: 1;
    }
    """

    def on_mount(self) -> None:
        self.border_title = "Appliances"
        for key, heading, width in COLUMNS:
            self.add_column(heading, width=width, key=key)

    def cell(self, column: ColumnKey, text: str) -> Text:
        style = STATE_STYLES.get(text, "") if column == "state" else ""
        return Text(text, style=style, no_wrap=True, overflow="ellipsis")   # Text: never read as markup

    def show(self, rows: list[ApplianceRow], follow: str | None = None) -> None:
        """Show the rows; keep the cursor on `follow` (default: the appliance selected now)."""
        self.show_rows({row.name: cells(row) for row in rows}, follow)
