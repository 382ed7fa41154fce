"""The first screen: the host and its running domains, refreshed every two seconds."""
from __future__ import annotations

import time
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from hypervisor.capabilities import HvmSupport
from hypervisor.host import HostSummary, host_summary
from hypervisor.runner import CommandError
from hypervisor.xl import CpuMeter, Domain, ParseError, Xl
from tui.widgets.domain_table import DomainTable
from tui.widgets.host_panel import HostPanel

REFRESH_SECONDS = 2.0


@dataclass
class Snapshot:
    host: HostSummary
    domains: list[Domain]
    cpu: dict[int, float | None]


class OverviewScreen(Screen):
    DEFAULT_CSS = """
    #status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, xl: Xl) -> None:
        super().__init__()
        self.xl = xl
        self.meter: CpuMeter | None = None
        self.hvm: HvmSupport | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True, icon="")
        yield HostPanel()
        yield DomainTable()
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_snapshot()
        self.set_interval(REFRESH_SECONDS, self.refresh_snapshot)

    @work(thread=True, exclusive=True, group="overview")
    def refresh_snapshot(self) -> None:
        try:
            host = host_summary(self.xl, self.hvm)
            self.hvm = host.hvm
            domains = self.xl.domains()
        except (CommandError, ParseError) as error:
            message = error.sentence if isinstance(error, CommandError) else str(error)
            self.app.call_from_thread(self.query_one(HostPanel).show_problem, message)
            return
        if self.meter is None:
            self.meter = CpuMeter(host.cores)
        cpu = self.meter.sample(domains, time.monotonic())
        self.app.call_from_thread(self.show, Snapshot(host, domains, cpu))

    def show(self, snapshot: Snapshot) -> None:
        self.query_one(HostPanel).show(snapshot.host)
        self.query_one(DomainTable).show(snapshot.domains, snapshot.cpu)
        self.query_one("#status", Static).update(
            f"{len(snapshot.domains)} domains - updated {time.strftime('%H:%M:%S')}")
