"""After a network change: keep it, or go back by itself if nobody answers (ESXi's way).

A change that cuts the operator off (a wrong address on a remote serial server, a
gateway elsewhere) cannot be confirmed from a console that no longer answers, so
silence means "go back".
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

CONFIRM_SECONDS = 60


class KeepOrRevert(ModalScreen[bool]):
    DEFAULT_CSS = """
    KeepOrRevert { align: center middle; }
    KeepOrRevert > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: solid $warning; background: $surface;
    }
    KeepOrRevert .keys { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Keep"),
        Binding("n", "answer(False)", "Go back"),
        Binding("escape", "answer(False)", "Go back", show=False),
    ]

    def __init__(self, what: str, seconds: int = CONFIRM_SECONDS) -> None:
        super().__init__()
        self.what = what
        self.left = seconds

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"The new network settings are in force: {self.what}")
            yield Static("", id="countdown")
            yield Static("y = keep them    n = go back now", classes="keys")

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1, self._tick)

    def _tick(self) -> None:
        if self.left <= 0:
            self.dismiss(False)
            return
        self.query_one("#countdown", Static).update(
            f"Keep them? Without an answer they go back in {self.left} s.")
        self.left -= 1

    def action_answer(self, keep: bool) -> None:
        self.dismiss(keep)
