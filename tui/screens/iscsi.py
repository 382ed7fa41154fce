"""iSCSI targets (from the Storage screen, key s): those this host keeps and attaches at boot, with
their disks; adding one (portal, then a target the portal offers, then CHAP if it wants it) and
removing one. Discovery and logins run in worker threads: a SAN that does not answer keeps the
screen waiting, never frozen.
"""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from hypervisor.storage import StorageError
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IQN, NAME, PORTAL, IscsiTarget, IscsiTargets
from tui.invalid import Invalid
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.prompt import Prompt

COLUMNS = (("name", "Name", 10), ("portal", "Portal", 21), ("chap", "CHAP", 4), ("target", "Target", 37))
KEY_WIDTH = 14


def _matching(pattern, valid: str):
    def read(text: str) -> str:
        if not pattern.fullmatch(text):
            raise Invalid(f"{valid}, or Escape")
        return text
    return read


def _optional(text: str) -> str:
    return text


class IscsiScreen(ClockedScreen):
    DEFAULT_CSS = """
    IscsiScreen DataTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    IscsiScreen #status { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("a", "add", "Add target"),
        Binding("r", "remove", "Remove"),
        Binding("escape,b", "app.pop_screen", "Back"),
    ]

    def __init__(self, targets: IscsiTargets | None = None) -> None:
        super().__init__()
        self.targets = targets or IscsiTargets()
        self._kept: list[IscsiTarget] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield DataTable(cursor_type="row")
        yield Static("Reading the targets ...", id="status")
        yield KeyFooter(KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "iSCSI targets"
        table = self.query_one(DataTable)
        table.border_title = "Attached at every boot; their LUNs are host disks (Storage screen)"
        for key, heading, width in COLUMNS:
            table.add_column(heading, width=width, key=key)
        self._show_targets()

    def _show_targets(self) -> None:
        try:
            self._kept = self.targets.list()
        except StorageError as error:
            self._kept = []
            self._say(str(error))
        table = self.query_one(DataTable)
        table.clear()
        for target in self._kept:
            table.add_row(*(Text(cell, no_wrap=True, overflow="ellipsis") for cell in (
                target.name, target.portal, "yes" if target.chap else "no", target.iqn)), key=target.name)
        if not self._busy:
            self._say(f"{len(self._kept)} target{'s' * (len(self._kept) != 1)}. Press a to add one." if self._kept
                      else "No iSCSI targets yet. Press a to add one.")

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    # -- adding: portal -> discovery -> target -> name -> CHAP -------------------------------------
    def action_add(self) -> None:
        if self._busy:
            self.notify("Wait for the target being attached.", severity="warning")
            return
        self.app.push_screen(Prompt("Portal of the iSCSI storage (host or host:port; port 3260 if left out):",
                                    read=_matching(PORTAL, "type an address such as 192.168.1.5 or "
                                                           "192.168.1.5:3260")),
                             lambda portal: portal and self._discover_targets(portal))

    @work(thread=True, exclusive=True, group="iscsi", exit_on_error=False)
    def _discover_targets(self, portal: str) -> None:
        self.app.call_from_thread(self._say, f"Asking {portal} which targets it offers ...")
        try:
            offered, problem = self.targets.discover(portal), None
        except StorageError as error:
            offered, problem = [], str(error)
        self.app.call_from_thread(self._offered, portal, offered, problem)

    def _offered(self, portal: str, offered: list[str], problem: str | None) -> None:
        if problem or not offered:
            outcome = problem or f"{portal} offers no targets to this host: check its access list"
            self._say(outcome)
            self.notify(outcome, severity="error", markup=False, timeout=10)
            return
        listed = "\n".join(f"  {number}. {iqn}" for number, iqn in enumerate(offered, start=1))

        def pick(text: str) -> str:
            if text.isdigit() and 1 <= int(text) <= len(offered):
                return offered[int(text) - 1]
            if IQN.fullmatch(text):
                return text
            raise Invalid(f"type a number from 1 to {len(offered)}, or a target's name, or Escape")
        self._say(f"{portal} offers {len(offered)} target{'s' * (len(offered) != 1)}.")
        self.app.push_screen(Prompt(f"{portal} offers:\n{listed}\nWhich one (its number)?", value="1", read=pick),
                             lambda iqn: iqn and self._ask_name(portal, iqn))

    def _ask_name(self, portal: str, iqn: str) -> None:
        suggested = iqn.rsplit(":", 1)[-1][:20] if NAME.fullmatch(iqn.rsplit(":", 1)[-1][:20]) else "san"
        self.app.push_screen(Prompt(f"A short name for {iqn}:", value=suggested,
                                    read=_matching(NAME, "use 1-64 letters, digits, '_', '.' or '-'")),
                             lambda name: name and self._ask_chap(portal, iqn, name))

    def _ask_chap(self, portal: str, iqn: str, name: str) -> None:
        def user_given(user: str | None) -> None:
            if user is None:
                return
            if not user:
                self._attach_target(name, portal, iqn, None)
                return
            self.app.push_screen(Prompt(f"CHAP password for {user}:", password=True),
                                 lambda secret: secret and self._attach_target(name, portal, iqn, Chap(user, secret)))
        self.app.push_screen(Prompt("CHAP user name (leave empty if the target needs no login):", read=_optional),
                             user_given)

    def _attach_target(self, name: str, portal: str, iqn: str, chap: Chap | None) -> None:
        self._busy = True
        self._say(f"Attaching {iqn} at {portal} ...")
        self._add_target(name, portal, iqn, chap)

    @work(thread=True, exclusive=True, group="iscsi", exit_on_error=False)
    def _add_target(self, name: str, portal: str, iqn: str, chap: Chap | None) -> None:
        try:
            disks = self.targets.add(name, portal, iqn, chap, lambda line: None)
            outcome = (f"iSCSI {name} is attached, and will be at every boot. Disks: "
                       f"{', '.join(disks) if disks else 'none yet (does the target give this host LUNs?)'}.")
            severity = "information"
        except StorageError as error:
            outcome, severity = f"{iqn} was not added: {error}", "error"
        self.app.call_from_thread(self._finished, outcome, severity)

    def _finished(self, outcome: str, severity: str) -> None:
        self._busy = False
        self._show_targets()
        self._say(outcome)
        self.notify(outcome, severity=severity, markup=False, timeout=10)

    # -- removing ----------------------------------------------------------------------------------
    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if not self._kept or self._busy:
            self.notify("There is no target to remove." if not self._kept else "Wait for the target being "
                        "attached.", severity="warning")
            return
        target = self._kept[min(max(table.cursor_row, 0), len(self._kept) - 1)]
        question = (f"Detach iSCSI {target.name} ({target.iqn} at {target.portal}) and stop attaching it at boot?\n"
                    "Appliances with disks on it will not start.")
        self.app.push_screen(Confirm(question), lambda yes: yes and self._remove_target(target.name))

    @work(thread=True, exclusive=True, group="iscsi", exit_on_error=False)
    def _remove_target(self, name: str) -> None:
        try:
            self.targets.remove(name, lambda line: None)
            outcome, severity = f"iSCSI {name} is detached and forgotten.", "information"
        except StorageError as error:
            outcome, severity = f"iSCSI {name} was not removed: {error}", "error"
        self.app.call_from_thread(self._finished, outcome, severity)
