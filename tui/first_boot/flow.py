"""The first-boot screen: five steps in one screen, the answers kept across them.

n or Enter goes on, b goes back, Escape sets the host up later (after a yes). Nothing is written before
the last step's Apply. The screen is dismissed with the answers applied, or None when left for later
(or set up from the other console).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, DataTable, Static

from hypervisor.answer.compose import FirstBootAnswers
from hypervisor.appliances.claims import disks_given
from hypervisor.network.nic import SYSFS
from hypervisor.storage.datastore import boot_device
from hypervisor.storage.disk_events import DiskEvents
from hypervisor.storage.disks import Disks
from hypervisor.xen.xl import Xl
from tui.first_boot.disks_step import DisksStep
from tui.first_boot.host_step import HostStep
from tui.first_boot.network_step import NetworkStep
from tui.first_boot.password_step import PasswordStep
from tui.first_boot.step import Step
from tui.first_boot.summary_step import Apply, Claim, SummaryStep, apply_answer
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter

FLOW_KEY_WIDTH = 13      # as the overview's: the console's own keys ("P Power off") stay readable
LATER = ("Set this host up later?\nUntil it is, it keeps nothing across reboots. The Storage (t) and Network (n) "
         "screens and key w set it up by hand; these screens open again at the next boot.")


class FirstBootScreen(ClockedScreen):
    DEFAULT_CSS = """
    FirstBootScreen #steps { height: 1; padding: 0 1; text-style: bold; }
    FirstBootScreen ContentSwitcher { height: 1fr; }
    FirstBootScreen #status { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [Binding("n,enter", "next", "Next"), Binding("b", "back", "Back"),
                Binding("escape", "later", "Later")]

    def __init__(self, xl: Xl, disks: Disks | None = None, boot: Callable[[], str | None] = boot_device,
                 apply: Apply = apply_answer, claim: Claim = lambda answers: None,
                 net_sysfs: Path = SYSFS, disk_events: Callable[[], DiskEvents] = DiskEvents) -> None:
        super().__init__()
        self.answers = FirstBootAnswers()
        self.applied = False
        self._close_in_front = False
        disks = disks or Disks(given=disks_given)
        self.disks_step = DisksStep(disks, boot, disk_events)
        self.summary = SummaryStep(disks, lambda: self.disks_step.listed or [], boot, apply, claim)
        self.steps: list[Step] = [HostStep(xl), NetworkStep(net_sysfs), self.disks_step, PasswordStep(),
                                  self.summary]
        self.at = 0

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("", id="steps")
        # One step, not five: the others are composed when first reached, which keeps them out of the
        # first frame (seconds under emulation, on a console that has just started).
        with ContentSwitcher(initial=self.steps[0].id):
            yield self.steps[0]
        yield Static("", id="status")
        yield KeyFooter(FLOW_KEY_WIDTH)

    async def on_mount(self) -> None:
        self.sub_title = "First boot"
        await self._go(0)

    @property
    def step(self) -> Step:
        return self.steps[self.at]

    async def _go(self, at: int) -> None:
        self.at = at
        switcher = self.query_one(ContentSwitcher)
        if self.step.parent is None:
            await switcher.add_content(self.step)
        switcher.current = self.step.id
        self.query_one("#steps", Static).update(Text(
            f"Step {at + 1} of {len(self.steps)}:  "
            + " > ".join(f"[{s.TITLE}]" if s is self.step else s.TITLE for s in self.steps), no_wrap=True,
            overflow="ellipsis"))
        self._say("")
        self.step.enter(self.answers)
        self.step.focus_target().focus()

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    def on_step_changed(self, message: Step.Changed) -> None:
        self.answers = message.answers

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.summary.applying and action in ("next", "back", "later"):
            return False            # nothing interrupts the apply
        if self.applied and action in ("back", "later"):
            return False            # the host is set up: only the way to the overview is left
        return True

    def _blocked(self) -> bool:
        """Moving on or back is held while a step still works (the password being hashed)."""
        reason = self.step.not_ready()
        if reason:
            self._say(reason)
        return bool(reason)

    async def action_next(self) -> None:
        if self.applied:
            self.dismiss(self.answers)
        elif self._blocked():
            return
        elif self.step is self.summary:
            self._say("Press a to apply these settings, b to go back and change them.")
        else:
            await self._go(self.at + 1)

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the disks table goes on, as Enter does on every step."""
        event.stop()
        await self.action_next()

    async def action_back(self) -> None:
        if not self._blocked() and self.at > 0:
            await self._go(self.at - 1)

    def action_later(self) -> None:
        if not self._blocked():
            self.app.push_screen(Confirm(LATER), lambda yes: yes and self.dismiss(None))

    def on_summary_step_applied(self, message: SummaryStep.Applied) -> None:
        self.applied = True
        self.refresh_bindings()
        if message.failures:
            self._say(f"Applied, but {len(message.failures)} step(s) failed: " + "; ".join(message.failures)
                      + ". What worked is kept. Enter goes to the overview.")
            return
        self.notify("This host is set up.", timeout=10)
        if self.is_active:
            self.dismiss(self.answers)
        else:                       # the lock (idle all through a long apply) or Xen's log is in front
            self._close_in_front = True

    def on_screen_resume(self) -> None:
        # dismiss pops whatever screen is on top: this one waits until it is in front again.
        if self._close_in_front:
            self.dismiss(self.answers)
