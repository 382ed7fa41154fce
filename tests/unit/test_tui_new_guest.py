"""The new-guest steps, driven by Textual's pilot at 80x24 (the serial console's size), real widgets.

host_offer() and create() are the boundary to the real host, which this machine is not (no Xen, no data
store): each test builds the HostOffer a host would give, and hands the screen a create that records the
GuestChoices it got and says two progress lines (or fails with a sentence), as the real one does. What is
checked is what the operator's keys make of that offer: the GuestChoices handed to create.
"""
import asyncio
import threading

import pytest
from pathlib import Path

from textual.widgets import Input, OptionList, Static

from hypervisor.appliances.new_guest import (WINDOWS_NOTE, GuestChoices, HostOffer, InstallSource, NewDisk,
                                             PoolOffer)
from hypervisor.storage import StorageError
from tui.screens.appliances import AppliancesScreen
from tui.invalid import Invalid
from tui.screens.new_guest import NewGuestScreen
from tui.screens.new_guest_steps import Context, mib, read_device
from tui_pilot import ScreenApp, settle

HOST = HostOffer(hvm_available=True, hvm_reason="", memory_mib=3000, cpus=2, bridges=("xenbr0", "lab"),
                 pools=(PoolOffer("local", 4096, ("raw",)), PoolOffer("nas", 50000, ("raw", "qcow2"))),
                 isos=("debian-12.iso", "grub-rescue.iso"), cd_drives=())
NO_HVM = HostOffer(hvm_available=False,
                   hvm_reason="this CPU has VT-x, but the firmware switched it off: turn it on in the BIOS setup",
                   memory_mib=1000, cpus=1, bridges=("xenbr0",), pools=(PoolOffer("local", 2048, ("raw",)),),
                   isos=(), cd_drives=())


class Creating:
    """Stands in for new_guest.create: records what it was given, says progress, or fails as it would."""

    def __init__(self, fail: str | None = None):
        self.given: list[GuestChoices] = []
        self.fail = fail

    def __call__(self, choices, say):
        self.given.append(choices)
        say(f"making disk {choices.name}.xvda")
        if self.fail:
            raise StorageError(self.fail)
        say(f"starting {choices.name}")
        return Path("/var/lib/xenbox/appliances") / choices.name


def drive(test, offer=HOST, make=None, taken=frozenset()):
    make = make or Creating()
    results = []

    async def go():
        screen = NewGuestScreen(offer=lambda: offer, make=make, taken=taken)
        app = ScreenApp(screen, on_result=results.append)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await test(pilot, app, screen)
    asyncio.run(go())
    return make, results


def text(screen, selector):
    return str(screen.query_one(selector, Static).render())


def offered(screen):
    listing = screen.query_one(OptionList)
    return [str(listing.get_option_at_index(n).prompt) for n in range(listing.option_count)]


async def typed(pilot, value):
    """Type a line on a typed step (what was there replaced) and press Enter."""
    field = pilot.app.screen.query_one(Input)
    assert field.display and field.has_focus, pilot.app.screen.step
    field.value = value
    await pilot.press("enter")
    await settle(pilot)


async def pick(pilot, label):
    """Move to the option starting with label and press Enter."""
    screen = pilot.app.screen
    labels = offered(screen)
    wanted = next(n for n, shown in enumerate(labels) if shown.startswith(label))
    listing = screen.query_one(OptionList)
    assert listing.has_focus
    while listing.highlighted != wanted:
        await pilot.press("down" if listing.highlighted < wanted else "up")
    await pilot.press("enter")
    await settle(pilot)


def test_a_bios_hvm_guest_installed_from_an_iso(tmp_path):
    async def test(pilot, app, screen):
        assert text(screen, "#steps") == "New guest, step 1: Name"
        await typed(pilot, "web")                               # taken: refused on this step
        assert text(screen, "#problem") == "an appliance named web exists already: choose another name"
        await typed(pilot, "win-build")
        assert offered(screen)[2].startswith("HVM")
        await pick(pilot, "HVM")
        assert offered(screen)[:2] == ["an ISO from the library", "an existing disk image (already installed)"]
        assert text(screen, "#note") == "This host has no CD/DVD drive."
        await pick(pilot, "an ISO")
        assert offered(screen) == ["debian-12.iso", "grub-rescue.iso"]
        await pick(pilot, "debian-12.iso")
        await pick(pilot, "a new disk on pool nas: 50000 MiB free")
        await typed(pilot, "20G")
        await pick(pilot, "qcow2")
        await typed(pilot, "2048")
        await typed(pilot, "2")
        await pick(pilot, "lab")
        await pick(pilot, "bios")
        assert text(screen, "#note") == WINDOWS_NOTE
        await pick(pilot, "no")
        await pick(pilot, "e1000")
        await pick(pilot, "ide")
        await pick(pilot, "yes")                                # a serial port
        await pick(pilot, "yes")                                # autostart
        assert text(screen, "#steps") == "New guest, step 17: Create"
        summary = text(screen, "#summary")
        for line in ("Name        win-build", "Kind        HVM", "Boots from  ISO debian-12.iso",
                     "Disk        new 20480 MiB qcow2 disk on pool nas", "Network     bridge lab, NIC e1000"):
            assert line in summary, summary
        await pilot.press("c")
        await settle(pilot)
        assert text(screen, "#progress") == "making disk win-build.xvda\nstarting win-build"
        assert "win-build is created (/var/lib/xenbox/appliances/win-build) and started" in text(screen, "#note")
        await pilot.press("enter")
        await settle(pilot)

    made, results = drive(test, taken=frozenset({"web"}))
    assert made.given == [GuestChoices(
        name="win-build", kind="hvm", source=InstallSource("iso", iso="debian-12.iso"),
        disk=NewDisk(20480, pool="nas", format="qcow2"), memory_mib=2048, vcpus=2, bridge="lab",
        nic_model="e1000", disk_bus="ide", firmware="bios", windows=False, serial_console=True, autostart=True)]
    assert results == ["win-build"]


def test_a_pv_guest_from_a_kernel_with_hvm_not_offered_and_why():
    async def test(pilot, app, screen):
        await typed(pilot, "router")
        assert offered(screen) == ["PV    a Linux or BSD kernel that knows Xen (fastest to start)",
                                   "PVH   a PV kernel in a hardware container (Linux 4.11+)"]
        assert text(screen, "#note") == ("HVM is not offered on this host: this CPU has VT-x, but the firmware "
                                         "switched it off: turn it on in the BIOS setup")
        await pick(pilot, "PV ")
        assert offered(screen) == ["a kernel file (and ramdisk) in dom0",
                                   "an existing disk image (its own GRUB, read by pygrub)"]
        await pick(pilot, "a kernel")
        await typed(pilot, "vmlinuz")                           # not a full path: refused
        assert text(screen, "#problem") == "type the kernel's full path in dom0, starting with /"
        await typed(pilot, "/var/lib/xenbox/kernels/vmlinux")
        await typed(pilot, "")                                  # no ramdisk
        assert screen.query_one(Input).value == "console=hvc0"
        await typed(pilot, "console=hvc0 root=/dev/xvda")
        await pick(pilot, "a new disk on pool local")           # raw only there: no format step
        await typed(pilot, "512")
        assert screen.step.key == "memory_mib"
        await typed(pilot, "2000")                              # more than the host has
        assert text(screen, "#problem") == "2000 MiB is more than this host can give one guest (1000 MiB)"
        await typed(pilot, "256")
        await typed(pilot, "2")                                 # one CPU here
        assert text(screen, "#problem") == "type a number of vCPUs from 1 to 1 (this host's CPUs)"
        await typed(pilot, "1")
        await pick(pilot, "xenbr0")                             # then autostart: no HVM-only steps
        assert screen.step.key == "autostart"
        await pick(pilot, "no")
        assert text(screen, "#summary").splitlines()[2:5] == ["Kernel      /var/lib/xenbox/kernels/vmlinux",
                                                              "Ramdisk     none",
                                                              "Cmdline     console=hvc0 root=/dev/xvda"]
        await pilot.press("c")
        await settle(pilot)

    made, _ = drive(test, offer=NO_HVM)
    assert made.given == [GuestChoices(
        name="router", kind="pv", source=InstallSource("kernel", kernel="/var/lib/xenbox/kernels/vmlinux",
                                                       cmdline="console=hvc0 root=/dev/xvda"),
        disk=NewDisk(512, pool="local"), memory_mib=256, vcpus=1, bridge="xenbr0", autostart=False)]


def test_a_disk_bigger_than_its_pool_is_refused_on_its_step():
    async def test(pilot, app, screen):
        await typed(pilot, "big")
        await pick(pilot, "PVH")
        await pick(pilot, "a kernel")
        await typed(pilot, "/boot/vmlinuz")
        await typed(pilot, "")
        await typed(pilot, "")
        assert text(screen, "#steps") == "New guest, step 7: Disk"
        await pick(pilot, "a new disk on pool local: 4096 MiB free")
        assert text(screen, "#note") == "Pool local has 4096 MiB free."
        await typed(pilot, "5G")
        assert text(screen, "#problem") == ("5120 MiB is more than pool local has free (4096 MiB): type a smaller "
                                            "size, or Esc and choose another pool")
        assert screen.step.key == "size_mib" and "size_mib" not in screen.draft
        await typed(pilot, "4G")
        assert screen.step.key == "memory_mib"

    made, _ = drive(test)
    assert made.given == []


def test_esc_goes_back_a_step_keeping_every_choice_and_a_failure_keeps_them_too():
    async def test(pilot, app, screen):
        await typed(pilot, "db")
        await pick(pilot, "HVM")
        await pick(pilot, "nothing")
        await pick(pilot, "a whole host disk")
        await typed(pilot, "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002-part2")
        assert screen.step.key == "memory_mib"
        await pilot.press("escape")
        assert screen.step.key == "device"
        assert screen.query_one(Input).value == "ata-QEMU_HARDDISK_QM00002-part2"
        await pilot.press("escape", "escape")
        assert screen.step.key == "source"
        assert offered(screen)[screen.query_one(OptionList).highlighted].startswith("nothing")
        await pilot.press("escape", "escape")
        assert screen.query_one(Input).value == "db"
        for _ in range(5):                                      # forward again: each answer still there
            await pilot.press("enter")
            await settle(pilot)
        await pilot.press("enter")                               # memory 2048, the HVM default
        await settle(pilot)
        assert screen.step.key == "vcpus"
        for _ in range(8):
            await pilot.press("enter")
            await settle(pilot)
        assert screen.on_summary
        assert "Disk        host disk ata-QEMU_HARDDISK_QM00002, partition 2" in text(screen, "#summary")
        await pilot.press("c")
        await settle(pilot)
        assert text(screen, "#problem") == "db was not created: the data store is not mounted: set it up first (t)"
        assert text(screen, "#note") == "Esc goes back to change the choices; c tries again."
        await pilot.press("escape")
        assert screen.step.key == "autostart"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    made, results = drive(test, make=Creating(fail="the data store is not mounted: set it up first (t)"))
    first = GuestChoices(name="db", kind="hvm", source=InstallSource("none"),
                         disk=NewDisk(0, device="ata-QEMU_HARDDISK_QM00002", partition=2), memory_mib=2048,
                         vcpus=1, nic_model="e1000", disk_bus="ide")     # emulated: what any installer finds
    assert made.given == [first, first]
    assert results == []


def test_a_host_offer_that_cannot_be_read_says_why_and_esc_leaves():
    def broken():
        raise StorageError("the pools cannot be listed: /var/lib/xenbox is not mounted")

    async def go():
        results = []
        app = ScreenApp(NewGuestScreen(offer=broken, make=Creating()), on_result=results.append)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert text(app.screen, "#question") == ("Could not read what this host offers: the pools cannot be "
                                                     "listed: /var/lib/xenbox is not mounted. Esc goes back.")
            await pilot.press("escape")
            await settle(pilot)
        return results
    assert asyncio.run(go()) == [None]


def test_key_N_on_the_appliances_screen_opens_the_steps_with_the_names_taken():
    from test_tui_appliances import FakeXl, domains
    from tui.screens.appliances import Places

    async def go():
        opened = []

        def steps(taken):
            opened.append(taken)
            return NewGuestScreen(offer=lambda: HOST, make=Creating(), taken=taken)
        screen = AppliancesScreen(FakeXl(domains()), catalog=lambda: [], autostart_status=lambda: [],
                                  places=Places(Path("/nonexistent/saved"), Path("/nonexistent/cores"),
                                                Path("/nonexistent/logs")), new_guest=steps,
                                  frontends=lambda domids: {})
        app = ScreenApp(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("N")
            await settle(pilot)
            assert isinstance(app.screen, NewGuestScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen
        return opened
    taken = asyncio.run(go())
    assert len(taken) == 1 and "sample-web" in taken[0]


def test_sizes_and_host_disk_ids_as_typed():
    assert [mib(text, "a size") for text in ("512", "512M", "512MiB", "20G", "20GiB", " 2 g ")] == \
        [512, 512, 512, 20480, 20480, 2048]
    for wrong in ("1.5G", "-1", "lots", "", "20T"):
        with pytest.raises(Invalid, match="in MiB, or with G for GiB"):
            mib(wrong, "a size")
    at = Context(HOST)
    assert read_device("ata-QEMU_HARDDISK_QM00002", {}, at) == ("ata-QEMU_HARDDISK_QM00002", None)
    assert read_device("/dev/disk/by-id/wwn-0x5000c500-part12", {}, at) == ("wwn-0x5000c500", 12)
    for wrong in ("/dev/sda", "sda 1", ""):
        with pytest.raises(Invalid, match="stable id"):
            read_device(wrong, {}, at)


def test_nothing_interrupts_create_while_it_runs_and_its_lines_show_as_they_come():
    release = threading.Event()

    class Slow(Creating):
        def __call__(self, choices, say):
            say("copying debian-12.iso into the library")
            release.wait(20)
            return super().__call__(choices, say)

    async def test(pilot, app, screen):
        await typed(pilot, "tiny")
        await pick(pilot, "PV ")
        await pick(pilot, "a kernel")
        await typed(pilot, "/boot/vmlinuz")
        await typed(pilot, "/boot/initrd.img")
        await typed(pilot, "console=hvc0")
        await pick(pilot, "no disk")
        await typed(pilot, "128")
        await typed(pilot, "1")
        await pick(pilot, "xenbr0")
        await pick(pilot, "no")
        await pilot.press("c")
        for _ in range(50):
            if text(screen, "#progress"):
                break
            await pilot.pause(0.05)
        assert text(screen, "#progress") == "copying debian-12.iso into the library"
        assert text(screen, "#note") == "Creating tiny ..."
        await pilot.press("escape", "c")                        # neither goes back nor starts a second one
        assert screen.on_summary and screen.creating
        release.set()
        await settle(pilot)
        assert not screen.creating and screen.created == "tiny"
        assert text(screen, "#progress").splitlines()[-1] == "starting tiny"

    made, _ = drive(test, make=Slow())
    assert made.given == [GuestChoices(
        name="tiny", kind="pv", source=InstallSource("kernel", kernel="/boot/vmlinuz", ramdisk="/boot/initrd.img",
                                                     cmdline="console=hvc0"),
        disk=None, memory_mib=128, vcpus=1, bridge="xenbr0")]


def test_the_keys_the_guest_screen_e2e_test_types_over_serial_make_its_guest():
    """tests/e2e/test_guest_screen.py answers the steps blind, key by key (no highlight can be read over
    serial): this is the host it meets (a fresh data store's two pools, one ISO, xenbr0) and its very keys.
    A step added or reordered shows here first, not as a 10-minute timeout there."""
    fresh = HostOffer(hvm_available=True, hvm_reason="", memory_mib=1500, cpus=2, bridges=("xenbr0",),
                      pools=(PoolOffer("files", 1500, ("raw", "qcow2")), PoolOffer("local", 1500, ("raw",))),
                      isos=("grub-rescue-cdrom.iso",), cd_drives=())
    titles = []

    async def test(pilot, app, screen):
        async def keys(*pressed):
            for key in pressed:
                await pilot.press(key)
                await settle(pilot)
            titles.append(text(screen, "#steps").split(": ")[1])
        await keys(*"grub-screen", "enter")
        await keys("down", "down", "enter")             # HVM
        await keys("enter")                             # an ISO from the library
        await keys("enter")                             # the only one
        await keys("up", "enter")                       # up from the first wraps to the last: no disk
        await keys("ctrl+u", "1", "2", "8", "enter")    # Ctrl-U (0x15 on the wire) clears the default
        for _ in range(8):
            await keys("enter")
        await keys("c")

    made, _ = drive(test, offer=fresh)
    assert titles == ["Kind", "Source", "ISO", "Disk", "Memory", "vCPUs", "Bridge", "Firmware", "Windows", "NIC",
                      "Bus", "Serial", "Autostart", "Create", "Create"]
    assert made.given == [GuestChoices(
        name="grub-screen", kind="hvm", source=InstallSource("iso", iso="grub-rescue-cdrom.iso"), disk=None,
        memory_mib=128, vcpus=1, bridge="xenbr0", nic_model="e1000", disk_bus="ide", firmware="bios",
        windows=False, serial_console=True, autostart=False)]
