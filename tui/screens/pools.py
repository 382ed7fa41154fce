"""Storage pools (from the Storage screen, key p): every pool appliance disks can go on, with its size,
free space and, when it cannot take disks now, why; adding an NFS share or a folder, removing one.
Mounting a share runs in a worker thread: a NAS that does not answer keeps the screen waiting, never
frozen.
"""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from hypervisor.appliances.claims import appliances_on
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.named_pools import BUILT_IN, NamedPools
from hypervisor.storage.nfs import VERSIONS, split_share
from hypervisor.storage.pool_status import PoolRow, pool_rows
from tui.invalid import Invalid
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.prompt import Prompt

COLUMNS = (("name", "Pool", 10), ("type", "Type", 4), ("size", "Size", 9), ("free", "Free", 9),
           ("where", "Where", 40))
KEY_WIDTH = 16


def read_share(text: str) -> tuple[str, str | None, int | None]:
    """'SERVER:/EXPORT [VERSION] [port N]' -> (share, version, port)."""
    words = text.split()
    usage = ("type the share as server:/export, then a version (3, 4.1, ...) and 'port N' if needed: "
             "nas.local:/export/xen 4.1, or Escape")
    if not words:
        raise Invalid(usage)
    try:
        split_share(words[0])
    except StorageError as error:
        raise Invalid(str(error)) from None
    rest, version, port = words[1:], None, None
    if rest and rest[0] in VERSIONS:
        version, rest = rest[0], rest[1:]
    if len(rest) == 2 and rest[0] == "port" and rest[1].isdigit():
        port, rest = int(rest[1]), []
    if rest:
        raise Invalid(usage)
    return words[0], version, port


def read_folder(text: str) -> str:
    if not text.startswith("/"):
        raise Invalid("type the folder's full path, such as /var/lib/xenbox/more-images, or Escape")
    return text


def read_pool_name(text: str) -> str:
    from hypervisor.storage.iscsi_targets import NAME
    if not NAME.fullmatch(text):
        raise Invalid("use 1-64 letters, digits, '_', '.' or '-', or Escape")
    if text in BUILT_IN:
        raise Invalid(f"{text} is the data store's own pool: choose another name")
    return text


def cells(row: PoolRow) -> tuple[str, ...]:
    size = human_size(row.size) if row.size is not None else "-"
    free = human_size(row.free) if row.free is not None else "-"
    return row.name, row.type, size, free, f"NOT READY: {row.problem}" if row.problem else row.where


class PoolsScreen(ClockedScreen):
    DEFAULT_CSS = """
    PoolsScreen DataTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    PoolsScreen #detail { height: auto; padding: 0 1; }
    PoolsScreen #status { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("n", "add_share", "Add NFS share"),
        Binding("f", "add_folder", "Add folder"),
        Binding("r", "remove", "Remove"),
        Binding("escape,b", "app.pop_screen", "Back"),
    ]

    def __init__(self, pools: NamedPools | None = None, rows=pool_rows, users=appliances_on) -> None:
        super().__init__()
        self.pools = pools or NamedPools()
        self._read_rows = rows
        self._users = users
        self._rows: list[PoolRow] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield DataTable(cursor_type="row")
        yield Static("", id="detail")
        yield Static("Reading the pools ...", id="status")
        yield KeyFooter(KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "Storage pools"
        table = self.query_one(DataTable)
        table.border_title = 'Appliance disks go on these: pool = "NAME" in appliance.toml'
        for key, heading, width in COLUMNS:
            table.add_column(heading, width=width, key=key)
        self._show_pools()

    def _show_pools(self) -> None:
        try:
            self._rows = self._read_rows(self.pools)
        except StorageError as error:
            self._rows = []
            self._say(str(error))
        table = self.query_one(DataTable)
        table.clear()
        for row in self._rows:
            table.add_row(*(Text(cell, no_wrap=True, overflow="ellipsis") for cell in cells(row)), key=row.name)
        if not self._busy:
            self._say("n adds an NFS share, f a folder; local and files are the data store's own.")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The whole line of the pool under the cursor: a long share or reason does not fit its column."""
        row = next((r for r in self._rows if r.name == event.row_key.value), None)
        if row is not None:
            self.query_one("#detail", Static).update(Text(f"{row.name}: {row.problem or row.where}"))

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    # -- adding ------------------------------------------------------------------------------------
    def _adding(self) -> bool:
        """Another pool is being added (a share mounting): one at a time."""
        if self._busy:
            self.notify("Wait for the pool being added.", severity="warning")
        return self._busy

    def action_add_share(self) -> None:
        if self._adding():
            return
        self.app.push_screen(Prompt("NFS share (server:/export), then its version and port if needed:",
                                    placeholder="nas.local:/export/xen 4.1 port 2049", read=read_share),
                             lambda given: given and self._ask_name(
                                 lambda name: self._add(name, lambda: self.pools.add_nfs(name, *given, lambda _: None))))

    def action_add_folder(self) -> None:
        if self._adding():
            return
        self.app.push_screen(Prompt("Folder for disk images (on the data store or a mounted disk):",
                                    placeholder="/var/lib/xenbox/more-images", read=read_folder),
                             lambda path: path and self._ask_name(
                                 lambda name: self._add(name, lambda: self.pools.add_folder(name, path))))

    def _ask_name(self, then) -> None:
        self.app.push_screen(Prompt("A short name for the pool (appliance.toml names it):", value="nas",
                                    read=read_pool_name), lambda name: name and then(name))

    def _add(self, name: str, adding) -> None:
        self._busy = True
        self._say(f"Adding pool {name} ...")
        self._run_add(name, adding)

    @work(thread=True, exclusive=True, group="pools", exit_on_error=False)
    def _run_add(self, name: str, adding) -> None:
        try:
            adding()
            outcome, severity = f"Pool {name} is ready, and kept: it is attached again at every boot.", "information"
        except StorageError as error:
            outcome, severity = f"Pool {name} was not added: {error}", "error"
        self.app.call_from_thread(self._finished, outcome, severity)

    def _finished(self, outcome: str, severity: str) -> None:
        self._busy = False
        self._show_pools()
        self._say(outcome)
        self.notify(outcome, severity=severity, markup=False, timeout=10)

    # -- removing ----------------------------------------------------------------------------------
    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if not self._rows or self._busy:
            return
        row = self._rows[min(max(table.cursor_row, 0), len(self._rows) - 1)]
        if row.name in BUILT_IN:
            self.notify(f"{row.name} is the data store's own pool: it goes only with the data store.",
                        severity="warning", timeout=8)
            return
        question = f"Forget pool {row.name} ({row.where})?\nThe images in it stay where they are."
        self.app.push_screen(Confirm(question), lambda yes: yes and self._remove(row.name))

    @work(thread=True, exclusive=True, group="pools", exit_on_error=False)
    def _remove(self, name: str) -> None:
        try:
            self.pools.remove(name, self._users(name), lambda line: None)
            outcome, severity = f"Pool {name} is forgotten; its images were left where they are.", "information"
        except StorageError as error:
            outcome, severity = f"Pool {name} was not removed: {error}", "error"
        self.app.call_from_thread(self._finished, outcome, severity)
