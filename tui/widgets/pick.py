"""One of a list, by its arrow keys and Enter (Escape cancels): the list in groups, each under its heading.

Fits 80x24: at most 14 lines of the list show at once, the rest scrolls.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class Pick(ModalScreen[str]):
    DEFAULT_CSS = """
    Pick { align: center middle; }
    Pick > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 22; padding: 0 1;
        border: solid $primary; background: $surface;
    }
    Pick OptionList, Pick OptionList:focus { height: auto; max-height: 14; border: none; margin-top: 1; }
    Pick .keys { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, groups: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """`groups`: (heading, [(what is shown, the value handed back)]) in the order shown."""
        super().__init__()
        self.question = question
        self.groups = groups

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        for heading, items in self.groups:
            options.append(Option(Text(heading, style="bold"), disabled=True))
            options += [Option(Text(f"  {shown}"), id=value) for shown, value in items]
        with Vertical():
            yield Static(Text(self.question))
            yield OptionList(*options)
            yield Static("Up/Down = choose    Enter = take it    Esc = cancel", classes="keys")

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        listing.focus()
        listing.highlighted = next((i for i, option in enumerate(listing.options) if not option.disabled), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def shown(self) -> list[str]:
        """Each line of the list as it reads (headings too), for tests and screenshots."""
        listing = self.query_one(OptionList)
        return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
