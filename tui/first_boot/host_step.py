"""Step 1: the host as Xen sees it (the overview's own panel, HVM line included), and what the steps ahead do."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from hypervisor.host.summary import host_summary
from hypervisor.runner import CommandError, ParseError
from hypervisor.xen.xl import Xl
from tui.first_boot.step import Step
from tui.widgets.host_panel import HostPanel

WELCOME = ("This host has no settings yet. The next steps set up its network, the data store that keeps "
           "settings and guests across reboots, and the console password. Nothing is written before the "
           "last step, where you review it all.\n"
           "n or Enter: next step   b: back   Esc: set up later")


class HostStep(Step):
    TITLE = "Host"

    def __init__(self, xl: Xl) -> None:
        super().__init__(id="host")
        self.xl = xl

    def compose(self) -> ComposeResult:
        yield HostPanel()
        yield Static(WELCOME, classes="help")

    def on_mount(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="first-boot-host", exit_on_error=False)
    def _read(self) -> None:
        panel = self.query_one(HostPanel)
        try:
            host = host_summary(self.xl)
        except (CommandError, ParseError) as error:
            message = error.sentence if isinstance(error, CommandError) else str(error)
            self.app.call_from_thread(panel.show_problem, message)
            return
        self.app.call_from_thread(panel.show, host)
