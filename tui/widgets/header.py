"""The screens' title bar: Textual's Header, its clock stopped while another screen covers its own.

Textual's clock ticks every second on a covered screen too, and any timer event handled on a covered
screen makes Textual lay the front one out again: a full redraw of the Storage or Appliances screen
every second. Over a serial line under emulation that cost kilobytes a second and dom0 CPU enough to
leave keys unanswered for a minute. Screens with a clock derive from `ClockedScreen`.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.events import Mount
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header
from textual.widgets._header import HeaderClock, HeaderClockSpace, HeaderIcon, HeaderTitle


class FrontClock(HeaderClock):
    ticker: Timer | None = None

    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()         # not HeaderClock's own timer: this one can be stopped
        self.ticker = self.set_interval(1, self.refresh, name="update header clock")


class ScreenHeader(Header):
    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield HeaderTitle()
        yield FrontClock().data_bind(Header.time_format) if self._show_clock else HeaderClockSpace()


class ClockedScreen(Screen):
    """A screen whose header clock stops while it is covered (and shows the time again in front)."""

    def _clocks(self) -> list[Timer]:
        return [clock.ticker for clock in self.query(FrontClock) if clock.ticker is not None]

    def _on_screen_suspend(self) -> None:
        for ticker in self._clocks():
            ticker.pause()

    def _on_screen_resume(self) -> None:
        for ticker in self._clocks():
            ticker.resume()
