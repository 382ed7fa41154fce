"""The Hardware screen and the overview's way to it (key h), driven by Textual's pilot at 80x24.

The screen reads tests/fixtures/hardware/qemu-mix/ (a real boot's sysfs, rebuilt as files, and its `xl
info`/`xl dmesg` through xl's runner: xl cannot run on this build host)."""
import asyncio

from textual.containers import VerticalScroll
from textual.widgets import Static

from hypervisor.host import hardware
from hypervisor.host.missing_firmware import MissingFirmware
from hypervisor.host.summary import HostSummary
from hypervisor.xen.capabilities import HvmSupport
from hypervisor.xen.xl import Xl
from sysfs_tree import rebuild
from test_host_hardware import MIX, answer
from test_tui_appliances import FakeXl, domains
from tui.screens.hardware import HardwareScreen
from tui.widgets.host_panel import describe
from tui_pilot import ScreenApp, settle


def boxes(screen) -> dict[str, str]:
    return {str(box.border_title): str(box.render()) for box in screen.query("Static.box")}


def test_the_screen_shows_each_part_fits_80x24_and_goes_back(tmp_path):
    sysfs = rebuild(MIX / "sysfs.json", tmp_path)
    reads = []

    def read():
        reads.append(1)
        return hardware.read_hardware(Xl(run=answer), sysfs, sysfs.parent / "proc" / "cpuinfo")

    async def run():
        app = ScreenApp(HardwareScreen(Xl(run=answer), read))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            shown = boxes(screen)
            assert list(shown) == ["CPU", "Memory", "NICs", "Disk controllers", "Disks"]
            assert "VT-x/AMD-V available (AMD-V)" in shown["CPU"] and "IOMMU      off" in shown["CPU"]
            assert "eth0     8139cp       52:54:00:12:34:57  link up, carrier, in xenbr0" in shown["NICs"]
            assert "0000:00:09.0  SCSI (sym53c8xx, 1000:0012)" in shown["Disk controllers"]
            assert "ata-QEMU_HARDDISK_XB-AHCI" in shown["Disks"]
            parts = screen.query_one("#parts", VerticalScroll)
            assert parts.has_focus and parts.max_scroll_y > 0      # more than 24 lines: the arrows scroll
            await pilot.press("pagedown")
            await settle(pilot)
            assert parts.scroll_y > 0
            await pilot.press("u")
            await settle(pilot)
            assert len(reads) == 2
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, HardwareScreen)
    asyncio.run(run())


def test_a_failed_read_is_said_on_the_screen(tmp_path):
    def read():
        raise OSError("no /sys here")

    async def run():
        app = ScreenApp(HardwareScreen(Xl(run=answer), read))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "Could not read the hardware: no /sys here" in str(app.screen.query_one("#problem", Static).render())
    asyncio.run(run())


def test_key_h_on_the_overview_opens_the_hardware_screen(monkeypatch):
    import tui.app as console_app
    from hypervisor.host.console_password import ConsoleAccess
    from tui.screens.overview import OverviewScreen
    monkeypatch.setattr(console_app, "read_access", lambda: ConsoleAccess(None))

    async def go():
        app = console_app.XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
            await pilot.press("h")
            await settle(pilot)
            assert isinstance(app.screen, HardwareScreen)
            assert "HAP        yes" in boxes(app.screen)["CPU"]     # FakeXl's virt_caps: pv hvm hap
            await pilot.press("b")
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
    asyncio.run(go())


def test_the_overview_says_which_driver_misses_which_firmware():
    host = HostSummary("xenbox", "4.17.7", "QEMU Virtual CPU", 2, 3071, 1918, HvmSupport(True, "AMD-V"),
                       missing_firmware=(MissingFirmware("bnx2", "0000:01:00.0", "bnx2/bnx2-mips-09-6.2.1b.fw", -2,
                                                         "eth1"),))
    assert describe(host).splitlines()[-1] == "Firmware eth1 (bnx2): firmware bnx2/bnx2-mips-09-6.2.1b.fw missing"
    assert "Firmware" not in describe(HostSummary("x", "4.17", "c", 1, 1, 1, HvmSupport(True, "AMD-V")))
