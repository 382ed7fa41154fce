"""The XenBox console: a keyboard-driven Textual app on the screen (tty1) and the serial line (hvc0).

Letter keys only: F-keys often don't cross a serial line. Ctrl-A is Xen's
(three of them switch the serial input to the hypervisor), so it is never bound.
"""
from __future__ import annotations

import subprocess

from textual import events
from textual.app import App
from textual.binding import Binding

from hypervisor.xl import Xl
from tui.screens.overview import OverviewScreen
from tui.screens.xen_log import XenLogScreen
from tui.terminal import QUERY, is_serial, kernel_size, plausible_size, set_kernel_size
from tui.widgets.confirm import Confirm

# busybox init runs rc.shutdown on these: guests stop cleanly first. Absolute paths:
# init gives the console a PATH without /usr/local/bin, where the applet links live.
POWER_OFF = ["/bin/busybox", "poweroff"]
REBOOT = ["/bin/busybox", "reboot"]
SHELL = ["/bin/sh", "-l"]


class XenBoxApp(App):
    TITLE = "XenBox"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("l", "xen_log", "Xen log"),
        Binding("s", "shell", "Shell"),
        Binding("R", "reboot", "Reboot host"),
        Binding("P", "power_off", "Power off"),
        Binding("ctrl+l", "redraw", "Redraw/resize"),
    ]

    def __init__(self, tty: str = "", xl: Xl | None = None) -> None:
        super().__init__()
        self.tty = tty
        self.xl = xl or Xl()

    def on_mount(self) -> None:
        self.theme = "ansi-dark" if self.tty else "textual-dark"
        self.sub_title = f"console on {self.tty}" if self.tty else ""
        self.push_screen(OverviewScreen(self.xl))

    def action_xen_log(self) -> None:
        self.push_screen(XenLogScreen(self.xl))

    def action_redraw(self) -> None:
        """Ctrl-L: draw everything again. On a serial line also ask the terminal its size:
        nothing tells the console that the window at the far end was resized."""
        if is_serial(self.tty) and self._driver is not None:
            self._driver.write(QUERY.decode())
            self._driver.flush()
        self.refresh(layout=True, repaint=True)

    def on_cursor_position(self, event: events.CursorPosition) -> None:
        """The terminal's answer to Ctrl-L's question (the cursor parked bottom-right)."""
        size = plausible_size(event.y + 1, event.x + 1)
        if size and is_serial(self.tty) and size != kernel_size(0):
            set_kernel_size(0, *size)   # the kernel signals the new size; Textual lays out again

    def action_shell(self) -> None:
        with self.suspend():
            print("XenBox shell. Type 'exit' to return to the console.", flush=True)
            subprocess.run(SHELL)

    def action_power_off(self) -> None:
        self._confirm_then("Power off this host? Guests are shut down first.", POWER_OFF, "Powering off")

    def action_reboot(self) -> None:
        self._confirm_then("Reboot this host? Guests are shut down first.", REBOOT, "Rebooting")

    def _confirm_then(self, question: str, argv: list[str], doing: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(f"{doing} ... guests are being shut down.", timeout=30)
                subprocess.Popen(argv)
        self.push_screen(Confirm(question), answered)
