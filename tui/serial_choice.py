"""The console's `c` key: which serial port carries the console from the next boot on, kept on the data
store like `xenbox host serial PORT,SPEED` keeps it (hypervisor/host/serial_port.py).

Asked as a list of the ports and speeds the boot menu offers, so that nothing typed can be wrong; the
choice is written when picked, and this boot's port is left alone (the boot menu picked it)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from hypervisor.host import serial_port
from tui.widgets.pick import Pick

BOOT_ENV = serial_port.BOOT_ENV       # where the choice is kept, and what tells this boot's: read when asked
CMDLINE = Path("/proc/cmdline")
HEADINGS = {"com1": "COM1", "com2": "COM2 (where many servers' Serial-over-LAN is: IPMI, iDRAC, iLO)"}


def choices(now: serial_port.SerialPort, kept: serial_port.SerialPort | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Pick's groups: a port each, its speeds under it, the current ones marked."""
    def shown(choice: serial_port.SerialPort) -> str:
        marks = [word for word, is_it in (("this boot", choice == now), ("kept", choice == kept)) if is_it]
        return f"{choice}" + (f"   ({', '.join(marks)})" if marks else "")
    return [(HEADINGS[port], [(shown(serial_port.SerialPort(port, speed)), f"{port},{speed}") for speed in serial_port.SPEEDS])
             for port in serial_port.PORTS]


def question(now: serial_port.SerialPort, kept: serial_port.SerialPort | None) -> str:
    nothing_kept = " (nothing kept yet: the boot menu's default)" if kept is None else ""
    return (f"The serial console is on {now} this boot, and on {kept or serial_port.parse_serial(serial_port.DEFAULT)} at the next "
            f"ones{nothing_kept}. Pick where it is from the next boot on; the boot menu's keys 1 and 2 still "
            f"pick a port for one boot.")


def ask_serial_port(app, data_store_mounted: Callable[[], bool]) -> None:
    boot_env, cmdline = BOOT_ENV, CMDLINE
    if not data_store_mounted():
        app.notify("The serial port is kept on the data store: make one first (key t), or pick the port in "
                   "the boot menu (keys 1 and 2) at each boot.", severity="warning", timeout=10)
        return
    try:
        kept = serial_port.kept(boot_env)
    except serial_port.SerialPortError as error:
        kept = None     # a damaged block: said, and replaced by what is picked now
        app.notify(f"The serial port kept {error}", severity="warning", timeout=10)
    now = serial_port.running(cmdline)

    def picked(word: str | None) -> None:
        if word is None:
            return
        choice = serial_port.parse_serial(word)
        try:
            serial_port.keep(choice, boot_env)
        except OSError as error:
            app.notify(f"The serial port was not changed: {boot_env} could not be written "
                       f"({error.strerror}).", severity="error", timeout=10)
            return
        app.notify(f"The console is on {choice} from the next boot on (Xen's and dom0's consoles follow); "
                   f"this boot's stays on {now}.", timeout=10)
    app.push_screen(Pick(question(now, kept), choices(now, kept)), picked)
