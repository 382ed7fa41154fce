"""A table whose rows are keyed (a domain's id, an appliance's name) and refreshed in place.

A refresh rewrites only the cells whose text changed, so the screen redraws little and the
cursor stays put. Rows are rebuilt only when the set or order of keys changed; the cursor then
follows the row it was on, or stays near where it was if that row went away.
"""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


class KeyedTable(DataTable):
    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False)
        self._shown: dict[str, tuple[str, ...]] = {}    # each row's texts; its cells may be styled Text

    def cell(self, column: ColumnKey, text: str) -> str | Text:
        """How one cell's text is drawn; a subclass may style it (as Text: never read as markup)."""
        return text

    @property
    def row_keys(self) -> list[str]:
        return [key.value for key in self.rows]     # in the order shown: these tables are never sorted

    @property
    def selected_key(self) -> str | None:
        keys = self.row_keys
        return keys[self.cursor_row] if 0 <= self.cursor_row < len(keys) else None

    def select(self, key: str) -> None:
        keys = self.row_keys
        if key in keys:
            self.move_cursor(row=keys.index(key), scroll=True)

    def show_rows(self, rows: dict[str, tuple[str, ...]], follow: str | None = None) -> None:
        """Show `rows` (key -> cell texts, in order); keep the cursor on `follow` (default: the row
        selected now)."""
        follow = follow or self.selected_key
        position = self.cursor_row
        keys = list(rows)
        if keys != self.row_keys:
            self._rebuild(rows)
            if follow not in keys and keys:
                self.move_cursor(row=min(position, len(keys) - 1))    # it went away: stay near
        else:
            self._update(rows)
        if follow in keys and follow != self.selected_key:
            self.select(follow)

    def _rebuild(self, rows: dict[str, tuple[str, ...]]) -> None:
        self.clear()
        self._shown = dict(rows)
        for key, texts in rows.items():
            self.add_row(*(self.cell(column, text) for column, text in zip(self.columns, texts)), key=key)

    def _update(self, rows: dict[str, tuple[str, ...]]) -> None:
        for key, texts in rows.items():
            before = self._shown[key]
            if texts == before:
                continue
            for column, text, old in zip(list(self.columns), texts, before):
                if text != old:
                    grow = self.columns[column].auto_width and len(text) > len(old)
                    self.update_cell(key, column, self.cell(column, text), update_width=grow)
            self._shown[key] = texts
