"""Step 3: the data store's disks, chosen among the local disks (or none: the host keeps nothing across reboots).

A disk holding data is chosen only once its name is typed, as on the Storage screen; the boot medium and a
disk in use cannot be chosen at all. Nothing is erased here: the summary's Apply does it. A disk plugged in
or pulled out while the step is shown is listed again at once (the kernel's uevents, tui/disk_watch.py).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Static

from hypervisor.answer.compose import FirstBootAnswers, disk_name
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import ConfirmationNeeded, check_can_initialise
from hypervisor.storage.disk_events import DiskEvents
from hypervisor.storage.disks import Disk, Disks, boot_disk, holds_data, never_erased
from tui.disk_watch import DisksChanged, watch_disks
from tui.first_boot.step import Step
from tui.screens.storage import fill, holds_text
from tui.widgets.erase_prompt import erase_prompt

COLUMNS = (("use", "Use", 3), ("disk", "Disk", 6), ("size", "Size", 8), ("holds", "Holds now", 32),
           ("model", "Model", 16))
LEGEND = "[x] chosen  [!] holds data: type its name to choose it  n/a the boot medium or in use"
NONE_CHOSEN = "No disk chosen: this host keeps nothing across reboots (settings, appliances, guest volumes)."


class DisksStep(Step):
    TITLE = "Data store"
    DEFAULT_CSS = """
    DisksStep DataTable { height: 1fr; border: solid $primary; border-title-color: $text; }
    DisksStep #detail, DisksStep #chosen { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("c,space", "choose", "Choose"), Binding("u", "rescan", "Rescan")]

    def __init__(self, disks: Disks, boot_device: Callable[[], str | None],
                 disk_events: Callable[[], DiskEvents] = DiskEvents) -> None:
        super().__init__(id="disks")
        self.disks = disks
        self.disk_events = disk_events
        self.boot_device = boot_device
        self.listed: list[Disk] | None = None     # None: not listed yet
        self.medium: str | None = None           # the device XenBox booted from
        self.medium_disk: Disk | None = None
        self.problem: str | None = None
        self.typed: set[str] = set()            # the disks holding data whose names were typed to choose them

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")
        yield Static("", id="detail")
        yield Static("", id="chosen")
        yield Static(Text(LEGEND), classes="help")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.border_title = "Local disks (space or c chooses one for the data store)"
        for key, heading, width in COLUMNS:
            table.add_column(heading, width=width, key=key)
        watch_disks(self, self.disk_events)

    def on_disks_changed(self, message: DisksChanged) -> None:
        if self.display:                # another step is shown: entering this one lists the disks anyway
            self.notify(message.sentence, timeout=8)
            self.action_rescan()

    def enter(self, answers: FirstBootAnswers) -> None:
        super().enter(answers)
        self.action_rescan()            # each time: a disk may have come, gone or been written since

    def focus_target(self) -> Widget:
        return self.query_one(DataTable)

    @work(thread=True, exclusive=True, group="first-boot-disks", exit_on_error=False)
    def action_rescan(self) -> None:
        try:
            disks, problem = self.disks.list(), None
        except StorageError as error:
            disks, problem = [], str(error)
        self.app.call_from_thread(self._listed, disks, self.boot_device(), problem)

    def _listed(self, disks: list[Disk], medium: str | None, problem: str | None) -> None:
        if not self.is_attached:        # the flow was closed while listing
            return
        self.listed, self.medium, self.problem = disks, medium, problem
        self.medium_disk = boot_disk(disks, medium)
        self.show()
        self._forget_changed()

    def _forget_changed(self) -> None:
        """A chosen disk that is gone, or holds data now that was blank when chosen, is chosen no more."""
        if self.problem:                # not listed at all: nothing is known to have changed
            return
        present = {disk_name(disk): disk for disk in self.listed or []}
        still = [name for name in self.answers.data_disks if name in present
                 and (name in self.typed or not holds_data(present[name]))]
        if len(still) < len(self.answers.data_disks):
            gone = " ".join(name for name in self.answers.data_disks if name not in still)
            self.notify(f"No longer chosen, as it changed since: {gone}. Choose it again if it is wanted.",
                        severity="warning", markup=False, timeout=10)
            self._set(still)

    def show(self) -> None:
        chosen = set(self.answers.data_disks)
        fill(self.query_one(DataTable), {disk.name: (
            self._mark(disk, chosen), disk.name, human_size(disk.size), holds_text(disk, self.medium_disk),
            disk.model or "-") for disk in self.listed or []})
        self._show_detail()
        lines = [f"Data store on: {' '.join(self.answers.data_disks)}"
                 + (" (erased, data and all)" if self.answers.wipe_disks_with_data else " (erased)")
                 if chosen else NONE_CHOSEN]
        self.query_one("#chosen", Static).update(Text("\n".join(lines + ([self.problem] if self.problem else []))))

    def _mark(self, disk: Disk, chosen: set[str]) -> str:
        """Marks, not colours: they read the same in 16 colours and over serial."""
        if disk_name(disk) in chosen:
            return "[x]"
        if never_erased(disk, self.medium):
            return "n/a"
        return "[!]" if holds_data(disk) else "[ ]"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        disk = self._selected()
        self.query_one("#detail", Static).update(Text(
            f"{disk.path}: {disk.summary}, serial {disk.serial or '-'}, id {disk.stable_id or '-'}" if disk else
            "Listing the disks ..." if self.listed is None else "" if self.problem else "No local disks found."))

    def _selected(self) -> Disk | None:
        row = self.query_one(DataTable).cursor_row
        return self.listed[row] if self.listed and 0 <= row < len(self.listed) else None

    # -- choosing ---------------------------------------------------------------------
    def action_choose(self) -> None:
        disk = self._selected()
        if disk is None:
            return
        name = disk_name(disk)
        if name in self.answers.data_disks:
            self.typed.discard(name)
            self._set([d for d in self.answers.data_disks if d != name])
            return
        try:
            check_can_initialise(disk, self.medium)
        except ConfirmationNeeded as needed:
            self._ask_name(disk, needed.reason)
            return
        except StorageError as refused:
            self.notify(str(refused), severity="error", markup=False, timeout=10)
            return
        self._set([*self.answers.data_disks, name])

    def _ask_name(self, disk: Disk, reason: str) -> None:
        prompt = erase_prompt(disk, reason, "Applying the settings erases everything on it.",
                              "choose it for the data store", "leave the disk as it is")

        def chosen(name: str | None) -> None:
            if name:
                self.typed.add(disk_name(disk))
                self._set([*self.answers.data_disks, disk_name(disk)])
        self.app.push_screen(prompt, chosen)

    def _set(self, chosen: list[str]) -> None:
        """The data disks, and the wipe flag the answer file needs when one of them holds data (its name
        was typed to choose it)."""
        by_name = {disk_name(disk): disk for disk in self.listed or []}
        wipe = any(holds_data(by_name[name]) for name in chosen if name in by_name)
        self.change(replace(self.answers, data_disks=tuple(chosen), wipe_disks_with_data=wipe))
