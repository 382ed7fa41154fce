"""A torture host: its disk files, and bringing its console up to where a person can use it."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from machine import BOOT_TIMEOUT, CONSOLE_UP, FIRST_BOOT, OVERVIEW
from serial import SerialConsole, Timeout

LOCKED = r"this console is locked"
ANY_SCREEN = rf"{CONSOLE_UP}|{LOCKED}"
DISK_MIB = 2048
# The boot's last step: the built-in sample (autostart order 10) started or not. By then the data store is
# mounted and read, and the boot has decided on the first-boot screens.
SAMPLE_STARTED = rb"xenbox: appliance sample-web (started|NOT started)"
AUTOSTART_DONE = "/run/xenbox/autostart.json"       # written when the boot's autostart has finished
BOOT_PID = "/run/xenbox/boot.pid"                   # `xenbox host boot`, while it runs
NO_SETTINGS = rb"xenbox: no settings kept and no answer file"   # the console then opens the first-boot steps


def blank_disk(path: Path, mib: int = DISK_MIB) -> Path:
    with open(path, "wb") as image:
        image.truncate(mib * 1024 * 1024)
    return path


def copy_disk(source: Path, target: Path) -> Path:
    """A sparse copy: the 2 GiB data disk holds a few hundred MiB."""
    subprocess.run(["cp", "--sparse=always", str(source), str(target)], check=True)
    return target


def answer_disk(folder: Path, answer: str, bundle: Path) -> Path:
    """A volume labelled XENBOX holding answer.toml and, beside it, the bundle it names (made without
    mounting, as the e2e tests' answer volume)."""
    content = folder / "answer-volume"
    content.mkdir()
    (content / "answer.toml").write_text(answer)
    shutil.copytree(bundle, content / bundle.name)
    image = blank_disk(folder / "answer.img", 128)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "XENBOX", "-d", str(content), str(image)], check=True)
    shutil.rmtree(content)
    return image


def bring_up(console: SerialConsole, passwords: tuple[str, ...], password_required: bool,
             problems: list[str]) -> bool:
    """Until the console shows the overview: it came up, the boot has started its appliances, the
    first-boot steps are left for later, the lock is opened. Every way that went wrong is a problem;
    False when the console cannot be used at all."""
    try:
        console.wait_for_screen(ANY_SCREEN, BOOT_TIMEOUT)
    except Timeout:
        problems.append(f"the console did not come up within {BOOT_TIMEOUT} s")
        return False
    try:
        console.wait_for_output(SAMPLE_STARTED, BOOT_TIMEOUT)
    except Timeout:     # the boot may have stopped early: the console, the lock and dom0 are still looked at
        problems.append(f"the boot did not start the sample appliance within {BOOT_TIMEOUT} s of the console")
    console.settle(5)           # the console looks for a password and the first-boot marker every 2 s
    if re.search(NO_SETTINGS, console.transcript):
        try:
            console.wait_for_screen(FIRST_BOOT, 180)
        except Timeout:
            problems.append("the boot found no settings, and the console never opened the first-boot steps")
            return False
    screen = console.display()
    if re.search(LOCKED, screen):
        return unlock(console, passwords, problems)
    if password_required:
        problems.append(f"the console is not locked, though the password {passwords[0]!r} was set before the cut")
    if re.search(FIRST_BOOT, screen):
        return leave_first_boot(console, problems)
    return True


def unlock(console: SerialConsole, passwords: tuple[str, ...], problems: list[str]) -> bool:
    for tries, password in enumerate(passwords, start=1):
        console.type_line(password)
        # The lock is a box drawn over the overview, which stays visible around it: opened is its text gone.
        try:
            console.wait_for_screen(rf"(?s)Wrong password \({tries} wrong|\A(?!.*{LOCKED})", 180)
        except Timeout:
            problems.append("the lock screen did not answer a password within 180 s")
            return False
        if not re.search(LOCKED, console.display()):
            return True
    tried = " or ".join(repr(p) for p in passwords) or "no password (none was set)"
    problems.append(f"locked out: the console is locked and {tried} does not open it")
    return False


def leave_first_boot(console: SerialConsole, problems: list[str]) -> bool:
    """Esc and yes: the host is set up by hand (the storage-init operation does that)."""
    try:
        console.press("\x1b")
        console.wait_for_screen(r"Set this host up later\?", 180)
        console.press("y")
        console.wait_for_screen(OVERVIEW, 180)
    except Timeout:
        problems.append("the first-boot steps could not be left for later")
        return False
    return True


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
