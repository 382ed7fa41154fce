"""When the first-boot screens open and close on this console.

They open once when the boot left its marker (hypervisor/answer/first_boot.py) and this console has not
shown them yet: left for later or applied, they do not come back before the next boot, not even in a
console forked again on the same terminal. The console that
applies removes the marker just before anything changes; the other console, seeing it gone, closes its
own screens, so the host is never set up from both at once. A data store made by hand meanwhile (the
other console's Storage screen) closes them too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual.app import App
from textual.screen import Screen

from hypervisor.answer import first_boot
from tui.widgets.confirm import Confirm
from tui.widgets.prompt import Prompt

if TYPE_CHECKING:       # every console imports this at start: the answer file's modules only when shown
    from hypervisor.answer.compose import FirstBootAnswers

Applying = Callable[["FirstBootAnswers"], None]


class FirstBootWatch:
    def __init__(self, app: App, make_screen: Callable[..., Screen], applying: Applying = lambda answers: None,
                 mounted: Callable[[], bool] = lambda: False, tty: str = "") -> None:
        self.app = app
        self.tty = tty
        self.make_screen = make_screen      # FirstBootScreen's signature, its `claim` given here
        self.applying = applying            # told the answers this console is about to apply (from a worker)
        self.mounted = mounted              # is the data store mounted (made by hand on the other console)?
        self.shown = False
        self.screen: Screen | None = None
        self.claimed = False                # this console applies: the marker is gone because of it
        self.closed_here = False            # closed by this watch (set up elsewhere), not left for later

    def check(self) -> None:
        if self.screen is None:
            if not self.shown and first_boot.pending() and not first_boot.left_for_later(self.tty):
                self.shown = True
                self.screen = self.make_screen(claim=self.claim)
                self.app.push_screen(self.screen, self._closed)
        elif not self.claimed and (not first_boot.pending() or self.mounted()) and self._close(self.screen):
            self.app.notify("The first-boot screens closed: this host is being set up from the other console.",
                            timeout=10)

    def claim(self, answers: FirstBootAnswers) -> None:
        """Called from the applying worker, just before the first change."""
        self.claimed = True
        first_boot.clear()
        self.applying(answers)

    def _close(self, screen: Screen) -> bool:
        """The screens and their open question, if any. Not under another screen (the lock, Xen's log): dismiss
        pops whatever is on top, so that waits for a later check."""
        stack = self.app.screen_stack
        above = stack[stack.index(screen) + 1:] if screen in stack else []
        if any(not isinstance(question, (Prompt, Confirm)) for question in above):
            return False
        for _ in above:
            self.app.pop_screen()
        self.screen = None
        self.closed_here = True
        screen.dismiss(None)
        return True

    def _closed(self, applied: FirstBootAnswers | None) -> None:
        self.screen = None
        if applied is not None:
            first_boot.clear()
        elif not self.closed_here:
            first_boot.leave_for_later(self.tty)
