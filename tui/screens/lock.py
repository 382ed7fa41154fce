"""The console lock: the whole screen until the console password is typed.

Shown from the first frame while a password may exist, and again after the console sat idle (ESXi's
console asks for root's the same way). Until the boot has read the data store, or when it cannot, there
is no password to check: the screen says why and waits for the boot's word (tui/app.py looks every two
seconds). Checking a yescrypt hash takes a while under emulation, so it runs in a thread; each wrong try
makes the next one wait longer, counted in /run for both consoles and across their restarts
(hypervisor/host/wrong_tries.py), to make guessing over a serial line slow.
"""
from __future__ import annotations

import math
import socket

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from hypervisor.host import wrong_tries
from hypervisor.host.console_password import ConsoleAccess
from hypervisor.host.password import verify


class LockScreen(ModalScreen[str | None]):
    """Dismissed with the password hash typed, or None when no password may exist any more."""

    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen > Vertical {
        width: 60; max-width: 100%; height: auto; padding: 0 1;
        border: solid $primary; background: $surface;
    }
    LockScreen Input, LockScreen Input:focus { margin-top: 1; border: solid $accent; }
    LockScreen #why { margin-top: 1; }
    LockScreen #problem { color: $error; text-style: bold; }
    LockScreen .keys { color: $text-muted; }
    """

    def __init__(self, access: ConsoleAccess) -> None:
        super().__init__()
        self.access = access
        self._checking = False
        self._typed: str | None = None          # Enter pressed while the last wrong try's wait runs
        self._shown = False

    @property
    def password_hash(self) -> str | None:
        return self.access.password_hash

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"XenBox {socket.gethostname()}: this console is locked."))
            yield Static("", id="why")
            yield Input(password=True, placeholder="console password")
            yield Static("", id="problem")
            yield Static("Type the console password, then Enter.", classes="keys")

    def on_mount(self) -> None:
        self.show(self.access)
        tries = wrong_tries.read()          # this console may be new, the tries not
        if tries.wrong:
            self._say_wrong(tries)

    def show(self, access: ConsoleAccess) -> None:
        """The password to ask for, or why none can be asked for yet. Asked every two seconds: drawn again
        only when that changed (a redraw costs a serial line's worth of output, and CPU the boot needs)."""
        if access == self.access and self._shown:
            return
        self.access, self._shown = access, True
        asking = access.password_hash is not None
        why = self.query_one("#why", Static)
        why.display = not asking
        why.update(Text(access.locked_because or ""))
        self.query_one(Input).display = asking
        self.query_one(".keys", Static).display = asking
        if asking:
            self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._checking or self._typed is not None or self.password_hash is None:
            return
        self._typed = event.value
        tries = wrong_tries.read()
        wait = tries.wait_left()
        if wait > 0:
            self._say_wrong(tries, f"This try is checked in {math.ceil(wait)} s.")
            self.set_timer(wait, self._check_typed)
        else:
            self._check_typed()

    def _check_typed(self) -> None:
        typed, self._typed = self._typed, None
        if typed is None or self.password_hash is None:
            return
        self._checking = True
        self.query_one("#problem", Static).update("Checking ...")
        self._check(typed, self.password_hash)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, typed: str, password_hash: str) -> None:
        tries = wrong_tries.count_one()     # before the check: a console killed meanwhile has paid for it
        right = verify(typed, password_hash)
        if right:
            wrong_tries.forget()
        self.app.call_from_thread(self._checked, right, password_hash, tries)

    def _checked(self, right: bool, password_hash: str, tries: wrong_tries.Tries) -> None:
        self._checking = False
        if right:
            self.dismiss(password_hash)
            return
        self.query_one(Input).value = ""
        self._say_wrong(tries, "Try again.")

    def _say_wrong(self, tries: wrong_tries.Tries, then: str = "") -> None:
        self.query_one("#problem", Static).update(
            Text(f"Wrong password ({tries.wrong} wrong so far). {then}".rstrip()))
