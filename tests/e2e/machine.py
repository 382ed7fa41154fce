"""Boot the real ISO under QEMU (TCG) and hand back its serial console."""
from __future__ import annotations

import contextlib
import json
import tempfile
import threading
from pathlib import Path

from conftest import LOGS
from firmware.qemu import Machine
from serial import SerialConsole, Timeout

# The overview, not the first-boot screens' first step, which shows the HVM line too.
OVERVIEW = r"(?s)HVM: (available|unavailable).*Domains"
FIRST_BOOT = r"Step 1 of 5"
# A host with nothing set up opens the first-boot steps over the overview, often before the overview has
# been drawn whole: either one means the console is up.
CONSOLE_UP = rf"{OVERVIEW}|{FIRST_BOOT}"
# A limit for a boot that hangs, not a speed target (`make bench` measures that): under TCG
# on a loaded 2-core CI machine, UEFI (the console on tty1 is a framebuffer drawn by the
# emulated CPU) has once taken over 400 s; ~60-150 s when idle.
BOOT_TIMEOUT = 600
# A typed line's echo: seconds when idle; a minute has been seen on a loaded CI host.
ECHO_WAIT = 90
# The console's screen, back from the shell: seconds when idle; then a redraw is asked for.
REDRAW_AFTER = 60


@contextlib.contextmanager
def booted(iso: Path, name: str, **machine_options):
    """The ISO booted under QEMU. Xen's serial keys are kept on (by the machine's SMBIOS, which the
    serial line cannot set) for `wait_for_console`'s question to Xen, unless `xen_serial_keys=False`:
    the image as shipped."""
    machine_options.setdefault("xen_serial_keys", True)
    with tempfile.TemporaryDirectory(prefix=f"xenbox-{name}-") as workdir:
        machine = Machine(iso=iso, accel="tcg", **machine_options)
        console = SerialConsole(machine.argv(Path(workdir)), LOGS / f"{name}.serial.log")
        try:
            yield console
        finally:
            console.close()


def wait_for_console(console: SerialConsole, timeout: float = BOOT_TIMEOUT) -> None:
    """Until the console's first screen is up: the overview, or the first-boot steps. If it never comes,
    Xen's view of dom0 goes into the serial log before the test fails: the only clue a silent hang leaves."""
    try:
        console.wait_for_screen(CONSOLE_UP, timeout)
    except Timeout as timeout_error:
        since = len(console.transcript)
        console.ask_xen_what_dom0_is_doing()
        said = console.transcript[since:].decode(errors="replace").splitlines()
        where = [line for line in said if "Dumping Dom0" in line or "RIP:" in line]
        raise Timeout(f"{timeout_error}\nXen says dom0 was at:\n" + "\n".join(where)) from None


def wait_for_first_boot(console: SerialConsole) -> None:
    """A host with no settings, no answer file and no data store: once the boot has looked for an answer
    file, the console opens the first-boot screens over the overview."""
    console.wait_for_output(rb"xenbox: no settings kept and no answer file", BOOT_TIMEOUT)
    console.wait_for_screen(FIRST_BOOT, 180)


def leave_first_boot_for_later(console: SerialConsole) -> None:
    """What an operator does who sets the host up by hand, or not at all: Esc, and yes."""
    wait_for_first_boot(console)
    console.press("\x1b")
    console.wait_for_screen(r"Set this host up later\?", 180)
    console.press("y")
    console.wait_for_screen(OVERVIEW, 180)


def qemu_monitor(socket_path: Path, command: str) -> str:
    """One command to QEMU's human monitor (e.g. `device_del vdisk0`: the disk is pulled out)."""
    import socket
    import time
    with socket.socket(socket.AF_UNIX) as monitor:
        monitor.connect(str(socket_path))
        monitor.settimeout(10)
        time.sleep(0.5)
        monitor.recv(65536)                 # the banner and prompt
        monitor.sendall(command.encode() + b"\n")
        time.sleep(1)
        return monitor.recv(65536).decode(errors="replace")


def run_ok(shell: "Shell", command: str, timeout: float = 300) -> str:
    """`shell.run`, asserting the command exited 0; what it printed is in the failure."""
    said = shell.run(command, timeout)
    assert shell.status == 0, f"`{command}` exited {shell.status}: {said}"
    return said


def pv_drivers(shell: "Shell", name: str) -> dict | None:
    """What `xenbox appliance list --json` says of `name`'s PV drivers (the Appliances screen's line), or None
    when it is not running. Compact JSON: one line, found among whatever the kernel printed around it."""
    said = run_ok(shell, "xenbox appliance list --json | python3 -m json.tool --compact", 120)
    listed = json.loads([line for line in said.splitlines() if line.startswith("[")][-1])
    return next(row for row in listed if row["name"] == name)["pv_drivers"]


def data_store_and_stick(shell: "Shell", stick_at: str) -> None:
    """For a guest of the test's own: the autostarted sample guest destroyed (its memory and CPU are the new
    guest's), a data store made on the blank first disk (vda), the stick (vdb) mounted read-only at `stick_at`."""
    shell.run("xl destroy sample-web 2>/dev/null; true", 120)
    run_ok(shell, "xenbox storage init /dev/vda", 600)
    run_ok(shell, f"mkdir -p {stick_at} && mount -o ro /dev/vdb {stick_at}")


class Shell:
    """A dom0 shell opened from the console (key `s`); `exit` goes back to the console, whose screen
    then shows `back_to` (a regex: the overview, unless a lock may come up in between)."""

    def __init__(self, console: SerialConsole, back_to: str = OVERVIEW) -> None:
        self.console = console
        self.back_to = back_to
        self.count = 0

    # Limits, not speed targets: a CI host running two TCG machines has left a key unanswered for 47 s.
    def __enter__(self) -> "Shell":
        self.console.press("s")
        self.console.wait_for_screen(r"XenBox shell", 180)
        return self

    def run(self, command: str, timeout: float = 300) -> str:
        """Run one command; returns what it printed, and keeps its exit code in `status`."""
        self.count += 1
        begin, end = f"BEGIN{self.count}", f"END{self.count}"
        since = len(self.console.transcript)
        # The echoed command line holds "BEGIN1;" and "END1-$?": only real output matches.
        self.console.type_line(f"echo {begin}; {command}; echo {end}-$?")
        pattern = rf"(?s){begin}\r*\n(.*?)\r*\n?{end}-(\d+)".encode()
        try:
            match = self.console.wait_for_output(pattern, min(timeout, ECHO_WAIT), since=since)
        except Timeout:
            self._push_through_if_stuck(f"{end}-$?", since)
            try:
                match = self.console.wait_for_output(pattern, max(timeout - ECHO_WAIT, 1), since=since)
            except Timeout as timeout_error:
                raise Timeout(f"{timeout_error}\n{self.console.ask_xen_where_its_cpus_are()}") from None
        self.status = int(match.group(2))
        return match.group(1).decode(errors="replace").replace("\r", "")

    def _push_through_if_stuck(self, tail: str, since: int) -> None:
        """Seen on CI with two machines busy: a line's last 9 bytes reached dom0's terminal only
        when the next key was typed 600 s later (then all ran as typed). They waited below XenBox, in
        the emulated serial port or Xen's console. Ctrl-R is such a next key that changes nothing: the
        terminal answers it by printing the line again, and the shell never sees it. Typed only when
        the line's end never came back: the shell's prompt may land inside the echo ("END1# -$?")
        when typing outran it, which is no stall."""
        echoed = self.console.transcript[since:].replace(b"# ", b"")
        if tail.encode() not in echoed:
            self.console.note(f"{tail!r} not echoed within {ECHO_WAIT} s: typing Ctrl-R")
            self.console.press("\x12")

    def __exit__(self, *exc) -> None:
        self.console.type_line("exit")
        self.console.screen.reset()
        try:
            self.console.wait_for_screen(self.back_to, REDRAW_AFTER)
        except Timeout:
            # Seen on CI with two machines busy: the console came back drawn in part (its clock ticking in
            # a header whose other rows stayed blank). Ctrl-L is the console's own redraw key, there for a
            # serial terminal that lost part of a frame; an operator would press it too.
            self.console.note(f"{self.back_to!r} not drawn within {REDRAW_AFTER} s of exit: typing Ctrl-L")
            self.console.press("\x0c")
            self.console.wait_for_screen(self.back_to, 180 - REDRAW_AFTER)


class ReadInTheBackground:
    """Several machines at once: each one's output is read all the time, by a thread of its own, except
    while the test uses it (`using`). Left unread, a console's output backs up from QEMU's serial line into
    Xen's, which drops what it cannot send: lines go missing from the log and the screen."""

    def __init__(self, consoles: dict[str, SerialConsole]) -> None:
        self.consoles = consoles
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        for name in consoles:
            self._start(name)

    def _start(self, name: str) -> None:
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    self.consoles[name].pump(0.2)
                except Exception:       # noqa: BLE001 - the machine ended; the test sees that when it uses it
                    return
        self._stops[name], self._threads[name] = stop, threading.Thread(target=read, daemon=True)
        self._threads[name].start()

    def _stop(self, name: str) -> None:
        self._stops.pop(name).set()
        self._threads.pop(name).join(10)

    @contextlib.contextmanager
    def using(self, *names: str):
        """The named consoles, read by the test alone until the block ends."""
        for name in names:
            self._stop(name)
        try:
            yield [self.consoles[name] for name in names]
        finally:
            for name in names:
                self._start(name)

    def close(self) -> None:
        for name in list(self._stops):
            self._stop(name)
