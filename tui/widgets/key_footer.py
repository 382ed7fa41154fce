"""Textual's footer, wrapped onto more lines when the keys do not fit on one (80 columns over serial)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

CELL_WIDTH = 10     # "X Destroy" and a space: keep key descriptions to 8 characters


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter {
        layout: grid; grid-size: 8; grid-gutter: 0 0;
        height: auto; max-height: 4;
    }
    KeyFooter FooterKey { width: 1fr; }
    """

    def __init__(self, cell_width: int = CELL_WIDTH) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self.cell_width = cell_width

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self._fit(self.app.size.width)      # Footer sets one column per key; give it as many as fit

    def on_resize(self) -> None:
        self._fit(self.size.width)

    def _fit(self, width: int) -> None:
        self.styles.grid_size_columns = max(1, width // self.cell_width)
