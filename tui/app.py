"""The XenBox console: a keyboard-driven Textual app on the screen (tty1) and the serial line (hvc0).

Letter keys only: F-keys often don't cross a serial line. Ctrl-A is Xen's
(three of them switch the serial input to the hypervisor), so it is never bound.
"""
from __future__ import annotations

import time

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.widget import AwaitMount

from hypervisor import runner
from hypervisor.host.boot_messages import log_size
from hypervisor.host.console_password import ConsoleAccess, read_access, store_hash
from hypervisor.host.kernel_messages import PrintedMessages
from hypervisor.xen.xl import Xl
from tui.first_boot.watch import FirstBootWatch
from tui.handover import TerminalBack, hand_over
from tui.screens.lock import LockScreen
from tui.screens.overview import OverviewScreen
from tui.screens.xen_log import XenLogScreen
from tui.terminal import QUERY, is_serial, kernel_size, plausible_size, set_kernel_size
from tui.widgets.confirm import Confirm
from tui.widgets.new_password import ask_new_password

# busybox init runs rc.shutdown on these: guests stop cleanly first. Absolute paths:
# init gives the console a PATH without /usr/local/bin, where the applet links live.
POWER_OFF = ["/bin/busybox", "poweroff"]
REBOOT = ["/bin/busybox", "reboot"]
SHELL = ["/bin/sh", "-l"]

# How often the console looks at its lock: the boot's word on the data store (read after the console
# starts), or a password set from the other console, locks or opens this one within that time.
LOCK_CHECK_SECONDS = 2.0
ALLOWED_WHEN_LOCKED = {"redraw"}    # every other action of the app (Ctrl-Q's quit too) waits for the password
# How often a console looks for messages printed over it: the kernel's errors on both consoles
# (hypervisor/host/kernel_messages.py), the boot's on the serial line (hypervisor/host/boot_messages.py).
MESSAGES_SECONDS = 1.0
KERNEL_NOTICES = 3          # the kernel's last few errors of a second are also said, or a redraw would hide them


def data_store_mounted() -> bool:
    from hypervisor.storage.datastore import DataStore     # LVM's module, loaded only when asked
    return DataStore().is_mounted()


class XenBoxApp(App):
    TITLE = "XenBox"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("l", "xen_log", "Xen log"),
        Binding("s", "shell", "Shell"),
        Binding("w", "password", "Password"),
        Binding("c", "serial_port", "Serial"),
        Binding("R", "reboot", "Reboot"),
        Binding("P", "power_off", "Power off"),
        Binding("ctrl+l", "redraw", "Redraw"),
    ]

    def __init__(self, tty: str = "", xl: Xl | None = None) -> None:
        super().__init__()
        self.tty = tty
        self.xl = xl or Xl.on_this_host()
        self._last_activity = time.monotonic()
        self._lock: LockScreen | None = None
        self._held: list[tuple] = []                # screens asked for while locked: shown once open
        # The password hashes typed or set on this console: the lock asks again for any other. A hash being
        # stored is in it from before its file is written, so the lock's next look never races the write.
        self._known_here: frozenset[str] = frozenset()
        self._problem_said: str | None = None
        self.terminal = 0           # the file descriptor the shell gets as its terminal
        self.first_boot = FirstBootWatch(self, self._first_boot_screen, self._set_up_here, data_store_mounted,
                                         tty=tty)

    def on_mount(self) -> None:
        self.theme = "ansi-dark" if self.tty else "textual-dark"
        self.sub_title = f"console on {self.tty}" if self.tty else ""
        self.push_screen(OverviewScreen(self.xl))
        # Locked from the first frame while a password may exist. The boot leaves its first-boot marker a
        # while after the console starts: looked for as often, never over the lock.
        self.look_again()
        self.set_interval(LOCK_CHECK_SECONDS, self.look_again)
        if self.tty:        # a real console, which the kernel prints its errors on
            self._kernel_messages = PrintedMessages()
            self._boot_log_size = log_size()
            self.set_interval(MESSAGES_SECONDS, self.redraw_over_messages)

    def redraw_over_messages(self) -> None:
        """Messages printed over this screen scroll it: draw it all again after them. The kernel's
        errors are said in a notification too, or the redraw would hide them."""
        printed = self._kernel_messages.since_last_look()
        for text in printed[-KERNEL_NOTICES:]:
            self.notify(text, title="Kernel", severity="error", timeout=15)
        boot_said = False
        if is_serial(self.tty):     # boot messages go to the serial line only
            size = log_size()
            boot_said, self._boot_log_size = size != self._boot_log_size, size
        if printed or boot_said:
            self.refresh(repaint=True)

    # -- the console lock ------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_activity = time.monotonic()
        await super().on_event(event)

    def look_again(self) -> None:
        self.check_lock()
        if self._lock is None:
            self.first_boot.check()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._lock is None or action in ALLOWED_WHEN_LOCKED

    def check_lock(self) -> None:
        """Lock while a password may exist that cannot be checked yet, when one is set that was not typed
        here yet, or after the idle time; open when none may exist any more."""
        access = read_access()
        self._say(access.problem)
        if self._lock is not None:
            if access.locks:
                self._lock.show(access)
            elif self.screen is self._lock:
                self._lock.dismiss(None)
            return
        if not access.locks:
            self._known_here = frozenset()
            return
        idle = time.monotonic() - self._last_activity
        if access.locked_because or access.password_hash not in self._known_here or idle >= access.idle_lock_seconds:
            self._show_lock(access)

    def _show_lock(self, access: ConsoleAccess) -> None:
        self._lock = LockScreen(access)
        self.push_screen(self._lock, self._unlocked)

    def _unlocked(self, password_hash: str | None) -> None:
        self._lock = None
        self._known_here = frozenset({password_hash}) if password_hash else frozenset()
        self._last_activity = time.monotonic()
        held, self._held = self._held, []
        for screen, callback in held:
            self.push_screen(screen, callback)

    def push_screen(self, screen, callback=None, wait_for_dismiss=False, **options):
        """Nothing opens over the lock: a question asked meanwhile (a worker finishing under it, such as
        the Network screen's "keep them?") waits until the password has been typed."""
        if self._lock is not None and screen is not self._lock and not wait_for_dismiss:
            self._held.append((screen, callback))
            return AwaitMount(self.screen, [])
        return super().push_screen(screen, callback, wait_for_dismiss, **options)

    def _say(self, problem: str | None) -> None:
        """A console.toml that locks nobody out, or safe mode's open door, said once."""
        if problem and problem != self._problem_said:
            self.notify(problem, title="Console password", severity="warning", timeout=20)
        self._problem_said = problem

    def on_terminal_back(self, message: TerminalBack) -> None:
        """Back from the shell or a guest's console: hung up for want of input, the console locks; ended
        by the person, that was activity."""
        if not message.left_idle:
            self._last_activity = time.monotonic()
        elif self._lock is None and (access := read_access()).locks:
            self._show_lock(access)

    # -- first boot ----------------------------------------------------------------------
    def _first_boot_screen(self, claim):
        from tui.first_boot.flow import FirstBootScreen      # the answer file's modules: only when needed
        return FirstBootScreen(self.xl, claim=claim)

    def _set_up_here(self, answers) -> None:
        """About to be applied here, the password just typed: this console is not locked by it."""
        self._known_here = frozenset({answers.password_hash}) if answers.password_hash else frozenset()

    def action_password(self) -> None:
        if not data_store_mounted():
            self.notify("The console password is kept on the data store: make one first (key t).",
                        severity="warning", timeout=8)
            return
        ask_new_password(self, self._store_password)

    @work(thread=True, exclusive=True, group="password", exit_on_error=False)
    def _store_password(self, password: str) -> None:
        """yescrypt is slow on purpose (a second or more under emulation): not in the UI's thread."""
        from hypervisor.host.password import PasswordError, hash_password
        try:
            hashed = hash_password(password)
        except (PasswordError, ValueError) as error:
            self.call_from_thread(self.notify, f"The password was not changed: {error}", severity="error",
                                  timeout=10)
            return
        self.call_from_thread(self._storing, hashed)
        try:
            store_hash(hashed)
        except (OSError, ValueError) as error:
            self.call_from_thread(self._not_stored, hashed, error)
            return
        self.call_from_thread(self._password_stored, hashed)

    def _storing(self, hashed: str) -> None:
        self._known_here |= {hashed}        # old and new both open this console while the file changes

    def _not_stored(self, hashed: str, error: Exception) -> None:
        self._known_here -= {hashed}
        self.notify(f"The password was not changed: {error}", severity="error", timeout=10)

    def _password_stored(self, hashed: str) -> None:
        self._known_here = frozenset({hashed})
        self.notify("Console password set: both consoles ask for it from now on.", timeout=8)

    def action_serial_port(self) -> None:
        from tui.serial_choice import ask_serial_port
        ask_serial_port(self, data_store_mounted)

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
        def shell(idle_limit: int | None) -> str | None:
            print("XenBox shell. Type 'exit' to return to the console.", flush=True)
            if idle_limit:
                print(f"With no input for {idle_limit} s it is hung up and the console locks.", flush=True)
            try:
                runner.on_terminal(SHELL, idle_limit=idle_limit, terminal=self.terminal)
            except runner.CommandError as error:
                return error.sentence
            return None
        problem = hand_over(self, shell)
        if problem:
            self.notify(f"No shell: {problem}", severity="error")

    def action_power_off(self) -> None:
        self._confirm_then("Power off this host? Guests are shut down first.", POWER_OFF, "Powering off")

    def action_reboot(self) -> None:
        self._confirm_then("Reboot this host? Guests are shut down first.", REBOOT, "Rebooting")

    def _confirm_then(self, question: str, argv: list[str], doing: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(f"{doing} ... guests are being shut down.", timeout=30)
                try:
                    runner.spawn(argv)
                except runner.CommandError as error:
                    self.notify(f"{doing} failed: {error.sentence}", severity="error")
        self.push_screen(Confirm(question), answered)
