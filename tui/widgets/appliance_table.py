"""The appliances table: rows keyed by name, cells changed in place so the cursor stays put.

A refresh only rewrites the cells whose text changed; rows are rebuilt only when
the set or order of appliances changed, and then the cursor goes back to the
appliance it was on.
"""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.screens.appliance_rows import COLUMNS, ApplianceRow, cells

STATE_STYLES = {"running": "green", "paused": "yellow", "broken": "bold red", "crashed": "bold red"}


def _cell(key: str, value: str) -> Text:
    style = STATE_STYLES.get(value, "") if key == "state" else ""
    return Text(value, style=style, no_wrap=True, overflow="ellipsis")   # Text: never read as markup


class ApplianceTable(DataTable):
    DEFAULT_CSS = """
    ApplianceTable {
        height: 1fr; border: solid $primary; border-title-color: $text;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False)
        self._names: list[str] = []
        self._shown: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        self.border_title = "Appliances"
        for key, heading, width in COLUMNS:
            self.add_column(heading, width=width, key=key)

    @property
    def selected_name(self) -> str | None:
        if not self._names or not 0 <= self.cursor_row < len(self._names):
            return None
        return self._names[self.cursor_row]

    def select(self, name: str) -> None:
        if name in self._names:
            self.move_cursor(row=self._names.index(name), scroll=True)

    def show(self, rows: list[ApplianceRow], follow: str | None = None) -> None:
        """Show the rows; keep the cursor on `follow` (default: the appliance selected now)."""
        follow = follow or self.selected_name
        position = self.cursor_row
        names = [row.name for row in rows]
        if names != self._names:
            self._rebuild(rows, names)
            if follow not in names and names:
                self.move_cursor(row=min(position, len(names) - 1))    # it went away: stay near
        else:
            self._update(rows)
        if follow in names and follow != self.selected_name:
            self.select(follow)

    def _rebuild(self, rows: list[ApplianceRow], names: list[str]) -> None:
        self.clear()
        self._shown = {}
        self._names = names
        for row in rows:
            text = cells(row)
            self.add_row(*(_cell(key, value) for (key, _, _), value in zip(COLUMNS, text)), key=row.name)
            self._shown[row.name] = text

    def _update(self, rows: list[ApplianceRow]) -> None:
        for row in rows:
            text, before = cells(row), self._shown[row.name]
            if text == before:
                continue
            for (key, _, _), value, old in zip(COLUMNS, text, before):
                if value != old:
                    self.update_cell(row.name, key, _cell(key, value))
            self._shown[row.name] = text
