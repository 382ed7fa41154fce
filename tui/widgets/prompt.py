"""A one-line question: Enter accepts, Escape cancels.

`read` turns the typed text into the value handed back, or raises Invalid; the
prompt then stays open and says why, so the person can correct it.
"""
from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.invalid import Invalid


def _text(typed: str) -> str:
    if not typed:
        raise Invalid("type something, or press Escape to cancel")
    return typed


class Prompt(ModalScreen[Any]):
    DEFAULT_CSS = """
    Prompt { align: center middle; }
    Prompt > Vertical {
        width: 76; max-width: 100%; height: auto; padding: 0 1;
        border: solid $primary; background: $surface;
    }
    /* single-line box: the VGA console font has no glyphs for Input's default "tall" border */
    Prompt Input, Prompt Input:focus { margin-top: 1; border: solid $accent; }
    Prompt #problem { color: $error; text-style: bold; }
    Prompt .keys { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "",
                 read: Callable[[str], Any] = _text, password: bool = False) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.read = read
        self.password = password        # typed characters are not shown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question))
            yield Input(self.value, placeholder=self.placeholder, password=self.password)
            yield Static("", id="problem")
            yield Static("Enter = accept    Esc = cancel", classes="keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = self.read(event.value if self.password else event.value.strip())
        except Invalid as problem:
            self.query_one("#problem", Static).update(Text(str(problem)))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
