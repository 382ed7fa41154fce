"""The first screen: the host, its running domains, and what the boot could not use or start, refreshed every two seconds."""
from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Static

from hypervisor.appliances.autostart_status import Outcome, read_status
from hypervisor.host.boot_problems import BootProblem, read_problems
from hypervisor.host.summary import HostSummary, host_summary
from hypervisor.runner import CommandError, ParseError
from hypervisor.xen.domains import CpuMeter, Domain
from hypervisor.xen.xl import Xl
from tui.widgets.autostart_panel import AutostartPanel
from tui.widgets.domain_table import DomainTable
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.host_panel import HostPanel
from tui.widgets.key_footer import KeyFooter

REFRESH_SECONDS = 2.0
OVERVIEW_KEY_WIDTH = 13      # "a Appliances" and a space
STORE_SECONDS = 30.0        # LVM scans every disk: the data store line is read less often
APPLIANCES = "appliances"
# The screens behind the keys are imported when first opened, not here: the console's
# first frame at boot waits on every import, seconds of them under emulation.


@dataclass
class Snapshot:
    host: HostSummary
    domains: list[Domain]
    cpu: dict[int, float | None]
    autostart: list[Outcome]
    boot_problems: list[BootProblem]


class OverviewScreen(ClockedScreen):
    DEFAULT_CSS = """
    #status { height: 1; padding: 0 1; color: $text-muted; }
    #datastore { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("a", "appliances", "Appliances"), Binding("t", "storage", "Storage"),
                Binding("n", "network", "Network"), Binding("h", "hardware", "Hardware"),
                Binding("p", "peers", "Peers")]

    def __init__(self, xl: Xl) -> None:
        super().__init__()
        self.xl = xl
        self.meter: CpuMeter | None = None
        self.host: HostSummary | None = None     # after the first read, only what changes is re-read
        self._timer: Timer | None = None
        self._paused = False
        self._refreshing = False    # a refresh thread is waiting on xl
        self._store_line = ""

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield HostPanel()
        yield Static("Data store: looking for it ...", id="datastore")
        yield DomainTable()
        yield AutostartPanel()
        yield Static("", id="status")
        yield KeyFooter(OVERVIEW_KEY_WIDTH)     # on two lines at 80 columns, every key readable

    def on_mount(self) -> None:
        self.refresh_snapshot()
        self._timer = self.set_interval(REFRESH_SECONDS, self.refresh_snapshot)
        self._store_timer = self.set_interval(STORE_SECONDS, self.read_data_store)
        self.call_after_refresh(self.read_data_store)   # LVM's scan waits for the first frame

    def on_screen_suspend(self) -> None:
        if self._timer:
            self._timer.pause()     # another screen is in front: don't call xl for nobody
            self._store_timer.pause()
            self._paused = True

    def on_screen_resume(self) -> None:
        if self._paused:            # not on the first showing: on_mount has just refreshed
            self._paused = False
            self._timer.resume()
            self._store_timer.resume()
            self.refresh_snapshot()
            self.read_data_store()

    def action_appliances(self) -> None:
        # One appliances screen for the console's life: it keeps its cursor, CPU samples and
        # the files saved this session when it is left and opened again.
        if not self.app.is_screen_installed(APPLIANCES):
            from tui.screens.appliances import AppliancesScreen
            self.app.install_screen(AppliancesScreen(self.xl), APPLIANCES)
        self.app.push_screen(APPLIANCES)

    def action_network(self) -> None:
        from tui.screens.network import NetworkScreen
        self.app.push_screen(NetworkScreen())

    def action_hardware(self) -> None:
        from tui.screens.hardware import HardwareScreen
        self.app.push_screen(HardwareScreen(self.xl))

    def action_peers(self) -> None:
        from tui.screens.peers import PeersScreen
        self.app.push_screen(PeersScreen())

    def action_storage(self) -> None:
        from tui.screens.storage import StorageScreen
        self.app.push_screen(StorageScreen())

    @work(thread=True, exclusive=True, group="datastore", exit_on_error=False)
    def read_data_store(self) -> None:
        from hypervisor.storage.datastore import DataStore
        line = DataStore().status().line
        if line != self._store_line:
            self._store_line = line
            self.app.call_from_thread(self.query_one("#datastore", Static).update, Text(line))

    def refresh_snapshot(self) -> None:
        """Start a refresh unless one is still waiting on xl. A thread worker cannot be
        cancelled, so starting one per tick would pile up xl processes on a busy host."""
        if self._refreshing:
            return
        self._refreshing = True
        self._read_snapshot()

    @work(thread=True, group="overview", exit_on_error=False)
    def _read_snapshot(self) -> None:
        try:
            self._read_snapshot_now()
        finally:
            self._refreshing = False

    def _read_snapshot_now(self) -> None:
        try:
            host = host_summary(self.xl, self.host)
            self.host = host
            domains = self.xl.domains()
        except (CommandError, ParseError) as error:
            message = error.sentence if isinstance(error, CommandError) else str(error)
            self.app.call_from_thread(self.query_one(HostPanel).show_problem, message)
            return
        if self.meter is None:
            self.meter = CpuMeter(host.cores)
        cpu = self.meter.sample(domains, time.monotonic())
        self.app.call_from_thread(self.show, Snapshot(host, domains, cpu, read_status(), read_problems()))

    def show(self, snapshot: Snapshot) -> None:
        self.query_one(HostPanel).show(snapshot.host)
        self.query_one(DomainTable).show(snapshot.domains, snapshot.cpu)
        self.query_one(AutostartPanel).show(snapshot.autostart, snapshot.boot_problems)
        self.query_one("#status", Static).update(          # one line, always: no layout needed
            f"{len(snapshot.domains)} domains - updated {time.strftime('%H:%M:%S')}", layout=False)
