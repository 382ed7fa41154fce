"""The console lock: the whole screen until the console password is typed.

Shown at start once a password is set, and again after the console sat idle
(ESXi's console asks for root's the same way). Checking a yescrypt hash takes
a while under emulation, so it runs in a thread; each wrong try waits a moment
more before the next is taken, to make guessing over a serial line slow.
"""
from __future__ import annotations

import socket
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from hypervisor.host.password import verify

WRONG_DELAY_SECONDS = 2.0


class LockScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen > Vertical {
        width: 60; max-width: 100%; height: auto; padding: 0 1;
        border: solid $primary; background: $surface;
    }
    LockScreen Input, LockScreen Input:focus { margin-top: 1; border: solid $accent; }
    LockScreen #problem { color: $error; text-style: bold; }
    LockScreen .keys { color: $text-muted; }
    """

    def __init__(self, password_hash: str) -> None:
        super().__init__()
        self.password_hash = password_hash
        self.failures = 0
        self._checking = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"XenBox {socket.gethostname()}: this console is locked."))
            yield Input(password=True, placeholder="console password")
            yield Static("", id="problem")
            yield Static("Type the console password, then Enter.", classes="keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._checking:
            return
        self._checking = True
        self.query_one("#problem", Static).update("Checking ...")
        self._check(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, typed: str) -> None:
        right = verify(typed, self.password_hash)
        if not right:
            time.sleep(WRONG_DELAY_SECONDS * min(self.failures + 1, 5))
        self.app.call_from_thread(self._checked, right)

    def _checked(self, right: bool) -> None:
        self._checking = False
        if right:
            self.dismiss(True)
            return
        self.failures += 1
        self.query_one(Input).value = ""
        self.query_one("#problem", Static).update(
            Text(f"Wrong password ({self.failures} wrong so far). Try again."))
