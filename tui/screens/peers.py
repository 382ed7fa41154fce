"""Paired hosts (overview, key p): this host's name and certificate fingerprint, the hosts it trusts and
whether each answers now; pairing from either side, and forgetting a host.

- `o` offers a code: this host listens for pairing only while that code is on the screen, until one
  host joins, three wrong codes, the code expires, or Escape;
- `j` joins a host that shows a code: its address, then its code; the other host's fingerprint is
  shown to compare with its screen;
- `x` forgets the host under the cursor (asked first).
Asking each peer runs in a worker thread: a host that is down keeps its line waiting, not the screen.
"""
from __future__ import annotations

import ipaddress

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from hypervisor.network.certificate import CertificateError
from hypervisor.peers.code import BadCode, typed
from hypervisor.peers.listener import PeerRefused, PeerUnreachable
from hypervisor.peers.pairing import TRIES, Offer, PairingFailed
from hypervisor.peers.this_host import ThisHost
from hypervisor.peers.trusted import Peer, PeersError
from hypervisor.storage import StorageError
from tui.invalid import Invalid
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.prompt import Prompt

COLUMNS = (("name", "Host", 16), ("address", "Address", 16), ("state", "Now", 42))
KEY_WIDTH = 16
ASK_SECONDS = 10
IDLE = "o shows a code for another host to type; j types the code another host shows."


def read_address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise Invalid("type the other host's address as its overview shows it, such as 192.0.2.10, "
                      "or Escape") from None


def read_code(text: str) -> str:
    try:
        return typed(text)
    except BadCode as error:
        raise Invalid(f"{error}, or Escape") from None


def answer_line(facts: dict) -> str:
    hvm = "HVM yes" if facts.get("hvm") else "HVM no"
    return f"answers: Xen {facts.get('xen_version')}, {facts.get('free_memory_mib')} MiB free, {hvm}"


class PeersScreen(ClockedScreen):
    DEFAULT_CSS = """
    PeersScreen #me { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    PeersScreen #offer { height: auto; padding: 0 1; border: heavy $accent; display: none; }
    PeersScreen #offer.open { display: block; }
    PeersScreen DataTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    PeersScreen #status { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("o", "offer", "Offer a code"),
        Binding("j", "join", "Join a host"),
        Binding("x", "forget", "Forget host"),
        Binding("u", "reload", "Update"),
        Binding("escape,b", "back", "Back"),
    ]

    def __init__(self, me: ThisHost | None = None) -> None:
        super().__init__()
        self.me = me or ThisHost()
        self.offer: Offer | None = None
        self._peers: list[Peer] = []

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("", id="me")
        yield Static("", id="offer")
        yield DataTable(cursor_type="row")
        yield Static(IDLE, id="status")
        yield KeyFooter(KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "Paired hosts"
        table = self.query_one(DataTable)
        table.border_title = "Hosts this one trusts (guests move only between these)"
        for key, heading, width in COLUMNS:
            table.add_column(heading, width=width, key=key)
        me = self.query_one("#me", Static)
        me.border_title = f"This host: {self.me.name}"
        self._show_identity()
        self.action_reload()
        self.set_interval(1, self._tick)

    # -- what is shown -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="peers-identity", exit_on_error=False)
    def _show_identity(self) -> None:
        try:
            text = f"Certificate fingerprint (SHA-256), to compare on the other host:\n{self.me.identity().fingerprint}"
        except (PeersError, CertificateError) as error:
            text = f"No pairing here: {error}"
        self.app.call_from_thread(self.query_one("#me", Static).update, Text(text))

    def action_reload(self) -> None:
        try:
            self._peers = self.me.peers()
        except StorageError as error:
            self._peers = []
            self._say(f"The paired hosts cannot be read: {error}")
        table = self.query_one(DataTable)
        table.clear()
        for peer in self._peers:
            table.add_row(peer.name, peer.address, "asking ...", key=peer.name)
            self._ask(peer)

    @work(thread=True, group="peers-ask", exit_on_error=False)
    def _ask(self, peer: Peer) -> None:
        try:
            state = answer_line(self.me.ask(peer, "facts", timeout=ASK_SECONDS))
        except (PeerUnreachable, PeerRefused, PeersError, CertificateError) as error:
            state = f"NOT answering: {error}"
        self.app.call_from_thread(self._show_state, peer.name, state)

    def _show_state(self, name: str, state: str) -> None:
        table = self.query_one(DataTable)
        try:
            table.update_cell(name, "state", Text(state, no_wrap=True, overflow="ellipsis"))
        except CellDoesNotExist:    # the row went (forgotten, reloaded) while the peer was asked
            return

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    # -- offering a code ---------------------------------------------------------------------------
    def action_offer(self) -> None:
        if self.offer is not None:
            return
        try:
            self.offer = self.me.offer()
        except (PeersError, CertificateError, OSError) as error:
            self._say(f"No code offered: {error}")
            return
        self.query_one("#offer", Static).add_class("open")
        self._tick()
        self._wait_for_joiner(self.offer)

    def _tick(self) -> None:
        if self.offer is None:
            return
        left = int(self.offer.seconds_left())
        address = self.me.address() or "(none yet: see the Network screen)"
        self.query_one("#offer", Static).update(Text(
            f"Pairing code  {self.offer.shown_code}     this host's address  {address}\n"
            f"On the other host: Peers screen, j, this address, then this code.\n"
            f"Listening for {left // 60}:{left % 60:02d} more, {self.offer.tries_left} of {TRIES} tries left. "
            "Escape stops."))

    @work(thread=True, exclusive=True, group="peers-offer", exit_on_error=False)
    def _wait_for_joiner(self, offer: Offer) -> None:
        try:
            peer = offer.wait(self.me.trust)
            outcome, severity = (f"Paired with {peer.name} at {peer.address}. Its fingerprint: {peer.fingerprint}",
                                 "information")
        except PairingFailed as error:
            outcome, severity = f"Not paired: {error}", "warning"
        except StorageError as error:
            outcome, severity = f"Not paired: {error}", "error"
        self.app.call_from_thread(self._offer_ended, outcome, severity)

    def _offer_ended(self, outcome: str, severity: str) -> None:
        self.offer = None
        self.query_one("#offer", Static).remove_class("open")
        self._say(outcome)
        self.notify(outcome, severity=severity, markup=False, timeout=10)
        self.action_reload()

    def action_back(self) -> None:
        """Escape first closes an open offer (nothing listens after it), then the screen."""
        if self.offer is not None:
            self.offer.cancelled.set()
            return
        self.app.pop_screen()

    def on_unmount(self) -> None:
        if self.offer is not None:
            self.offer.cancelled.set()

    # -- joining a host that offers ----------------------------------------------------------------
    def action_join(self) -> None:
        if self.offer is not None:
            self._say("This host is offering a code: Escape closes the offer first.")
            return
        self.app.push_screen(Prompt("The address of the host that shows a code:", placeholder="192.0.2.10",
                                    read=read_address),
                             lambda address: address and self.app.push_screen(
                                 Prompt(f"The code {address} shows:", placeholder="ABCD-EFGH", read=read_code),
                                 lambda code: code and self._join(address, code)))

    def _join(self, address: str, code: str) -> None:
        self._say(f"Pairing with {address} ...")
        self._run_join(address, code)

    @work(thread=True, exclusive=True, group="peers-join", exit_on_error=False)
    def _run_join(self, address: str, code: str) -> None:
        try:
            peer = self.me.join(address, code)
            outcome, severity = (f"Paired with {peer.name} at {address}. Check that its screen shows this "
                                 f"fingerprint: {peer.fingerprint}", "information")
        except (PairingFailed, PeersError, CertificateError) as error:
            outcome, severity = f"Not paired: {error}", "error"
        except StorageError as error:
            outcome, severity = f"Not paired: {error}", "error"
        self.app.call_from_thread(self._joined, outcome, severity)

    def _joined(self, outcome: str, severity: str) -> None:
        self._say(outcome)
        self.notify(outcome, severity=severity, markup=False, timeout=10)
        self.action_reload()

    # -- forgetting a host -------------------------------------------------------------------------
    def action_forget(self) -> None:
        if not self._peers:
            return
        table = self.query_one(DataTable)
        peer = self._peers[min(max(table.cursor_row, 0), len(self._peers) - 1)]
        question = (f"Forget {peer.name} ({peer.address})?\nIt can no longer reach this host; guests no longer "
                    "move between the two until they are paired again.")
        self.app.push_screen(Confirm(question), lambda yes: yes and self._forget(peer.name))

    def _forget(self, name: str) -> None:
        try:
            self.me.forget(name)
            self._say(f"{name} is forgotten here. Forget this host on {name} too (its Peers screen, x).")
        except (PeersError, StorageError) as error:
            self._say(f"{name} was not forgotten: {error}")
        self.action_reload()
