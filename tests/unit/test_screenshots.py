"""The README's pictures of the console: the real screens, drawn by Textual at 80x24 and exported as SVG.

Each test draws one screen with the stand-ins its own screen tests use (test_tui_appliances' FakeXl for
Xen, test_tui_storage's disks and data store, test_tui_first_boot's captured VM disks and NIC), then
checks what the picture says, read back from the SVG itself. With XENBOX_UPDATE_SCREENSHOTS=1 (`make
screenshots`) it also writes the picture to docs/screens/. Xen's `xl info` and log are the captured ones
(tests/fixtures/xen); the host's name, address and CPU and the clock are fixed, so a picture changes only
when its screen does.
"""
import asyncio
import html
import os
import re
import time
import types
from datetime import datetime
from pathlib import Path

import pytest
import textual.widgets._header as textual_header

import hypervisor.host.summary as host_facts
import tui.app as console_app
import tui.screens.overview as overview
from hypervisor.appliances.autostart_status import Outcome
from hypervisor.host.console_password import ConsoleAccess
from hypervisor.storage.datastore import DataStore, Status
from hypervisor.xen.domains import XenInfo, parse_info
from test_storage_volumes import lvm_with_guest_volumes
from test_tui_appliances import ApplianceApp, FakeXl, domains
from test_tui_first_boot import FlowApp, Recorder, flow_screen, host, press     # noqa: F401 (host: fixture)
from test_tui_storage import GROUP, FakeStore, StorageApp
from tui.screens.appliances import Places
from tui_pilot import settle

REPO = Path(__file__).resolve().parent.parent.parent
SCREENS = REPO / "docs" / "screens"
XEN = REPO / "tests" / "fixtures" / "xen"
SIZE = (80, 24)                 # the serial console's size
SHOWN_AT = (9, 41, 0)           # the header clock and the "updated" lines


class CapturedXl(FakeXl):
    """FakeXl, with what `xl info` and `xl dmesg` printed on XenBox under QEMU (qemu64,+npt)."""

    def info(self) -> XenInfo:
        return XenInfo.from_info(parse_info((XEN / "xl-info.txt").read_text()))

    def memory(self) -> tuple[int, int]:
        info = self.info()
        return info.total_memory_mib, info.free_memory_mib

    def dmesg(self) -> str:
        return (XEN / "dmesg-qemu64-npt.txt").read_text()


@pytest.fixture(autouse=True)
def fixed_host(tmp_path, monkeypatch):
    """This machine's name, addresses, CPU and clock would otherwise be in the pictures."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: QEMU Virtual CPU version 2.5+\n")
    monkeypatch.setattr(host_facts, "CPUINFO", cpuinfo)
    monkeypatch.setattr(host_facts, "SYS_CAPABILITIES", tmp_path / "no-sys-hypervisor")
    monkeypatch.setattr(host_facts, "socket", types.SimpleNamespace(gethostname=lambda: "edge-01"))
    monkeypatch.setattr(host_facts, "host_addresses", lambda: [("xenbr0", "10.0.2.15")])

    shown_at = datetime(2000, 1, 1, *SHOWN_AT)
    monkeypatch.setattr(textual_header, "datetime", types.SimpleNamespace(now=lambda: shown_at))
    strftime = time.strftime
    monkeypatch.setattr(time, "strftime", lambda format, t=None: strftime(format, shown_at.timetuple()))


def picture(app, name: str) -> list[str]:
    """The app's screen as Textual exports it, written to docs/screens/NAME.svg when asked; its text lines."""
    svg = app.export_screenshot()
    if os.environ.get("XENBOX_UPDATE_SCREENSHOTS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        (SCREENS / f"{name}.svg").write_text(svg)
    return svg_lines(svg)


def svg_lines(svg: str) -> list[str]:
    """The text of an SVG from rich's export_svg, one string per terminal line, each run of text at its column."""
    runs: dict[int, list[tuple[int, str]]] = {}
    for match in re.finditer(r'<text [^>]*\bx="([\d.]+)"[^>]*\btextLength="([\d.]+)"[^>]*-line-(\d+)\)">(.*?)</text>',
                             svg):
        x, length, line, text = float(match[1]), float(match[2]), int(match[3]), html.unescape(match[4])
        column = round(x / (length / len(text)))
        runs.setdefault(line, []).append((column, text.replace("\xa0", " ")))
    lines = []
    for line in range(max(runs, default=-1) + 1):
        text = ""
        for column, run in sorted(runs.get(line, [])):
            text = text.ljust(column) + run
        lines.append(text.rstrip())
    return lines


def has_line(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


def test_the_overview(monkeypatch):
    monkeypatch.setattr(console_app, "read_access", lambda: ConsoleAccess(None))
    monkeypatch.setattr(overview, "read_status", lambda: [Outcome("sample-web", True)])
    monkeypatch.setattr(DataStore, "status", lambda self: Status(GROUP, True))     # LVM would scan this machine
    monkeypatch.setattr(DataStore, "is_mounted", lambda self: True)

    async def draw():
        app = console_app.XenBoxApp(xl=CapturedXl(domains()))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            return picture(app, "overview")
    lines = asyncio.run(draw())
    assert "XenBox" in lines[0] and "09:41:00" in lines[0]
    for said in ("Host    edge-01 - 10.0.2.15 (xenbr0)", "Xen     4.17.7",
                 "CPU     QEMU Virtual CPU version 2.5+ - 2 cores",
                 "Memory  3071 MiB total, 1918 MiB free (1153 MiB in use)", "HVM: available (AMD-V)",
                 "Data store: VG xenbox, 2 GiB on 1 disk, 1 GiB free for guest volumes",
                 "sample-web  3   running  1      128 MiB", "3 domains - updated 09:41:00",
                 "a Appliances", "t Storage", "n Network", "l Xen log", "s Shell", "w Password",
                 "R Reboot", "P Power off", "^l Redraw"):
        assert has_line(lines, said), (said, lines)


def test_the_appliances_screen():
    async def draw():
        app = ApplianceApp(CapturedXl(domains()), Places(Path("/nonexistent/saved"), Path("/nonexistent/cores"),
                                                         Path("/nonexistent/logs")))
        app.title = "XenBox"
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            return picture(app, "appliances")
    lines = asyncio.run(draw())
    assert "XenBox — Appliances" in lines[0]
    for said in ("Name                          State     ID    vCPU  MiB     CPU%   Auto",
                 "sample-broken                 broken    -     -     -       -      no",
                 "sample-web                    running   3     1     128", "legacy-db                     running",
                 "Why sample-broken is broken", "memory.initial_mib = 'lots': must be a whole number of MiB",
                 "3 appliances: 2 running, 1 broken - updated 09:41:00",
                 "u Start", "X Destroy", "e Console", "a Add", "esc Back"):
        assert has_line(lines, said), (said, lines)


def test_the_storage_screen():
    async def draw():
        app = StorageApp(FakeStore(GROUP), lvm_with_guest_volumes(), Path("/nonexistent/images"))
        app.title = "XenBox"
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            return picture(app, "storage")
    lines = asyncio.run(draw())
    assert "XenBox — Storage" in lines[0]
    for said in ("Data store", "VG xenbox, 2 GiB on 1 disk, 1 GiB free for guest volumes", "Local disks",
                 "vda     2 GiB     nothing (blank)", "vdb     256 MiB   an ext4 filesystem labelled old",
                 "Guest volumes, on every pool", "gone.xvda                 local   128 MiB    no      - (left behind)",
                 "/dev/vda: 2 GiB, serial XB-DISK-0, id virtio-XB-DISK-0; holds nothing (blank)",
                 "i Make data store", "p Pools", "esc Back"):
        assert has_line(lines, said), (said, lines)


def test_the_first_boot_steps(host):
    async def draw():
        app = FlowApp(flow_screen(host, Recorder()))
        app.title = "XenBox"
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "n", "n", "down", "space")      # to the data store step; sdb chosen
            disks = picture(app, "first-boot-disks")
            await press(pilot, "n", "n")
            return disks, picture(app, "first-boot-review")
    disks, review = asyncio.run(draw())
    assert "XenBox — First boot" in disks[0]
    for said in ("Step 3 of 5:  Host > Network > [Data store] > Password > Review",
                 "[x]  sdb     128 MiB   nothing (blank)", "n/a  sdc", "the XenBox boot medium",
                 "[!]  vda     256 MiB   is an LVM physical volume",
                 "Data store on: /dev/disk/by-id/wwn-0x5000c50015ea71ad (erased)", "c Choose", "esc Later"):
        assert has_line(disks, said), (said, disks)
    for said in ("Step 5 of 5:  Host > Network > Data store > Password > [Review]",
                 "These settings are applied when you press a", "data disks: /dev/disk/by-id/wwn-0x5000c50015ea71ad",
                 "console password: none - anyone at the console can use it", "a Apply"):
        assert has_line(review, said), (said, review)


def test_the_new_guest_steps():
    from test_tui_new_guest import HOST, Creating
    from tui.screens.new_guest import NewGuestScreen
    from tui_pilot import ScreenApp
    from textual.widgets import Input

    async def draw():
        app = ScreenApp(NewGuestScreen(offer=lambda: HOST, make=Creating()))
        app.title = "XenBox"
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.screen.query_one(Input).value = "debian-web"
            await pilot.pause()
            return picture(app, "new-guest")
    lines = asyncio.run(draw())
    assert "XenBox — New guest" in lines[0]
    for said in ("New guest, step 1: Name", "The new guest's name (letters, digits, _ . -):", "debian-web",
                 "Type, then Enter to go on; Esc goes back a step.", "esc Back"):
        assert has_line(lines, said), (said, lines)


def test_the_hardware_screen(tmp_path):
    """The Hardware screen (key h) on the mixed machine's capture (tests/fixtures/hardware/qemu-mix)."""
    from hypervisor.host.hardware import read_hardware
    from hypervisor.xen.xl import Xl
    from sysfs_tree import rebuild
    from test_host_hardware import MIX, answer
    from tui.screens.hardware import HardwareScreen
    from tui_pilot import ScreenApp
    sysfs = rebuild(MIX / "sysfs.json", tmp_path / "capture")

    async def draw():
        read = lambda: read_hardware(Xl(run=answer), sysfs, sysfs.parent / "proc" / "cpuinfo")   # noqa: E731
        app = ScreenApp(HardwareScreen(Xl(run=answer), read))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            return picture(app, "hardware")
    lines = asyncio.run(draw())
    for said in ("model      QEMU Virtual CPU version 2.5+ (2 cores)", "VT-x/AMD-V available (AMD-V)",
                 "3071 MiB total, 1918 MiB free (Xen)", "eth0     8139cp       52:54:00:12:34:57"):
        assert has_line(lines, said), (said, lines)
    assert has_line(lines, "u Update") and has_line(lines, "esc Back")
