"""A guest's console log (what xenconsoled wrote), the last lines, as plain text: no escape sequence reaches the terminal."""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from rich.text import Text
from textual.widgets import Footer, RichLog

from hypervisor.xen.plain_text import last_lines
from tui.widgets.header import ScreenHeader

LINES = 500


def read_log(name: str, path: Path, count: int = LINES) -> str:
    try:
        text = last_lines(path, count)
    except FileNotFoundError:
        return f"No console log for {name} yet.\nXen writes {path} once the guest has started."
    except OSError as error:
        return f"Could not read {path}: {error.strerror}"
    return text or f"{name}'s console log ({path}) is empty."


class GuestLogScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("u", "reload", "Update"),
    ]

    def __init__(self, name: str, path: Path) -> None:
        super().__init__()
        self.guest = name
        self.path = path

    def compose(self) -> ComposeResult:
        yield ScreenHeader(icon="")
        # Wrapped: a kernel's long lines stay readable at 80 columns without scrolling sideways.
        yield RichLog(wrap=True, markup=False, highlight=False, max_lines=LINES * 4)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"{self.guest}'s console log"
        self.action_reload()

    @work(thread=True, exclusive=True)
    def action_reload(self) -> None:
        text = read_log(self.guest, self.path)
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        log = self.query_one(RichLog)
        log.clear()
        log.write(Text(text), scroll_end=True)
