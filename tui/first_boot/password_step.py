"""Step 4: the console password, typed twice (at least 8 characters), or none.

Only its yescrypt hash is kept, in the answers and later on the data store. Hashing is slow on purpose
(a second or more under emulation), so it runs in a worker thread; the flow waits for it before going on.
"""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from hypervisor.host.password import PasswordError, hash_password
from tui.first_boot.step import Step
from tui.widgets.new_password import ask_new_password

HELP = ("Once set, both consoles (screen and serial line) ask for it at start and after five idle minutes. "
        "It is kept on the data store: without one (step 3) it is not kept.\n"
        "p sets it, x leaves the console without one.")


class PasswordStep(Step):
    TITLE = "Password"
    BINDINGS = [Binding("p", "set_password", "Password"), Binding("x", "no_password", "None")]

    def __init__(self) -> None:
        super().__init__(id="password")
        self.hashing = False

    def compose(self) -> ComposeResult:
        yield Static("", id="state", classes="box")
        yield Static(HELP, classes="help")

    def on_mount(self) -> None:
        self.query_one("#state").border_title = "Console password"

    def show(self) -> None:
        self.query_one("#state", Static).update(Text(
            "Hashing the password ..." if self.hashing else
            "Set: kept as a yescrypt hash, never as typed." if self.answers.password_hash else
            "None: anyone at the console can use it."))

    def not_ready(self) -> str | None:
        # Back too: the hash lands in the answers as this step last saw them.
        return "The password is still being hashed: a moment." if self.hashing else None

    def action_set_password(self) -> None:
        ask_new_password(self.app, self._hash)

    def action_no_password(self) -> None:
        self.change(replace(self.answers, password_hash=None))

    def _hash(self, password: str) -> None:
        self.hashing = True
        self.show()
        self._make_hash(password)

    @work(thread=True, exclusive=True, group="first-boot-password", exit_on_error=False)
    def _make_hash(self, password: str) -> None:
        try:
            hashed, problem = hash_password(password), None
        except PasswordError as error:
            hashed, problem = None, str(error)
        self.app.call_from_thread(self._hashed, hashed, problem)

    def _hashed(self, hashed: str | None, problem: str | None) -> None:
        self.hashing = False
        if not self.is_attached:        # the flow was closed while hashing
            return
        if problem:
            self.notify(f"The password was not set: {problem}", severity="error", markup=False, timeout=10)
            self.show()
            return
        self.change(replace(self.answers, password_hash=hashed))
