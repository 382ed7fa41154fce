"""The first-boot screens, driven by Textual's pilot at 80x24: the real steps, checks and answer-file code.

The boundaries: the disks are the real `Disks` over lsblk, wipefs and pvs answers replayed from the captured
VM (sda in use, sdb blank, sdc the boot medium, vda an LVM physical volume: see test_storage_disks.py);
the NIC is a /sys/class/net tree in a temporary folder; Xen is test_tui_appliances' FakeXl. Applying would
erase disks and move this machine's network, so the screen is given an `apply` that records its call and
says a line, in place of apply_answer (the answer-file e2e test runs the real one in a VM).
"""
import asyncio
import os
from pathlib import Path

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Log, Static

from hypervisor.answer import first_boot
from hypervisor.answer.compose import SOURCE, FirstBootAnswers
from hypervisor.answer.parse import parse_answer
from hypervisor.host.password import verify
from hypervisor.network.config import Addressing, NetworkConfig
from hypervisor.storage.disk_events import DiskEvents
from hypervisor.storage.disks import Disks
from test_storage_disks import captured_sysfs, captured_tools
from test_tui_appliances import FakeXl, domains
from tui.first_boot.flow import FirstBootScreen
from tui.first_boot.watch import FirstBootWatch
from tui.widgets.confirm import Confirm
from tui.widgets.prompt import Prompt
from tui_pilot import ScreenApp, answer, settle

SDB = "/dev/disk/by-id/wwn-0x5000c50015ea71ad"
VDA = "/dev/disk/by-id/virtio-XB-VIRTIO-0001"
ROWS = ["sda", "sdb", "sdc", "sdd", "sde", "sdf", "vda"]        # the disks table's order


class Recorder:
    """Stands where apply_answer stands: records what it was given, says a line, and fails as told."""

    def __init__(self, failures=()):
        self.calls = []
        self.failures = list(failures)

    def __call__(self, answer, text, folder, disks, say):
        self.calls.append((answer, text, folder, [d.name for d in disks]))
        say("answer file: step 1/5: data store")
        return self.failures


@pytest.fixture
def host(tmp_path):
    """The captured VM's disks and a NIC eth0 (e1000) under xenbr0, its link up."""
    (tmp_path / "sys").mkdir()
    net = tmp_path / "net"
    (net / "xenbr0" / "brif" / "eth0").mkdir(parents=True)
    (net / "eth0" / "device").mkdir(parents=True)
    (tmp_path / "drivers" / "e1000").mkdir(parents=True)
    os.symlink(tmp_path / "drivers" / "e1000", net / "eth0" / "device" / "driver")
    for name, value in (("address", "52:54:00:12:34:56"), ("operstate", "up"), ("speed", "1000")):
        (net / "eth0" / name).write_text(value + "\n")
    run = captured_tools()
    disks = Disks(run, by_id=tmp_path / "no-udev", sysfs=captured_sysfs(tmp_path / "sys"), given=dict)
    return {"disks": disks, "net": net, "run": run}


def flow_screen(host, apply, claim=lambda answers: None):
    return FirstBootScreen(FakeXl(domains()), host["disks"], lambda: "/dev/sdc", apply, claim, host["net"])


class FlowApp(ScreenApp):
    def __init__(self, screen):
        self.results = []
        super().__init__(screen, self.results.append)


async def press(pilot, *keys):
    await pilot.press(*keys)
    await settle(pilot)


async def to_disk(pilot, name):
    await press(pilot, *["down"] * ROWS.index(name))


def drive(test, screen):
    async def go():
        app = FlowApp(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await test(pilot, app, screen)
        return app
    return asyncio.run(go())


def text(screen, selector):
    return str(screen.query_one(selector, Static).render())


def title(screen):
    return text(screen, "#steps")


def problem(app):
    return str(app.screen.query_one("#problem", Static).render())


def test_forward_through_every_step_and_back_keeps_what_was_typed(host):
    async def test(pilot, app, screen):
        assert title(screen) == "Step 1 of 5:  [Host] > Network > Data store > Password > Review"
        panel = str(screen.query_one("HostPanel").render())
        assert "Xen     4.17.7" in panel and "HVM: available (AMD-V)" in panel
        await press(pilot, "n")
        assert "eth0 (e1000, 52:54:00:12:34:56), link up, 1000 Mb/s" in text(screen, "#nic")
        await press(pilot, "h")
        await answer(pilot, "edge-01")
        await press(pilot, "4")
        await answer(pilot, "10.0.2.60/24 10.0.2.2")
        await press(pilot, "6")
        await answer(pilot, "off")
        await press(pilot, "d")
        await answer(pilot, "10.0.2.3")
        typed = text(screen, "#settings")
        assert typed == ("Hostname     edge-01\nIPv4         10.0.2.60/24 via 10.0.2.2\nIPv6         off\n"
                         "DNS servers  10.0.2.3")
        await press(pilot, "enter")                     # Enter goes on, as n does
        assert title(screen).startswith("Step 3 of 5:  Host > Network > [Data store]")
        await to_disk(pilot, "sdb")
        await press(pilot, "space")
        await press(pilot, "n")
        await press(pilot, "p")
        await answer(pilot, "change-me-now")
        await answer(pilot, "change-me-now")
        assert text(screen, "#state") == "Set: kept as a yescrypt hash, never as typed."
        await press(pilot, "n")
        review = text(screen, "#review")
        await press(pilot, "b", "b", "b")
        assert title(screen).startswith("Step 2 of 5") and text(screen, "#settings") == typed
        await press(pilot, "b")
        await press(pilot, "n", "n")
        assert screen.query_one(DataTable).get_row_at(ROWS.index("sdb"))[0].plain == "[x]"
        await press(pilot, "n", "n")
        assert text(screen, "#review") == review
        assert screen.answers.network == NetworkConfig(ipv4=Addressing("static", "10.0.2.60/24", "10.0.2.2"),
                                                       ipv6=Addressing("off"), hostname="edge-01", dns=("10.0.2.3",))
        assert screen.answers.data_disks == (SDB,) and not screen.answers.wipe_disks_with_data
        assert verify("change-me-now", screen.answers.password_hash)
    drive(test, flow_screen(host, Recorder()))


class PullOut:
    """The captured VM's disks, less those pulled out."""
    def __init__(self, disks):
        self.disks, self.gone = disks, set()

    def list(self):
        return [disk for disk in self.disks.list() if disk.name not in self.gone]


LOOP_UEVENT = Path("/sys/block/loop5/uevent")


@pytest.mark.skipif(os.geteuid() != 0 or not LOOP_UEVENT.exists(), reason="a uevent is sent as root, to loop5")
def test_a_disk_pulled_out_at_the_disk_step_is_gone_from_it_within_a_second(host):
    """The kernel's own uevent, for loop5 (watched here in place of a disk), lists the disks again."""
    async def test(pilot, app, screen):
        await press(pilot, "n", "n")
        table = screen.query_one(DataTable)
        assert table.row_count == len(ROWS)
        await pilot.pause(0.3)                      # the watch is listening
        disks.gone.add("sdb")
        LOOP_UEVENT.write_text("remove")
        await pilot.pause(1.0)
        assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == [r for r in ROWS if r != "sdb"]
        assert ("Disks changed: loop5 is gone.", "information") in app.notified
    disks = PullOut(host["disks"])
    drive(test, FirstBootScreen(FakeXl(domains()), disks, lambda: "/dev/sdc", Recorder(), lambda answers: None,
                                host["net"], disk_events=lambda: DiskEvents(watched=lambda name: name == "loop5")))


def test_an_invalid_static_address_is_refused_at_its_step_and_nothing_changes(host):
    async def test(pilot, app, screen):
        await press(pilot, "n", "4")
        await answer(pilot, "10.0.2.300/24 10.0.2.2")
        assert isinstance(app.screen, Prompt)
        assert problem(app) == ("10.0.2.300/24 is not an IPv4 address with its prefix length, such as "
                                "192.168.1.20/24")
        await answer(pilot, "10.0.2.60/24 192.168.9.1")
        assert problem(app).startswith("192.168.9.1 is outside this host's subnet 10.0.2.0/24")
        await answer(pilot, "10.0.2.60")
        assert problem(app) == "10.0.2.60 has no prefix length: write it as 10.0.2.60/24 (the size of its subnet)"
        await press(pilot, "escape")
        assert app.screen is screen and screen.answers == FirstBootAnswers()
        assert "IPv4         DHCP" in text(screen, "#settings")
        await press(pilot, "h")
        await answer(pilot, "edge_01")
        assert problem(app).startswith('edge_01 has the part "edge_01": use only letters, digits and "-"')
    drive(test, flow_screen(host, Recorder()))


def test_a_disk_holding_data_is_chosen_only_once_its_name_is_typed(host):
    async def test(pilot, app, screen):
        await press(pilot, "n", "n")
        table = screen.query_one(DataTable)
        marks = {name: table.get_row_at(i)[0].plain for i, name in enumerate(ROWS)}
        assert marks == {"sda": "n/a", "sdb": "[ ]", "sdc": "n/a", "sdd": "[ ]", "sde": "[ ]", "sdf": "[ ]",
                         "vda": "[!]"}
        assert table.get_row_at(ROWS.index("sdc"))[3].plain.startswith("the XenBox boot medium")
        assert text(screen, "#chosen").startswith("No disk chosen: this host keeps nothing across reboots")
        await to_disk(pilot, "sdc")
        await press(pilot, "c")                         # the boot medium: refused, nothing asked
        assert app.screen is screen and screen.answers.data_disks == ()
        assert app.notified[-1] == ("/dev/sdc (QEMU HARDDISK, 129 MiB, usb) is the XenBox boot medium: "
                                    "choose another disk", "error")
        await to_disk(pilot, "vda")         # from sdc: four rows down
        assert text(screen, "#detail") == "/dev/vda: 256 MiB, serial XB-VIRTIO-0001, id virtio-XB-VIRTIO-0001"
        await press(pilot, "c")
        assert isinstance(app.screen, Prompt)
        assert "is an LVM physical volume of VG xenbox" in app.screen.question
        assert "Type vda to choose it" in app.screen.question
        await answer(pilot, "sdb")
        assert problem(app).startswith("that is not vda: type vda exactly")
        await press(pilot, "escape")
        assert screen.answers.data_disks == ()
        await press(pilot, "c")
        await answer(pilot, "vda")
        assert (screen.answers.data_disks, screen.answers.wipe_disks_with_data) == ((VDA,), True)
        assert text(screen, "#chosen") == f"Data store on: {VDA} (erased, data and all)"
        await press(pilot, "c")                         # chosen again: not chosen any more
        assert (screen.answers.data_disks, screen.answers.wipe_disks_with_data) == ((), False)
    drive(test, flow_screen(host, Recorder()))


def test_the_summary_lists_every_field_and_apply_is_given_the_answer_file(host):
    apply, claims = Recorder(), []

    async def test(pilot, app, screen):
        await press(pilot, "n", "h")
        await answer(pilot, "edge-01")
        await press(pilot, "4")
        await answer(pilot, "10.0.2.60/24 10.0.2.2")
        await press(pilot, "d")
        await answer(pilot, "10.0.2.3 10.0.2.4")
        await press(pilot, "n")
        await to_disk(pilot, "sdb")
        await press(pilot, "c", "n", "n")
        assert text(screen, "#review").splitlines() == [
            "hostname: edge-01",
            "network: xenbr0 on auto, IPv4 static 10.0.2.60/24 via 10.0.2.2, IPv6 auto, DNS 10.0.2.3 10.0.2.4",
            f"data disks: {SDB}",
            "console password: none - anyone at the console can use it"]
        assert text(screen, "#problems") == ""
        await press(pilot, "a")
        assert isinstance(app.screen, Confirm) and "Everything on /dev/sdb is erased." in app.screen.question
        await press(pilot, "n")
        assert apply.calls == [] and app.screen is screen
        await press(pilot, "a", "y")
        assert len(apply.calls) == 1 and claims == [screen.answers]     # claimed just before applying
        applied, kept, folder, disks = apply.calls[0]
        assert (applied.hostname, applied.network.ipv4.address, applied.storage.data_disks) == \
            ("edge-01", "10.0.2.60/24", (SDB,))
        assert parse_answer(kept.decode(), SOURCE) == applied       # what is kept on the data store
        assert folder is None and disks == ROWS
    app = drive(test, flow_screen(host, apply, claims.append))
    assert app.results == [FirstBootAnswers(NetworkConfig(ipv4=Addressing("static", "10.0.2.60/24", "10.0.2.2"),
                                                          hostname="edge-01", dns=("10.0.2.3", "10.0.2.4")), (SDB,))]
    assert ("This host is set up.", "information") in app.notified


def test_a_disk_that_changed_since_it_was_chosen_stops_apply_and_says_why(host):
    apply = Recorder()

    async def test(pilot, app, screen):
        await press(pilot, "n", "n")
        await to_disk(pilot, "sdb")
        await press(pilot, "c", "n", "n")
        # Someone made a filesystem on sdb meanwhile: the listing at Apply shows it.
        host["run"].answers[("wipefs", "--json", "--no-act", "/dev/sdb")] = "vm/wipefs-sda1.json"
        await press(pilot, "a", "y")
        assert apply.calls == [] and app.results == []
        problems = text(screen, "#problems")
        assert problems.startswith("NOT APPLIED, nothing was changed: go back (b) and change them:")
        assert f"storage.data_disks[0] = '{SDB}': holds an ext4 filesystem labelled guests" in problems
        await press(pilot, "b", "b")                    # the disks step lists them again
        assert screen.answers.data_disks == ()
        assert app.notified[-1] == (f"No longer chosen, as it changed since: {SDB}. Choose it again if it is "
                                    "wanted.", "warning")
        assert screen.query_one(DataTable).get_row_at(ROWS.index("sdb"))[0].plain == "[!]"
    drive(test, flow_screen(host, apply))


def test_failed_steps_are_shown_and_enter_goes_to_the_overview(host):
    apply = Recorder(failures=["network: `ip -4 address add` failed"])

    async def test(pilot, app, screen):
        await press(pilot, "n", "n", "n", "n")
        assert text(screen, "#review").splitlines() == [
            "hostname: from DHCP", "network: xenbr0 on auto, IPv4 DHCP, IPv6 auto",
            "data store: none - this host keeps nothing across reboots",
            "console password: none - anyone at the console can use it"]
        await press(pilot, "a", "y")
        assert "answer file: step 1/5: data store" in screen.query_one(Log).lines
        assert text(screen, "#status").startswith("Applied, but 1 step(s) failed: network: `ip -4 address add` failed")
        assert app.results == []
        await press(pilot, "a", "escape", "b")           # applied: neither again, nor later, nor back
        assert len(apply.calls) == 1 and app.screen is screen and app.results == []
        await press(pilot, "enter")
        assert app.results == [FirstBootAnswers()]
    drive(test, flow_screen(host, apply))


def test_escape_sets_the_host_up_later_only_after_a_yes(host):
    async def test(pilot, app, screen):
        await press(pilot, "n", "escape")
        assert isinstance(app.screen, Confirm) and app.screen.question.startswith("Set this host up later?")
        await press(pilot, "n")
        assert app.screen is screen and title(screen).startswith("Step 2 of 5")
        await press(pilot, "escape", "y")
        assert app.results == [None]
    drive(test, flow_screen(host, Recorder()))


# -- opening and closing on a console ------------------------------------------------------------

class ConsoleApp(App):
    """A console's app: the watch looks for the marker when told (the real app every two seconds)."""

    def __init__(self, host, apply, tty="hvc0"):
        super().__init__()
        self.set_up = []        # the answers this console said it applies
        self.watch = FirstBootWatch(self, lambda claim: flow_screen(host, apply, claim), self.set_up.append, tty=tty)


@pytest.fixture
def marker(tmp_path, monkeypatch):
    monkeypatch.setattr(first_boot, "MARKER", tmp_path / "first-boot")
    return tmp_path / "first-boot"


def console(test, host, apply, tty="hvc0"):
    async def go():
        app = ConsoleApp(host, apply, tty)
        async with app.run_test(size=(80, 24)) as pilot:
            await test(pilot, app)
    asyncio.run(go())


async def check(pilot, app):
    app.watch.check()
    await settle(pilot)


def test_the_screens_open_once_when_the_boot_left_its_marker_and_not_again_once_left(host, marker):
    async def test(pilot, app):
        await check(pilot, app)
        assert not isinstance(app.screen, FirstBootScreen)
        first_boot.mark()
        await check(pilot, app)
        assert isinstance(app.screen, FirstBootScreen)
        await press(pilot, "escape", "y")
        assert not isinstance(app.screen, FirstBootScreen)
        await check(pilot, app)
        assert not isinstance(app.screen, FirstBootScreen) and marker.exists()     # the other console's still
    console(test, host, Recorder())


def test_left_for_later_they_stay_closed_in_a_console_forked_again_on_that_terminal_only(host, marker):
    first_boot.mark()

    async def leave(pilot, app):
        await check(pilot, app)
        await press(pilot, "escape", "y")
    console(leave, host, Recorder(), tty="hvc0")

    async def respawned(pilot, app):
        await check(pilot, app)
        assert not isinstance(app.screen, FirstBootScreen)
    console(respawned, host, Recorder(), tty="hvc0")

    async def the_other_terminal(pilot, app):
        await check(pilot, app)
        assert isinstance(app.screen, FirstBootScreen)
    console(the_other_terminal, host, Recorder(), tty="tty1")


def test_applying_here_removes_the_marker_and_the_other_console_closes_its_screens(host, marker):
    first_boot.mark()

    async def here(pilot, app):
        await check(pilot, app)
        await press(pilot, "n", "n", "n", "n", "a", "y")
        await check(pilot, app)
        assert not isinstance(app.screen, FirstBootScreen) and app.set_up == [FirstBootAnswers()]
    console(here, host, Recorder())
    assert not marker.exists()

    first_boot.mark()

    async def there(pilot, app):
        await check(pilot, app)
        await press(pilot, "n", "h")                    # a question open when the other console applies
        assert isinstance(app.screen, Prompt)
        first_boot.clear()
        await check(pilot, app)
        assert not isinstance(app.screen, (FirstBootScreen, Prompt)) and app.set_up == []
    console(there, host, Recorder())


def test_screens_under_another_one_wait_for_it_to_close(host, marker):
    """dismiss pops the top screen: under the lock or Xen's log, closing waits for the next check."""
    first_boot.mark()

    async def test(pilot, app):
        await check(pilot, app)
        flow = app.screen
        app.push_screen(Screen())                       # the lock, say
        first_boot.clear()
        await check(pilot, app)
        assert app.screen_stack[-2] is flow
        app.pop_screen()
        await check(pilot, app)
        assert flow not in app.screen_stack
    console(test, host, Recorder())


def test_the_console_opens_the_screens_over_the_overview(host, marker, monkeypatch):
    """The real console app and its hook; its flow's disks replayed as above."""
    import tui.app as console_app
    import tui.first_boot.flow as flow
    from hypervisor.host.console_password import ConsoleAccess
    from tui.screens.overview import OverviewScreen
    monkeypatch.setattr(console_app, "read_access", lambda: ConsoleAccess(None))
    monkeypatch.setattr(flow, "Disks", lambda given: host["disks"])
    first_boot.mark()

    async def go():
        app = console_app.XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, FirstBootScreen)
            assert isinstance(app.screen_stack[-2], OverviewScreen)
            await press(pilot, "escape", "y")
            assert isinstance(app.screen, OverviewScreen)
    asyncio.run(go())
