"""Which serial port carries the console, and at what speed: one word, `com2,115200`, everywhere.

The boot menu (board/pc/grub.cfg) picks the port before Xen starts: Xen's `console=` and `comN=` follow it,
dom0's `hvc0` is Xen's console so it follows too, and dom0's command line carries the choice as
`xenbox.serial=com2,115200` (what `running` reads). A box with a data store keeps its choice there, in
`config/boot.env`, a GRUB environment block that the menu reads through LVM at every boot
(`load_env` of the one variable `xenbox_serial`, its value checked again by the menu). Written by
`xenbox host serial PORT,SPEED` or an answer file's `console.serial`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hypervisor.settings.atomic import write_atomically
from hypervisor.storage import MOUNTPOINT

BOOT_ENV = MOUNTPOINT / "config" / "boot.env"
PORTS = ("com1", "com2")
SPEEDS = (9600, 19200, 38400, 57600, 115200)     # what IPMI Serial-over-LAN, iDRAC and iLO offer; grub.cfg lists them too
DEFAULT = "com1,115200"
PARAMETER = "xenbox.serial"
GRUB_VARIABLE = "xenbox_serial"
# GRUB's environment block (grub-core/lib/envblk.c): this first line, `name=value` lines, and '#' up to 1024 bytes.
ENV_HEADER = "# GRUB Environment Block\n"
ENV_SIZE = 1024
FIX = f"write the port (com1 or com2) and a speed ({', '.join(map(str, SPEEDS))}), for example com2,115200"


class SerialPortError(ValueError):
    """Why a serial choice cannot be used and how to write it, as the end of a sentence naming it:
    f"serial port {given!r} {error}"."""


@dataclass(frozen=True)
class SerialPort:
    port: str       # com1 | com2: Xen's names; GRUB's unit is the number minus one
    speed: int

    @property
    def word(self) -> str:
        return f"{self.port},{self.speed}"

    def __str__(self) -> str:
        return f"{self.port.upper()} at {self.speed} baud"


def parse_serial(text: str) -> SerialPort:
    """`com2,115200` (any case, spaces around the comma allowed) as a SerialPort; anything else refused."""
    match = re.fullmatch(r"\s*(com[0-9]+)\s*,\s*([0-9]+)\s*", text.lower())
    if match is None:
        raise SerialPortError(f"is not PORT,SPEED: {FIX}")
    port, speed = match[1], int(match[2])
    if port not in PORTS:
        raise SerialPortError(f"names {port}, which the boot menu does not offer: {FIX}")
    if speed not in SPEEDS:
        raise SerialPortError(f"has a speed of {speed}, which the boot menu does not offer: {FIX}")
    return SerialPort(port, speed)


def running(cmdline: Path = Path("/proc/cmdline")) -> SerialPort:
    """The port this boot's console is on, as the boot menu told dom0 (COM1 at 115200 if it did not)."""
    words = cmdline.read_text().split()
    given = [word.split("=", 1)[1] for word in words if word.startswith(PARAMETER + "=")]
    try:
        return parse_serial(given[-1] if given else DEFAULT)
    except SerialPortError:
        return parse_serial(DEFAULT)        # the menu checks the value it passes on; a hand-edited one is not its


def env_block(choice: SerialPort) -> str:
    """The GRUB environment block that makes the boot menu use `choice`."""
    text = f"{ENV_HEADER}{GRUB_VARIABLE}={choice.word}\n"
    return text + "#" * (ENV_SIZE - len(text))


def parse_env_block(text: str, source: str = str(BOOT_ENV)) -> SerialPort | None:
    """The choice a block holds (None: it holds none). GRUB reads only blocks that start with its header."""
    again = "write it again with `xenbox host serial PORT,SPEED`"
    if not text.startswith(ENV_HEADER):
        raise SerialPortError(f"in {source} cannot be read: it is not a GRUB environment block; {again}")
    values = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(GRUB_VARIABLE + "=")]
    if not values:
        return None
    try:
        return parse_serial(values[-1])
    except SerialPortError as error:
        raise SerialPortError(f"{values[-1]!r} in {source} {error}") from None


def kept(path: Path = BOOT_ENV) -> SerialPort | None:
    """The choice kept on the data store, None if there is none."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    return parse_env_block(text, str(path))


def keep(choice: SerialPort, path: Path = BOOT_ENV) -> None:
    """From the next boot on, the menu's entries use `choice` (the data store must be mounted)."""
    write_atomically(path, env_block(choice))
