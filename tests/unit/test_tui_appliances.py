"""The console's appliances screen, driven by Textual's pilot against a fake Xl.

The real boundary (`xl` talking to Xen in dom0) cannot run here: this host has no
Xen. FakeXl has the Xl method names, records every call and answers with canned
Domain lists, so these tests check what the screen does with what Xen would say;
the end-to-end tests over serial check it against the real toolstack.
"""
import asyncio
import dataclasses
import time
from pathlib import Path

from hypervisor.appliances.autostart_status import Outcome
from hypervisor.appliances.catalog import Entry, read_entry
from hypervisor.runner import CommandError
from hypervisor.xen.domains import Domain, XenInfo
from textual.app import App
from textual.widgets import DataTable, Input, RichLog, Static
from tui.app import XenBoxApp
from tui.screens.appliances import AppliancesScreen, Places
from tui.screens.guest_log import GuestLogScreen
from tui.widgets.confirm import Confirm
from tui.widgets.prompt import Prompt
from test_appliance_saved import config, saved_file

SAMPLE_WEB = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
BROKEN_REASON = ("/var/lib/xenbox/appliances/sample-broken/appliance.toml: 1 problem\n"
                 "  memory.initial_mib = 'lots': must be a whole number of MiB (found text)")


class FakeXl:
    """Xl's method names; records calls; pause/unpause/destroy/rename change the canned list."""

    def __init__(self, domains: list[Domain], fail: dict[str, str] | None = None) -> None:
        self.calls: list[tuple] = []
        self._domains = list(domains)
        self.fail = fail or {}

    def _record(self, *call) -> None:
        self.calls.append(call)
        if call[0] in self.fail:
            raise CommandError(("xl", call[0]), 1, f"libxl: error: something\n{self.fail[call[0]]}\n")

    def _replace(self, domain: str, **changes) -> None:
        self._domains = [dataclasses.replace(d, **changes) if d.name == domain else d for d in self._domains]

    def domains(self) -> list[Domain]:
        return list(self._domains)

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self._domains if d.name == name), None)

    def info(self) -> XenInfo:
        return XenInfo("4.17.7", 1, 4096, 2048, "pv hvm hap")

    def memory(self) -> tuple[int, int]:
        return 4096, 2048

    def dmesg(self) -> str:
        return "(XEN) HVM: SVM enabled\n"

    def create(self, cfg_path: str, *, paused: bool = False) -> None:
        self._record("create", cfg_path)

    def shutdown(self, domain: str, *, wait: bool = False) -> None:
        self._record("shutdown", domain)

    def reboot(self, domain: str) -> None:
        self._record("reboot", domain)

    def destroy(self, domain: str) -> None:
        self._record("destroy", domain)
        self._domains = [d for d in self._domains if d.name != domain]

    def pause(self, domain: str) -> None:
        self._record("pause", domain)
        self._replace(domain, state="paused")

    def unpause(self, domain: str) -> None:
        self._record("unpause", domain)
        self._replace(domain, state="running")

    def save(self, domain: str, state_file: str) -> None:
        self._record("save", domain, state_file)

    def restore(self, state_file: str) -> None:
        self._record("restore", state_file)

    def mem_set(self, domain: str, mib: int) -> None:
        self._record("mem_set", domain, mib)

    def vcpu_set(self, domain: str, count: int) -> None:
        self._record("vcpu_set", domain, count)

    def vcpu_pin(self, domain: str, vcpu: str, cpus: str) -> None:
        self._record("vcpu_pin", domain, vcpu, cpus)

    def rename(self, domain: str, new_name: str) -> None:
        self._record("rename", domain, new_name)
        self._replace(domain, name=new_name)

    def sysrq(self, domain: str, key: str) -> None:
        self._record("sysrq", domain, key)

    def dump_core(self, domain: str, core_file: str) -> None:
        self._record("dump_core", domain, core_file)

    @property
    def actions(self) -> list[tuple]:
        return list(self.calls)


def domains() -> list[Domain]:
    return [Domain("Domain-0", 0, 1024, 2, "running", 50.0),
            Domain("sample-web", 3, 128, 1, "running", 2.0),
            Domain("legacy-db", 5, 512, 2, "running", 9.0)]


def catalog() -> list[Entry]:
    web = read_entry(SAMPLE_WEB)
    broken = Entry("sample-broken", Path("/var/lib/xenbox/appliances/sample-broken"), None, BROKEN_REASON)
    return [broken, web]


class ApplianceApp(App):
    def __init__(self, xl: FakeXl, places: Places, outcomes: list[Outcome] | None = None,
                 frontends=lambda domids: {}) -> None:
        super().__init__()
        self.xl = xl
        self.screen_under_test = AppliancesScreen(xl, catalog=catalog, autostart_status=lambda: outcomes or [],
                                                  places=places, frontends=frontends)

        self.notified: list[tuple[str, str]] = []

    def notify(self, message: str, *, severity: str = "information", **options) -> None:
        self.notified.append((message, severity))
        super().notify(message, severity=severity, **options)

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test)


def drive(test, xl: FakeXl | None = None, places: Places | None = None, size=(80, 24), frontends=lambda domids: {}):
    """Run `test(pilot, screen, xl)` against the appliances screen once its first refresh is shown."""
    xl = xl or FakeXl(domains())
    places = places or Places(Path("/nonexistent/saved"), Path("/nonexistent/cores"), Path("/nonexistent/logs"))

    async def run():
        app = ApplianceApp(xl, places, frontends=frontends)
        async with app.run_test(size=size) as pilot:
            screen = app.screen_under_test
            await settle(pilot)
            await test(pilot, screen, xl)
    asyncio.run(run())
    return xl


async def settle(pilot) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def table_text(screen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def select(pilot, screen, name: str) -> None:
    table = screen.query_one(DataTable)
    names = [row[0] for row in table_text(screen)]
    table.move_cursor(row=names.index(name))
    await pilot.pause()


def test_table_lists_catalog_and_running_guests_without_dom0():
    async def test(pilot, screen, xl):
        rows = table_text(screen)
        assert [r[0] for r in rows] == ["sample-broken", "sample-web", "legacy-db"]
        assert rows[0][1:] == ["broken", "-", "-", "-", "-", "no"]
        assert rows[1][1:4] == ["running", "3", "1"] and rows[1][4] == "128" and rows[1][6] == "yes"
        assert rows[2][:2] == ["legacy-db", "running"] and rows[2][6] == "no"
    drive(test)


def test_broken_reason_appears_under_the_table_for_the_selected_row():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-broken")
        reason = screen.query_one("#reason", Static)
        assert reason.display and "must be a whole number of MiB" in str(reason.render())
        await select(pilot, screen, "sample-web")
        assert not reason.display
    drive(test)


def test_the_selected_running_guests_pv_drivers_show_under_the_table():
    """Its frontends as xenstore said them in a real boot (test_frontends.py's capture, sample-web domid 1)."""
    from test_frontends import captured
    from hypervisor.xen.frontends import Frontends
    asked = []

    def xenstore(argv, *, input=None, timeout=60):
        asked.append(list(argv))
        return captured()
    xl = FakeXl([Domain("Domain-0", 0, 1024, 2, "running", 50.0), Domain("sample-web", 1, 96, 1, "running", 2.0),
                 Domain("legacy-db", 5, 512, 2, "running", 9.0)])

    async def test(pilot, screen, xl):
        drivers = screen.query_one("#drivers", Static)
        await select(pilot, screen, "sample-web")
        assert drivers.display and str(drivers.render()) == "sample-web: PV drivers: NICs 1/1 connected"
        await select(pilot, screen, "legacy-db")        # running, but no device of it in the capture
        assert not drivers.display
        await select(pilot, screen, "sample-broken")
        assert not drivers.display
        screen.refresh_rows()
        await settle(pilot)
        assert asked == [["xenstore-ls", "-f", "/local/domain"]]      # not again within ten seconds
    drive(test, xl, frontends=Frontends(run=xenstore).of)


def test_cursor_stays_on_the_same_appliance_when_rows_change():
    xl = FakeXl(domains())

    async def test(pilot, screen, xl):
        await select(pilot, screen, "legacy-db")
        xl._domains.insert(1, Domain("aaa-new", 9, 64, 1, "running", 0.0))
        screen.refresh_rows()
        await settle(pilot)
        assert screen.query_one(DataTable).get_row_at(screen.query_one(DataTable).cursor_row)[0].plain == "legacy-db"
    drive(test, xl)


def test_p_pauses_then_unpauses():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("p")
        await settle(pilot)
        assert xl.calls == [("pause", "sample-web")]
        assert table_text(screen)[1][1] == "paused"
        assert pilot.app.notified[-1] == ("sample-web paused", "information")     # the job's own words
        await pilot.press("p")
        await settle(pilot)
        assert xl.calls == [("pause", "sample-web"), ("unpause", "sample-web")]
        assert table_text(screen)[1][1] == "running"
        assert pilot.app.notified[-1] == ("sample-web runs again", "information")
    drive(test)


def test_memory_above_the_manifest_maximum_is_refused_and_never_set():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("m")
        await pilot.pause()
        prompt = pilot.app.screen
        assert isinstance(prompt, Prompt)
        assert prompt.query_one(Input).value == "128"
        await pilot.press(*"512", "enter")      # the default is selected: typing replaces it
        await pilot.pause()
        assert pilot.app.screen is prompt       # still open, saying why
        problem = str(prompt.query_one("#problem", Static).render())
        assert "up to 256 MiB" in problem and "memory.maximum_mib" in problem
        await pilot.press("escape")
        await settle(pilot)
        assert xl.calls == []
    drive(test)


def test_memory_within_the_maximum_is_set():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("m", *"200", "enter")
        await settle(pilot)
        assert xl.calls == [("mem_set", "sample-web", 200)]
    drive(test)


def test_destroy_asks_first_and_n_leaves_it_running():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "legacy-db")
        await pilot.press("X")
        await pilot.pause()
        assert isinstance(pilot.app.screen, Confirm)
        await pilot.press("n")
        await settle(pilot)
        assert xl.calls == []
        await pilot.press("X", "y")
        await settle(pilot)
        assert xl.calls == [("destroy", "legacy-db")]
        assert "legacy-db" not in [r[0] for r in table_text(screen)]
    drive(test)


def test_xen_refusal_is_notified_in_its_own_words():
    xl = FakeXl(domains(), fail={"reboot": "PV control interface not available"})

    async def test(pilot, screen, xl):
        await select(pilot, screen, "legacy-db")
        await pilot.press("b")
        await settle(pilot)
        assert pilot.app.notified == [("Could not reboot legacy-db: PV control interface not available", "error")]
    drive(test, xl)


def test_save_prompts_with_the_default_file_and_creates_its_folder(tmp_path):
    places = Places(tmp_path / "saved", tmp_path / "cores", tmp_path / "logs")

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("v")
        await pilot.pause()
        assert pilot.app.screen.query_one(Input).value == str(tmp_path / "saved" / "sample-web.save")
        await pilot.press("enter")
        await settle(pilot)
        assert xl.calls == [("save", "sample-web", str(tmp_path / "saved" / "sample-web.save"))]
        assert (tmp_path / "saved").is_dir()
        saved_file(tmp_path / "saved" / "sample-web.save", config("sample-web"))     # as xl writes one
        await pilot.press("o")
        await pilot.pause()
        assert pilot.app.screen.query_one(Input).value == str(tmp_path / "saved" / "sample-web.save")
        await pilot.press("enter")
        await settle(pilot)
        assert xl.calls[-1] == ("restore", str(tmp_path / "saved" / "sample-web.save"))
        saved_file(tmp_path / "saved" / "sample-web.save", config("sample-web", disks=[("xvda", "/dev/sda")]))
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert xl.calls[-1][0] == "restore" and len([c for c in xl.calls if c[0] == "restore"]) == 1
        assert pilot.app.notified[-1][1] == "error"
        assert "its guest sample-web: its disk xvda (/dev/sda) is a host device" in pilot.app.notified[-1][0]
    drive(test, places=places)


def test_pin_vcpu_count_rename_sysrq_and_dump_core_pass_what_was_typed(tmp_path):
    places = Places(tmp_path / "saved", tmp_path / "cores", tmp_path / "logs")

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("i", *"all 0", "enter")
        await settle(pilot)
        await pilot.press("c", "3", "enter")         # above vcpus.maximum = 2: refused
        await pilot.pause()
        assert "1 to 2 vCPUs" in str(pilot.app.screen.query_one("#problem", Static).render())
        await pilot.press("escape", "c", "2", "enter")
        await settle(pilot)
        await pilot.press("y", "s", "enter")
        await settle(pilot)
        await pilot.press("k", "enter")
        await settle(pilot)
        await pilot.press("n", *"web2", "enter")
        await settle(pilot)
        assert xl.calls == [("vcpu_pin", "sample-web", "all", "0"), ("vcpu_set", "sample-web", 2),
                            ("sysrq", "sample-web", "s"),
                            ("dump_core", "sample-web", str(tmp_path / "cores" / "sample-web.core")),
                            ("rename", "sample-web", "web2")]
        table = screen.query_one(DataTable)
        assert table.get_row_at(table.cursor_row)[0].plain == "web2"    # the cursor followed the new name
    drive(test, places=places)


def test_start_launches_a_stopped_appliance_and_refuses_a_broken_one(monkeypatch):
    import tui.screens.appliance_jobs as appliance_jobs
    started = []
    monkeypatch.setattr(appliance_jobs, "launch", lambda manifest, xl: started.append(manifest.name))

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-broken")
        await pilot.press("enter")
        await settle(pilot)
        assert started == []
        assert pilot.app.notified == [
            ("sample-broken cannot start: its appliance.toml has problems (shown under the table).", "error")]
        await select(pilot, screen, "sample-web")
        xl._domains = [d for d in xl._domains if d.name != "sample-web"]
        screen.refresh_rows()
        await settle(pilot)
        await select(pilot, screen, "sample-web")
        await pilot.press("u")
        await settle(pilot)
        assert started == ["sample-web"]
        assert pilot.app.notified[-1] == ("sample-web started", "information")
    drive(test)


def test_log_viewer_strips_escape_sequences(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "guest-sample-web.log").write_bytes(
        b"\x1b[6nBooting \x1b[1;32mLinux\x1b[0m\r\n\x1b]0;title\x07login: \x1b[?25h\x1b(B\n")
    places = Places(tmp_path / "saved", tmp_path / "cores", logs)

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(pilot.app.screen, GuestLogScreen)
        lines = [strip.text.rstrip() for strip in pilot.app.screen.query_one(RichLog).lines]
        assert lines == ["Booting Linux", "login:"]
        assert not any("\x1b" in line for line in lines)
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
    drive(test, places=places)


def test_table_fits_80_columns():
    async def test(pilot, screen, xl):
        table = screen.query_one(DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width <= 80
    drive(test)


def test_fifty_appliances_refresh_by_updating_cells():
    many = [Domain("Domain-0", 0, 1024, 2, "running", 50.0)] + [
        Domain(f"guest-{i:02}", i, 128, 1, "running", float(i)) for i in range(1, 51)]
    xl = FakeXl(many)

    async def test(pilot, screen, xl):
        table = screen.query_one(DataTable)
        assert table.row_count == 52
        await select(pilot, screen, "guest-30")
        rows_before = list(table.rows)
        xl._domains = [dataclasses.replace(d, cpu_seconds=d.cpu_seconds + 1) for d in xl._domains]
        started = time.process_time()
        screen.refresh_rows()
        await settle(pilot)
        assert time.process_time() - started < 1.0     # generous: the point is no rebuild
        assert list(table.rows) == rows_before         # same row keys: cells updated in place
        assert table.get_row_at(table.cursor_row)[0].plain == "guest-30"
    drive(test, xl)


def test_overview_shows_autostart_failures_and_a_opens_appliances(monkeypatch):
    import tui.screens.overview as overview
    monkeypatch.setattr(overview, "read_status", lambda: [
        Outcome("sample-web", True), Outcome("sample-broken", False, "its appliance.toml is not valid: x: 1 problem\n  y")])

    async def run():
        app = XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            panel = app.screen.query_one("AutostartPanel")
            assert panel.display
            assert str(panel.render()) == "sample-broken NOT started: its appliance.toml is not valid: x: 1 problem; y"
            assert app.screen.active_bindings["a"].binding.description == "Appliances"
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, AppliancesScreen)
            assert app.screen.sub_title == "Appliances"
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, AppliancesScreen)
    asyncio.run(run())


def test_appliances_screen_opened_again_is_on_the_appliance_left_selected(monkeypatch):
    import tui.screens.overview as overview
    monkeypatch.setattr(overview, "read_status", lambda: [])

    async def run():
        app = XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            screen = app.screen
            await select(pilot, screen, "legacy-db")
            await pilot.press("escape")
            await pilot.pause()
            assert screen._paused                   # its timer stopped: no xl calls while nobody looks
            await pilot.press("a")
            await settle(pilot)
            assert app.screen is screen and screen._selected().name == "legacy-db"
    asyncio.run(run())


def test_console_key_where_the_terminal_cannot_be_handed_over_says_so():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("e")
        await pilot.pause()
        assert pilot.app.notified == [("Could not attach to sample-web's console: this terminal cannot hand "
                                       "itself over to a guest's console", "error")]
    drive(test)


def test_attach_console_prints_how_to_come_back_and_reports_the_failure(capsys):
    from tui.guest_console import attach_console
    failing = ("sh", "-c", "echo 'xl: unable to attach to the console of domain' >&2; exit 1")
    assert attach_console("web", failing) == "xl: unable to attach to the console of domain"
    assert capsys.readouterr().out == "Attached to web's console. Press Ctrl-] to come back.\n"
    assert attach_console("web", ("true",)) is None
    assert attach_console("web", ("/nonexistent/xl", "console", "web")) == "/nonexistent/xl is not available"
    assert attach_console("web", ("sh", "-c", "exit 2")) == "exit code 2"


def test_stopped_appliance_refuses_running_only_keys_without_calling_xen():
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-broken")
        await pilot.press("d", "p", "m", "X")
        await settle(pilot)
        assert xl.calls == []
        assert pilot.app.screen is screen
        assert pilot.app.notified[0] == ("sample-broken is not running, so there is nothing to shut down.", "warning")
    drive(test)


def test_a_checkpoint_from_the_screen_says_why_there_is_none_without_a_data_store():
    """This build host has no data store: the real lookup says so, and the screen passes it on."""
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("K")
        await settle(pilot)
        assert ("Checkpoints are kept on the data store, and this host has none mounted: make one first (Storage "
                "screen, key t).", "warning") in pilot.app.notified, pilot.app.notified
        assert xl.calls == []
    drive(test)


def test_k_takes_a_checkpoint_then_goes_back_to_it_after_asking(tmp_path, monkeypatch):
    """The checkpoints are test_checkpoints' (Xen's and LVM's stand-ins there: neither runs on this host)."""
    import test_checkpoints
    from hypervisor.appliances import checkpoints
    from tui.widgets.confirm import Confirm
    from tui.widgets.pick import Pick
    kept_xl = test_checkpoints.Xl()
    store = test_checkpoints.store(tmp_path, kept_xl)
    monkeypatch.setattr(checkpoints, "on_this_host", lambda xl: store)

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("K")
        await settle(pilot)
        assert isinstance(pilot.app.screen, Pick)
        await pilot.press("enter")              # the first: take one now
        await settle(pilot)
        taken = store.list("sample-web")
        assert len(taken) == 1 and kept_xl.calls == [("save -p", "sample-web"), ("unpause", "sample-web")]
        assert any(f"Checkpoint {taken[0].stamp} of sample-web" in note and "stood still for 250 ms" in note
                   for note, _ in pilot.app.notified), pilot.app.notified
        await pilot.press("K")
        await settle(pilot)
        await pilot.press("down", "enter")      # the checkpoint just taken
        await settle(pilot)
        assert isinstance(pilot.app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot)
        assert kept_xl.calls[-1] == ("destroy", "sample-web")          # what ran is stopped first
        assert xl.calls[-1] == ("restore", str(taken[0].folder / "memory.save"))    # through restore's gate
        assert (f"sample-web runs again as it was at {taken[0].stamp}.", "information") in pilot.app.notified, \
            pilot.app.notified
    drive(test)


KEYS = {"u": "Start", "d": "Stop", "b": "Reboot", "X": "Destroy", "p": "Pause", "v": "Save", "o": "Restore",
        "m": "Memory", "c": "vCPUs", "i": "Pin", "n": "Rename", "y": "SysRq", "k": "Core", "K": "Checkpoint", "e": "Console",
        "g": "Log", "a": "Add/import", "N": "New", "S": "Screen", "C": "CD", "escape": "Back"}


def test_footer_shows_every_key_on_three_lines_at_80_columns():
    async def test(pilot, screen, xl):
        shown = {key: active.binding.description for key, active in screen.active_bindings.items()
                 if active.binding.show}
        assert shown == KEYS
        assert "ctrl+a" not in screen.active_bindings
        assert screen.active_bindings["enter"].binding.action == "start"
        footer = screen.query_one("KeyFooter")
        assert footer.size.height == 3 and footer.region.bottom == 24     # 21 keys, 8 to a line
    drive(test)


def data_store_volumes_in(folder: Path, monkeypatch) -> list[str]:
    """The console's add puts a bundle's images on the data store's volume group (pool local), which this
    test host has not (and its kernel no device-mapper to make one): a real file pool in `folder` stands in."""
    from hypervisor.appliances import importing
    from hypervisor.storage.pools import FilePool
    opened = []

    def pool_target(name):
        opened.append(name)
        return importing.FileTarget(name, FilePool(folder=folder, problem=lambda: None))
    monkeypatch.setattr(importing, "pool_target", pool_target)
    return opened       # the pools' names, as the add opened them


def test_a_bundle_is_added_from_the_console_with_its_copy_said_and_a_broken_one_named(tmp_path, monkeypatch):
    import shutil
    opened = data_store_volumes_in(tmp_path / "volumes", monkeypatch)
    places = Places(tmp_path / "saved", tmp_path / "cores", tmp_path / "logs", tmp_path / "installed")
    good, broken = tmp_path / "stick" / "web", tmp_path / "stick" / "broken"
    shutil.copytree(SAMPLE_WEB, good)
    shutil.copytree(SAMPLE_WEB, broken)
    (broken / "data.img").unlink()

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        prompt = pilot.app.screen
        prompt.query_one(Input).value = "stick/web"
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is prompt          # said why, and still asking
        assert "give the bundle's full path" in str(prompt.query_one("#problem", Static).render())
        prompt.query_one(Input).value = str(good)
        await pilot.press("enter")
        await pilot.pause()
        asked = pilot.app.screen
        assert "Put web's disk images on which pool? local (volumes on the data store), files" in asked.question
        assert asked.query_one(Input).value == "local"
        asked.query_one(Input).value = "files"
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.notified[-1] == ("Added appliance sample-web: select it and press u to start it.",
                                          "information")
        assert set(opened) == {"files"}                # checked for room, then written onto
        assert (tmp_path / "installed" / "sample-web" / "appliance.toml").is_file()
        assert 'pool = "files"' in (tmp_path / "installed" / "sample-web" / "appliance.toml").read_text()
        assert not (tmp_path / "installed" / "sample-web" / "data.img").exists()      # its image is a volume
        assert (tmp_path / "volumes" / "sample-web.xvda.raw").is_file()
        await pilot.press("a")
        await pilot.pause()
        pilot.app.screen.query_one(Input).value = str(broken)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")                 # local, as offered
        await settle(pilot)
        message, severity = pilot.app.notified[-1]
        assert severity == "error" and message.startswith(f"{broken} was not added: ")
        assert "disks[0].file = 'data.img': is not a file in the bundle" in message
    drive(test, places=places)


def test_a_bundle_is_added_from_a_stick_the_console_mounts_listing_them_when_there_are_several(tmp_path, monkeypatch):
    data_store_volumes_in(tmp_path / "volumes", monkeypatch)
    """Mounting is the boundary (no stick on this build host; test_storage_media has the mount itself):
    `sdb1` is taken for a block device, and the mount is a stand-in recording each mount and unmount
    around a folder holding the stick's files. The bundles are installed for real."""
    import shutil
    from contextlib import contextmanager
    from hypervisor.appliances import adding
    stick, events = tmp_path / "stick", []
    shutil.copytree(SAMPLE_WEB, stick / "web")
    monkeypatch.setattr("hypervisor.storage.media.is_block_device", lambda path: path.name == "sdb1")

    @contextmanager
    def mounted(device, say):
        events.append(f"mount {device}")
        try:
            yield stick
        finally:
            events.append(f"umount {device}")
    monkeypatch.setattr(adding, "mounted_read_only", mounted)
    places = Places(tmp_path / "saved", tmp_path / "cores", tmp_path / "logs", tmp_path / "installed")

    async def type_in(pilot, text):
        pilot.app.screen.query_one(Input).value = text
        await pilot.press("enter")
        await settle(pilot)

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, "sdc1")
        assert "/dev/sdc1 is not a disk or partition of this host" in str(
            pilot.app.screen.query_one("#problem", Static).render())
        await type_in(pilot, "sdb1")
        assert "Put sdb1's disk images on which pool?" in pilot.app.screen.question
        await type_in(pilot, "local")            # one bundle on it: added straight away
        assert pilot.app.notified[-1] == ("Added appliance sample-web from sdb1 (sdb1 is unmounted again): select "
                                          "it and press u to start it.", "information")
        assert events == ["mount sdb1", "umount sdb1"]
        shutil.copytree(SAMPLE_WEB, stick / "more" / "db")
        (stick / "more" / "db" / "appliance.toml").write_text(
            (SAMPLE_WEB / "appliance.toml").read_text().replace('name = "sample-web"', 'name = "db"'))
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, "/dev/sdb1")
        await type_in(pilot, "local")            # two: listed to pick from, the stick unmounted meanwhile
        assert pilot.app.screen.question == "sdb1 holds these. Which one is to be added or imported?"
        assert pilot.app.screen.shown == ["Bundles", "  more/db/", "  web/"]
        assert events[2:] == ["mount sdb1", "umount sdb1"]
        await pilot.press("enter")                 # the first, highlighted to begin with; the pool is not asked again
        await settle(pilot)
        assert pilot.app.notified[-1][0].startswith("Added appliance db from sdb1")
        assert events[4:] == ["mount sdb1", "umount sdb1"]
        assert sorted(p.name for p in (tmp_path / "installed").iterdir()) == ["db", "sample-web"]
    drive(test, places=places)


def test_an_appliance_that_panicked_after_its_start_shows_why_under_the_table():
    """What launch.start kept, and the console log Xen wrote (captured: a PV kernel with no root fs)."""
    from hypervisor.appliances import why_stopped
    from hypervisor.xen import daemons as xen_daemons
    why_stopped.record("sample-web", why_stopped.Run(time.time() - 40))
    xen_daemons.CONSOLE_LOGS.mkdir(parents=True)
    (xen_daemons.CONSOLE_LOGS / "guest-sample-web.log").write_text(
        (Path(__file__).parent.parent / "fixtures" / "xen" / "failures" / "guest-pv-no-root.log").read_text())
    xl = FakeXl([d for d in domains() if d.name != "sample-web"])

    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        reason = screen.query_one("#reason", Static)
        assert reason.display and reason.border_title == "Why sample-web is stopped"
        shown = str(reason.render())
        assert "its kernel panicked: VFS: Unable to mount root fs" in shown.replace("\n", " ")
        assert "No filesystem could mount root, tried:" in shown and "Call Trace" not in shown
        assert reason.region.bottom <= screen.size.height - 2      # the status line and keys still show
        await select(pilot, screen, "legacy-db")
        assert not reason.display
    drive(test, xl)
