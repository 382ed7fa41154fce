"""Storage: the data store, the host's disks, and the guest volumes on the data store.

Listing the disks runs lsblk, wipefs and pvs; making the data store erases a disk. Both run in
worker threads, and each step of the making is shown as it happens. A disk that holds data is
erased only after its name is typed; the boot medium, mounted and read-only disks never.
A guest volume grows (never shrinks); one is deleted only when no appliance owns it and no
guest has it open, and only after its name is typed.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Log, Static

from hypervisor.appliances.claims import appliance_names, disks_given
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import ConfirmationNeeded, DataStore, Status, boot_device, check_can_initialise
from hypervisor.storage.disk_events import DiskEvents
from hypervisor.storage.disks import Disk, Disks, as_it_is_now, boot_disk, holds_data
from hypervisor.storage.volumes import GuestVolumes, Volume
from tui.disk_watch import DisksChanged, watch_disks
from tui.invalid import Invalid
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.erase_prompt import erase_prompt
from tui.widgets.prompt import Prompt

MIB = 1024 * 1024
STORAGE_KEY_WIDTH = 17      # "i Make data store" and a space

# What decides (what is on it) comes before what identifies; all of it is in the line under the table.
COLUMNS = (("disk", "Disk", 6), ("size", "Size", 8), ("holds", "Holds now", 38), ("model", "Model", 16),
           ("id", "Stable id", 24))
VOLUME_COLUMNS = (("volume", "Volume", 24), ("pool", "Pool", 6), ("size", "Size", 9), ("use", "In use", 6),
                  ("owner", "Appliance", 22))


def holds_text(disk: Disk, medium: Disk | None) -> str:
    if disk == medium:
        return "the XenBox boot medium (never used)"
    return (holds_data(disk) or "nothing (blank)").removeprefix("holds ")


def fill(table: DataTable, rows: dict[str, tuple[str, ...]]) -> None:
    """Replace the table's rows (key: cells), one line each, the cursor kept near where it was."""
    row = table.cursor_row
    table.clear()
    for key, cells in rows.items():
        table.add_row(*(Text(value, no_wrap=True, overflow="ellipsis") for value in cells), key=key)
    if rows:
        table.move_cursor(row=min(row, len(rows) - 1))


class StorageScreen(ClockedScreen):
    DEFAULT_CSS = """
    StorageScreen #datastore { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    StorageScreen DataTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    StorageScreen #volumes { height: auto; max-height: 8; display: none; }
    StorageScreen Log { height: 7; border: solid $accent; display: none; }
    StorageScreen #detail { height: auto; padding: 0 1; }
    StorageScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("i", "initialise", "Make data store"),
        Binding("u", "rescan", "Rescan"),
        Binding("g", "grow", "Grow volume"),
        Binding("x", "delete", "Delete volume"),
        Binding("s", "iscsi", "iSCSI targets"),
        Binding("p", "pools", "Pools"),
        Binding("escape,b", "app.pop_screen", "Back"),
    ]

    def __init__(self, store: DataStore | None = None, disks: Disks | None = None,
                 volumes: GuestVolumes | None = None, disk_events: Callable[[], DiskEvents] = DiskEvents) -> None:
        super().__init__()
        self.store = store or DataStore()
        self.disks = disks or Disks(given=disks_given)
        self.volumes = volumes or GuestVolumes(appliances=appliance_names)
        self.disk_events = disk_events
        self._listed: list[Disk] = []
        self._volumes: list[Volume] = []
        self._medium: Disk | None = None
        self._status: Status | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("Looking for the data store ...", id="datastore")
        yield DataTable(cursor_type="row", id="disks")
        yield DataTable(cursor_type="row", id="volumes")
        yield Static("", id="detail")
        yield Log(highlight=False)
        yield Static("Listing the disks ...", id="status")
        yield KeyFooter(STORAGE_KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "Storage"
        self.query_one("#datastore").border_title = "Data store"
        table = self.query_one("#disks", DataTable)
        table.border_title = "Local disks"
        for key, heading, width in COLUMNS:
            table.add_column(heading, width=width, key=key)
        volumes = self.query_one("#volumes", DataTable)
        volumes.border_title = "Guest volumes, on every pool (Tab to choose one)"
        for key, heading, width in VOLUME_COLUMNS:
            volumes.add_column(heading, width=width, key=key)
        watch_disks(self, self.disk_events)
        self.action_rescan()

    def on_disks_changed(self, message: DisksChanged) -> None:
        """A disk plugged in or pulled out (USB, hot-plug, an iSCSI session) shows up by itself."""
        self.notify(message.sentence, timeout=8)
        self.action_rescan()

    # -- reading ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="storage-scan", exit_on_error=False)
    def action_rescan(self) -> None:
        self.app.call_from_thread(self._say, "Listing the disks ...")
        status = self.store.status()
        try:
            disks, problem = self.disks.list(), None
        except StorageError as error:
            disks, problem = [], str(error)
        volumes: list[Volume] = []
        if status.group is not None and not status.problem:
            try:
                volumes = self.volumes.list(status.group.name)
            except StorageError as error:
                problem = problem or str(error)
        self.app.call_from_thread(self._show, status, disks, problem)
        self.app.call_from_thread(self._show_volumes, volumes)

    def _show_volumes(self, volumes: list[Volume]) -> None:
        self._volumes = volumes
        table = self.query_one("#volumes", DataTable)
        table.display = bool(volumes)
        fill(table, {volume.name: (volume.name, volume.pool, human_size(volume.size), "yes" if volume.in_use else "no",
                                   volume.owner or "- (left behind)") for volume in volumes})

    def _show(self, status: Status, disks: list[Disk], problem: str | None) -> None:
        self._status, self._listed = status, disks
        self._medium = boot_disk(disks, boot_device())
        self.query_one("#datastore", Static).update(Text(status.line.removeprefix("Data store: ")))
        fill(self.query_one("#disks", DataTable), {disk.name: (
            disk.name, human_size(disk.size), holds_text(disk, self._medium), disk.model or "-",
            disk.stable_id or "-") for disk in disks})
        self._show_detail()
        count = f"{len(disks)} disk{'s' * (len(disks) != 1)}."
        if problem:
            self._say(problem)
        elif status.group is None:
            self._say(f"{count} Choose one and press i to make it the data store.")
        else:
            self._say(count)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "disks":
            self._show_detail()

    def _show_detail(self) -> None:
        disk = self._selected()
        self.query_one("#detail", Static).update(Text(
            f"{disk.path}: {disk.summary}, serial {disk.serial or '-'}, id {disk.stable_id or '-'}; holds "
            f"{holds_text(disk, self._medium)}" if disk else ""))

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    # -- making the data store -----------------------------------------------------
    def _selected(self) -> Disk | None:
        table = self.query_one("#disks", DataTable)
        if not self._listed or not 0 <= table.cursor_row < len(self._listed):
            return None
        return self._listed[table.cursor_row]

    def action_initialise(self) -> None:
        disk = self._selected()
        if self._busy:
            self.notify("The data store is being made: wait for it to finish.", severity="warning")
        elif self._status is not None and self._status.group is not None:
            self.notify(f"This host already has a data store (VG {self._status.group.name}).", severity="warning")
        elif disk is None:
            self.notify("There is no disk to choose: attach one, then press u.", severity="warning")
        else:
            self._ask_about(disk)

    def _ask_about(self, disk: Disk) -> None:
        try:
            check_can_initialise(disk, boot_device())
        except ConfirmationNeeded as needed:
            prompt = erase_prompt(disk, needed.reason, "Everything on it will be erased.",
                                  "erase it and make it the data store", "keep the disk as it is")
            self.app.push_screen(prompt, lambda name: name and self._initialise(disk, name))
            return
        except StorageError as refused:
            self.notify(str(refused), severity="error", markup=False, timeout=10)
            self._say(str(refused))
            return
        question = f"Make {disk.path} ({disk.summary}) the XenBox data store?\nIt holds nothing now."
        self.app.push_screen(Confirm(question), lambda yes: yes and self._initialise(disk, None))

    def _initialise(self, disk: Disk, confirmed_name: str | None) -> None:
        self._busy = True
        log = self.query_one(Log)
        log.display = True
        log.clear()
        self._say(f"Making the data store on {disk.path} ...")
        self._make(disk, confirmed_name)

    @work(thread=True, exclusive=True, group="storage-make", exit_on_error=False)
    def _make(self, disk: Disk, confirmed_name: str | None) -> None:
        def progress(line: str) -> None:
            self.app.call_from_thread(self.query_one(Log).write_line, line)
        try:
            # Read again: the disk on screen may have changed (or gone) while the question was asked.
            disk = as_it_is_now(disk, self.disks.list())
            check_can_initialise(disk, boot_device(), confirmed_name)
            status = self.store.initialise([disk], progress)
            outcome, severity = f"The data store is ready on {disk.path}.", "information"
        except StorageError as error:
            status, outcome, severity = None, f"The data store was not made: {error}", "error"
        self.app.call_from_thread(self._made, status, outcome, severity)

    def _made(self, status: Status | None, outcome: str, severity: str) -> None:
        self._busy = False
        self.query_one(Log).write_line(outcome)
        self.notify(outcome, severity=severity, markup=False, timeout=10)
        self.action_rescan()

    def action_iscsi(self) -> None:
        from tui.screens.iscsi import IscsiScreen      # open-iscsi only when asked for
        self.app.push_screen(IscsiScreen())   # its disks come and go as uevents: listed by the watch

    def action_pools(self) -> None:
        from tui.screens.pools import PoolsScreen
        self.app.push_screen(PoolsScreen(), lambda _: self.action_rescan())    # its volumes may have changed

    # -- guest volumes -------------------------------------------------------------
    def _selected_volume(self) -> Volume | None:
        table = self.query_one("#volumes", DataTable)
        if not self._volumes:
            self.notify("There are no guest volumes: an appliance's disk on the data store becomes one at its "
                        "first start.", severity="warning", timeout=8)
            return None
        return self._volumes[min(max(table.cursor_row, 0), len(self._volumes) - 1)]

    def action_grow(self) -> None:
        volume = self._selected_volume()
        if volume is None:
            return
        now = volume.size // MIB

        def size(text: str) -> int:
            if not text.strip().isdigit() or int(text) <= now:
                raise Invalid(f"type a whole number of MiB above {now} (volumes only grow), or Escape")
            return int(text)
        self.app.push_screen(Prompt(f"New size of {volume.name} in MiB (now {now} MiB; it only grows):",
                                    read=size), lambda mib: mib and self._change(volume, mib, None))

    def action_delete(self) -> None:
        volume = self._selected_volume()
        if volume is None:
            return
        if volume.owner or volume.in_use:
            self._change(volume, None, None)      # refused, with the reason, by GuestVolumes
            return

        def typed(text: str) -> str:
            if text != volume.name:
                raise Invalid(f"that is not {volume.name}: type it exactly, or press Escape to keep it")
            return text
        question = (f"Delete {volume.summary}?\nEverything on it is destroyed.\n"
                    f"Type {volume.name} to delete it:")
        self.app.push_screen(Prompt(question, read=typed), lambda name: name and self._change(volume, None, name))

    @work(thread=True, exclusive=True, group="storage-volume", exit_on_error=False)
    def _change(self, volume: Volume, grow_mib: int | None, typed: str | None) -> None:
        try:
            if grow_mib is not None:
                grown = self.volumes.grow(f"{volume.pool}/{volume.name}", grow_mib)
                outcome, severity = f"{grown.name} is now {human_size(grown.size)}.", "information"
            else:
                self.volumes.delete(f"{volume.pool}/{volume.name}", typed)
                outcome, severity = f"{volume.name} was deleted.", "information"
        except StorageError as error:
            outcome, severity = f"{volume.name} was not changed: {error}", "error"
        self.app.call_from_thread(self._changed, outcome, severity)

    def _changed(self, outcome: str, severity: str) -> None:
        self.notify(outcome, severity=severity, markup=False, timeout=10)
        self._say(outcome)
        self.action_rescan()
