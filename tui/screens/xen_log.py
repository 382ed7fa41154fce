"""Xen's own log (`xl dmesg`), newest at the bottom."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log

from hypervisor.runner import CommandError
from hypervisor.xen.xl import Xl
from tui.widgets.header import ScreenHeader


class XenLogScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("u", "reload", "Update"),
    ]

    def __init__(self, xl: Xl) -> None:
        super().__init__()
        self.xl = xl

    def compose(self) -> ComposeResult:
        yield ScreenHeader(icon="")
        yield Log(highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Xen log"
        self.action_reload()

    @work(thread=True, exclusive=True)
    def action_reload(self) -> None:
        try:
            text = self.xl.dmesg()
        except CommandError as error:
            text = f"Could not read Xen's log: {error.sentence}"
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write(text)
