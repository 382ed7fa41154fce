"""The operations a power cut falls into, each driven as a person would: at the console's keys, or in
its dom0 shell (key `s`) between two echoed markers.

Each one prepares what it needs first (not timed, never cut), then marks its span on a Window: from
its start marker to its end marker. `expected` says what must hold after a cut, given whether the end
marker had come (the operation was acknowledged) before the power went.
"""
from __future__ import annotations

from dataclasses import replace

from machine import BOOT_TIMEOUT, OVERVIEW, Shell
from serial import SerialConsole

from . import bundles
from .expected import Appliance, Expected
from .power import Window

GATEWAY = "10.0.2.2"                 # QEMU's user network
ANSWER_ADDRESS = "10.0.2.50/24"
ANSWER_PASSWORD = "change-me"        # its hash is in ANSWER (tests/fixtures/answer/example.toml's)
ANSWER = f"""
[host]
hostname = "tortured"

[network]
ipv4 = "static"
address = "{ANSWER_ADDRESS}"
gateway = "{GATEWAY}"
dns = ["10.0.2.3"]
ipv6 = "off"

[storage]
data_disks = ["/dev/disk/by-id/virtio-XB-DISK-0"]

[console]
password_hash = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"

[[appliances]]
source = "cargo"
autostart = true
order = 20
"""


class OperationFailed(Exception):
    """The operation itself failed before the power went: nothing was cut."""


class Operation:
    name = ""
    starts_from = "golden"      # "golden": the calibrated host; "blank": one blank disk; "answer": and an answer volume
    during_boot = False         # its span is part of the boot: nothing is typed before it
    shell: Shell | None = None

    def drive(self, console: SerialConsole, window: Window) -> None:
        raise NotImplementedError

    def expected(self, before: Expected, acknowledged: bool) -> Expected:
        return before

    def leave(self, console: SerialConsole) -> None:
        """Back to the overview after an uncut run (calibration goes on to the next operation)."""
        if self.shell:
            self.shell.__exit__(None, None, None)

    def _open_shell(self, console: SerialConsole) -> Shell:
        self.shell = Shell(console).__enter__()        # left open: the cut comes while it runs
        return self.shell


def timed(shell: Shell, window: Window, command: str, limit: float) -> None:
    """Run `command` in the open dom0 shell between a start and an end marker of its own."""
    shell.count += 1
    start, end = f"START{shell.count}", f"END{shell.count}"
    console = shell.console
    since = len(console.transcript)
    # The echoed line holds "START1;" and "END1-$?": only what the shell prints matches.
    console.type_line(f"echo {start}; {command}; echo {end}-$?")
    console.wait_for_output(rf"{start}\r*\n".encode(), 180, since=since)
    window.begin("output", rf"{end}-(\d+)".encode())
    match = window.finish(limit)
    if match.group(1) != b"0":
        said = console.transcript[window.since:].decode(errors="replace").replace("\r", "")
        raise OperationFailed(f"`{command}` exited {match.group(1).decode()}: {said.strip()[-300:]}")


class AddAppliance(Operation):
    """`xenbox appliance add` of a new bundle with a 48 MiB image."""
    name = "appliance-add"

    def __init__(self, appliance: str = "newcomer", autostart: bool = False) -> None:
        self.appliance, self.autostart = appliance, autostart

    def drive(self, console, window):
        shell = self._open_shell(console)
        folder = f"/tmp/{self.appliance}"
        self.checksum = bundles.make_in_dom0(shell, folder, self.appliance, self.autostart)
        timed(shell, window, f"xenbox appliance add {folder}", 600)

    def expected(self, before, acknowledged):
        return before.with_appliance(self.appliance, Appliance((self.checksum,), acknowledged))


class ReplaceAppliance(Operation):
    """`xenbox appliance add --replace` of cargo (stopped first) with a new image."""
    name = "appliance-replace"

    def drive(self, console, window):
        shell = self._open_shell(console)
        shell.run("xl destroy cargo 2>/dev/null; true", 120)
        self.checksum = bundles.make_in_dom0(shell, "/tmp/cargo", "cargo", autostart=True)
        timed(shell, window, "xenbox appliance add --replace /tmp/cargo", 600)

    def expected(self, before, acknowledged):
        old = before.appliances["cargo"].checksums
        versions = (self.checksum,) if acknowledged else (*old, self.checksum)
        return before.with_appliance("cargo", Appliance(versions, True))


class StorageInit(Operation):
    """`xenbox storage init` on the host's blank disk."""
    name = "storage-init"
    starts_from = "blank"

    def drive(self, console, window):
        timed(self._open_shell(console), window, "xenbox storage init /dev/vda", 600)

    def expected(self, before, acknowledged):
        return replace(before, data_store=True if acknowledged else None)


class ChangeNetwork(Operation):
    """The Network screen: a new IPv4 address applied, then kept (`y`), or left unanswered until the
    console puts the previous settings back by itself."""

    def __init__(self, address: str, keep: bool) -> None:
        self.address, self.keep = address, keep
        self.name = "network-keep" if keep else "network-rollback"

    def drive(self, console, window):
        console.press("n")
        console.wait_for_screen(r"Management interface", 180)
        console.press("4")
        console.wait_for_screen(r"(?s)IPv4: .*Enter = accept", 180)
        console.type_line(f"{self.address} {GATEWAY}")
        console.wait_for_screen(r"Changes", 180)
        since = len(console.transcript)
        console.press("a")
        console.wait_for_output(rb"Applying", 180, since=since)
        window.begin("screen", r"Kept: applied at every boot" if self.keep
                     else r"The previous settings are back in force")
        if self.keep:
            window.wait_for_screen(r"Keep them\?", 300)
            window.press("y")
        window.finish(300)

    def expected(self, before, acknowledged):
        if not self.keep:
            return before               # never kept: the previous settings, cut or not
        addresses = (self.address,) if acknowledged else (*before.addresses, self.address)
        return replace(before, addresses=addresses)

    def leave(self, console):
        console.press("b")
        console.wait_for_screen(OVERVIEW, 180)


class ChangePassword(Operation):
    """Key `w`: the console password typed twice. The span starts as the second one is sent (no marker
    comes before it) and ends when the console says it is set."""
    name = "password"

    def __init__(self, password: str) -> None:
        self.password = password

    def drive(self, console, window):
        console.press("w")
        console.wait_for_screen(r"Console password \(at least", 180)
        console.type_line(self.password)
        console.wait_for_screen(r"Type the console password again", 180)
        console.type_line(self.password)
        window.begin("screen", r"Console password set")
        window.finish(300)

    def expected(self, before, acknowledged):
        if acknowledged:
            return replace(before, passwords=(self.password,), password_required=True)
        return replace(before, passwords=(*before.passwords, self.password))


class FirstBootApply(Operation):
    """An answer file found at boot, applied: data store, network, password and an appliance."""
    name = "first-boot"
    starts_from = "answer"
    during_boot = True

    def __init__(self, checksum: str) -> None:
        self.checksum = checksum        # the answer volume's bundle's image

    def drive(self, console, window):
        console.wait_for_output(rb"xenbox: answer file: found on", BOOT_TIMEOUT)
        window.begin("output", rb"xenbox: answer file: applied[^\r\n]*")
        said = window.finish(BOOT_TIMEOUT).group(0)
        if said != b"xenbox: answer file: applied":
            raise OperationFailed(said.decode(errors="replace"))

    def expected(self, before, acknowledged):
        cargo = Appliance((self.checksum,), acknowledged)
        if acknowledged:
            return Expected(True, (ANSWER_PASSWORD,), True, {"cargo": cargo}, (ANSWER_ADDRESS,))
        return Expected(None, (ANSWER_PASSWORD,), False, {"cargo": cargo})


class Autostart(Operation):
    """The boot starting the appliances: from its data store line to cargo's start (the last, order 20)."""
    name = "autostart"
    during_boot = True

    def drive(self, console, window):
        console.wait_for_output(rb"xenbox: Data store: VG", BOOT_TIMEOUT)
        window.begin("output", rb"xenbox: appliance cargo (started|NOT started[^\r\n]*)")
        said = window.finish(BOOT_TIMEOUT).group(0)
        if b"NOT started" in said:
            raise OperationFailed(said.decode(errors="replace"))
