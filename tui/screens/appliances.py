"""Every appliance, defined or running, with a letter key for each thing Xen can do to it.

The table refreshes every two seconds in a worker thread; each action runs in its
own worker, says what it is doing on the status line and its outcome in a
notification, Xen's own sentence when it refused. Nothing here waits on `xl` in
the UI thread.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from hypervisor.appliances.autostart_status import Outcome, read_status
from hypervisor.appliances.catalog import APPLIANCE_DIRS, Entry
from hypervisor.appliances.importing import Answers
from hypervisor.appliances.launch import CannotStart
from hypervisor.appliances.why_stopped import why_not_running
from hypervisor.runner import CommandError, ParseError
from hypervisor.xen.domains import CpuMeter
from hypervisor.xen.frontends import Frontends, PvDrivers
from hypervisor.xen.xl import Xl
from tui.catalog_cache import CatalogCache
from tui.guest_console import attach_console
from tui.handover import hand_over
from tui.screens import appliance_input as typed
from tui.screens import appliance_jobs as jobs
from tui.screens.appliance_jobs import Places
from tui.screens.appliance_rows import ApplianceRow, build_rows, summary
from tui.screens.guest_log import GuestLogScreen
from tui.screens.new_guest import NewGuestScreen
from tui.widgets.appliance_table import ApplianceTable
from tui.widgets.confirm import Confirm
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.pick import Pick
from tui.widgets.prompt import Prompt

REFRESH_SECONDS = 2.0
REFRESH, ACTION = "appliances-refresh", "appliances-action"


class AppliancesScreen(ClockedScreen):
    DEFAULT_CSS = """
    AppliancesScreen #reason {
        height: auto; max-height: 12; padding: 0 1;
        border: solid $error; border-title-color: $text; display: none;
    }
    AppliancesScreen #drivers { height: 1; padding: 0 1; display: none; }
    AppliancesScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    # Letter keys only (F-keys don't cross serial). Taken by the app, so not used here:
    # s shell, l Xen log, w password, R and P host reboot and power-off; never ctrl+a (Xen's).
    BINDINGS = [
        Binding("enter", "start", "Start", show=False, priority=True),
        Binding("u", "start", "Start"),
        Binding("d", "shutdown", "Stop"),
        Binding("b", "reboot", "Reboot"),
        Binding("X", "destroy", "Destroy"),
        Binding("p", "pause", "Pause"),
        Binding("v", "save", "Save"),
        Binding("o", "restore", "Restore"),
        Binding("m", "memory", "Memory"),
        Binding("c", "vcpus", "vCPUs"),
        Binding("i", "pin", "Pin"),
        Binding("n", "rename", "Rename"),
        Binding("y", "sysrq", "SysRq"),
        Binding("k", "dump_core", "Core"),
        Binding("K", "checkpoint", "Checkpoint"),
        Binding("e", "console", "Console"),
        Binding("g", "log", "Log"),
        Binding("a", "add", "Add/import"),
        Binding("N", "new_guest", "New"),
        Binding("S", "screen", "Screen"),
        Binding("C", "cd", "CD"),
        Binding("escape", "app.pop_screen", "Back"),
        # The app's own keys still work here; the footer has no room to show them.
        Binding("s", "app.shell", show=False),
        Binding("w", "app.password", show=False),
        Binding("l", "app.xen_log", show=False),
        Binding("R", "app.reboot", show=False),
        Binding("P", "app.power_off", show=False),
        Binding("ctrl+l", "app.redraw", show=False),
    ]

    def __init__(self, xl: Xl, catalog: Callable[[], list[Entry]] | None = None,
                 autostart_status: Callable[[], list[Outcome]] = read_status,
                 places: Places = Places(), new_guest: Callable[..., NewGuestScreen] = NewGuestScreen,
                 frontends: Callable[[Iterable[int]], dict[int, PvDrivers]] | None = None) -> None:
        super().__init__()
        self.frontends = frontends or Frontends().of     # one xenstore-ls for every guest, every 10 s at most
        self.new_guest = new_guest                 # the new-guest steps; tests give them their host
        self.xl = xl
        self.catalog = catalog or CatalogCache().entries
        self.autostart_status = autostart_status
        self.places = places
        self.meter: CpuMeter | None = None
        self._rows: dict[str, ApplianceRow] = {}
        self._saved: dict[str, Path] = {}          # this session's last save per appliance
        self._doing: dict[int, str] = {}           # actions in progress
        self._jobs = 0
        self._refreshing = self._again = False
        self._follow: str | None = None            # the name to select after the next refresh
        self._status = "Asking Xen about the appliances ..."
        self._timer: Timer | None = None
        self._paused = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield ApplianceTable()
        yield Static("", id="drivers")
        yield Static("", id="reason")
        yield Static(self._status, id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Appliances"
        self._timer = self.set_interval(REFRESH_SECONDS, self.refresh_rows)
        self.refresh_rows()

    def on_screen_suspend(self) -> None:
        if self._timer:
            self._timer.pause()     # a log or a prompt is in front: no need to call xl
            self._paused = True

    def on_screen_resume(self) -> None:
        if self._paused:            # not on the first showing: on_mount has just refreshed
            self._paused = False
            self._timer.resume()
            self.refresh_rows()

    # -- refreshing -----------------------------------------------------------
    def refresh_rows(self) -> None:
        """Start a refresh, unless one is still waiting on xl: then run once more after it."""
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        self._read_rows()

    @work(thread=True, group=REFRESH, exit_on_error=False)
    def _read_rows(self) -> None:
        try:
            domains = self.xl.domains()
            if self.meter is None:
                self.meter = CpuMeter(self.xl.info().nr_cpus)
            cpu = self.meter.sample(domains, time.monotonic())
            drivers = self.frontends(domain.domid for domain in domains)
            rows, problem = build_rows(self.catalog(), domains, cpu, self.autostart_status(), why_not_running,
                                       drivers), None
        except CommandError as error:
            rows, problem = None, f"Xen did not answer: {error.sentence}"
        except ParseError as error:
            rows, problem = None, str(error)
        self.app.call_from_thread(self._show_rows, rows, problem)

    def _show_rows(self, rows: list[ApplianceRow] | None, problem: str | None) -> None:
        if not self.is_attached:
            return
        if rows is None:
            self._set_status(problem or "")
            return
        self._rows = {row.name: row for row in rows}
        self.query_one(ApplianceTable).show(rows, follow=self._follow)
        if self._follow in self._rows:
            self._follow = None     # found; an older refresh may not know the new name yet
        self._show_reason()
        if rows:
            self._set_status(f"{summary(rows)} - updated {time.strftime('%H:%M:%S')}")
        else:
            self._set_status(f"No appliances yet: put a bundle folder in {APPLIANCE_DIRS[0]}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR:
            # Not one of the refusals the workers expect: say it plainly, never as a traceback.
            self.notify(f"Something went wrong: {worker.error}", severity="error", markup=False, timeout=10)
        if worker.group == REFRESH and worker.is_finished:
            self._refreshing = False
            if self._again:
                self._again = False
                self.refresh_rows()

    # -- what is shown around the table ---------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_reason()

    def _show_reason(self) -> None:
        row = self._selected()
        drivers = self.query_one("#drivers", Static)
        drivers.display = bool(row and row.running and row.pv_drivers)
        if row and row.running and row.pv_drivers:
            drivers.update(Text(f"{row.name}: {row.pv_drivers.summary}"))
        panel = self.query_one("#reason", Static)
        panel.display = bool(row and row.reason)
        if row and row.reason:
            panel.border_title = f"Why {row.name} is {row.state}" if not row.running else f"About {row.name}"
            panel.update(Text(row.reason))

    def _set_status(self, text: str) -> None:
        self._status = text
        doing = "   ".join(self._doing.values())
        self.query_one("#status", Static).update(Text(doing or text))

    # -- the selected row ------------------------------------------------------
    def _selected(self) -> ApplianceRow | None:
        name = self.query_one(ApplianceTable).selected_key
        return self._rows.get(name) if name else None

    def _chosen_row(self) -> ApplianceRow | None:
        row = self._selected()
        if row is None:
            self.notify("There is no appliance to act on yet.", severity="warning")
        return row

    def _running_row(self, verb: str) -> ApplianceRow | None:
        row = self._chosen_row()
        if row is not None and not row.running:
            self.notify(f"{row.name} is not running, so there is nothing to {verb}.", severity="warning",
                        markup=False)
            return None
        return row

    # -- running an action -----------------------------------------------------
    def _run(self, job: jobs.Job) -> None:
        self._jobs += 1
        self._doing[self._jobs] = f"{job.doing} ..."
        self._set_status(self._status)
        self._run_job(self._jobs, job)

    def _ask(self, question: jobs.Question, then: Callable[[Any], None]) -> None:
        def answered(result: Any) -> None:
            if result is not None:
                then(result)
        self.app.push_screen(Prompt(question.text, question.value, question.placeholder, question.read), answered)

    def _confirm(self, question: str, job: jobs.Job) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(job)
        self.app.push_screen(Confirm(question), answered)

    @work(thread=True, group=ACTION, exit_on_error=False)
    def _run_job(self, number: int, job: jobs.Job) -> None:
        try:
            try:
                said = job.call(lambda line: self.app.call_from_thread(self._job_progress, number, job, line)) \
                    if job.reports else job.call()
                if isinstance(said, jobs.Choose):         # one of what is on a device or in a folder
                    self.app.call_from_thread(self._pick, said)
                    return
                outcome = (said if isinstance(said, str) else job.done, "information")
            except (CannotStart, jobs.NotDone) as error:
                outcome = (str(error), "error")          # already a sentence naming the appliance
            except CommandError as error:
                outcome = (f"{job.failed}: {error.sentence}", "error")
            except OSError as error:
                outcome = (f"{job.failed}: {error.strerror or error} ({error.filename})", "error")
        finally:
            self.app.call_from_thread(self._job_ended, number)
        self.app.call_from_thread(self._job_finished, *outcome, job.follow, job.lingers)

    def _job_progress(self, number: int, job: jobs.Job, line: str) -> None:
        if number in self._doing and self.is_attached:
            self._doing[number] = f"{job.doing}: {line}"
            self._set_status(self._status)

    def _job_ended(self, job: int) -> None:
        self._doing.pop(job, None)
        if self.is_attached:
            self._set_status(self._status)

    def _job_finished(self, message: str, severity: str, follow: str | None, lingers: float | None = None) -> None:
        if severity == "error":
            self.notify(message, severity="error", markup=False, timeout=10)
        elif lingers:
            self.notify(message, markup=False, timeout=lingers)
        else:
            self.notify(message, markup=False)
            self._follow = follow
        self.refresh_rows()

    # -- the keys ---------------------------------------------------------------
    def action_start(self) -> None:
        if not (row := self._chosen_row()):
            return
        if row.running:
            self.notify(f"{row.name} is already running (domain {row.domid}).", severity="warning", markup=False)
        elif row.manifest is None:
            self.notify(f"{row.name} cannot start: its appliance.toml has problems (shown under the table).",
                        severity="error", markup=False, timeout=10)
        else:
            self._run(jobs.start(self.xl, row))

    def action_shutdown(self) -> None:
        if row := self._running_row("shut down"):
            self._run(jobs.shutdown(self.xl, row))

    def action_reboot(self) -> None:
        if row := self._running_row("reboot"):
            self._run(jobs.reboot(self.xl, row))

    def action_destroy(self) -> None:
        if row := self._running_row("destroy"):
            self._confirm(jobs.destroy_question(row), jobs.destroy(self.xl, row))

    def action_pause(self) -> None:
        if row := self._running_row("pause"):
            self._run(jobs.pause_or_unpause(self.xl, row))

    def action_add(self) -> None:
        self._ask(jobs.add_question(), self._add)

    def _add(self, source: Path | typed.OnDevice | typed.LookIn | typed.ToImport, pool: str | None = None) -> None:
        """A bundle is added onto the pool asked for (once: a bundle picked from a stick's list keeps the
        answer); a folder's contents listed to pick from; a file to import asked about first."""
        if isinstance(source, typed.LookIn):
            self._run(jobs.look_in(source.folder))
        elif isinstance(source, typed.ToImport):
            self._import(source, pool or "local")
        elif pool is None:
            self._ask(jobs.bundle_pool_question(source), lambda chosen: self._add(source, chosen))
        else:
            self._run(jobs.add(source, self.places.appliances, pool=pool))

    def _pick(self, choose: jobs.Choose) -> None:
        def picked(path: str | None) -> None:
            if path is not None:
                self._add(choose.picked(path), choose.pool)
        self.app.push_screen(Pick(choose.question, choose.groups()), picked)

    def _import(self, source: typed.ToImport, default_pool: str = "local") -> None:
        """What `xenbox appliance import` takes as options, asked in turn: the name, the pool, memory and
        vCPUs (an xl.cfg says all of its own, as for the CLI); then imported in a worker."""
        into = self.places.appliances
        if source.kind == "xl.cfg":
            self._run(jobs.import_file(source, into))
            return

        def sized(name: str, pool: str, size: tuple[int | None, int | None]) -> None:
            self._run(jobs.import_file(source, into, Answers(name or None, pool, *size)))
        self._ask(jobs.import_name_question(source, frozenset(self._rows)), lambda name: self._ask(
            jobs.import_pool_question(source, default_pool), lambda pool: self._ask(
                jobs.size_question(source), lambda size: sized(name, pool, size))))

    def action_new_guest(self) -> None:
        def made(name: str | None) -> None:
            if name:
                self._follow = name
                self.refresh_rows()
        self.app.push_screen(self.new_guest(taken=frozenset(self._rows)), made)

    def action_screen(self) -> None:
        """An hvm guest's screen: turned on (asked first), then shown (its address and a token) or off."""
        if not (row := self._hvm_row("screen to show")):
            return
        if not row.manifest.display.enabled:
            self._confirm(jobs.screen_on_question(row), jobs.turn_screen(row, True, self.xl))
        else:
            self._ask(jobs.screen_question(row), lambda choice: self._run(
                jobs.show_screen(row, self.xl) if choice == "show" else jobs.turn_screen(row, False, self.xl)))

    def action_cd(self) -> None:
        if row := self._hvm_row("CD drive"):
            self._ask(jobs.cd_question(row), lambda iso: self._run(jobs.change_cd(self.xl, row, iso)))

    def _hvm_row(self, what: str) -> ApplianceRow | None:
        row = self._chosen_row()
        if row is None:
            return None
        if row.manifest is None or row.manifest.type != "hvm":
            self.notify(f"{row.name} has no {what}: only hvm appliances have one.", severity="warning", markup=False)
            return None
        return row

    def action_save(self) -> None:
        if row := self._running_row("save"):
            self._ask(jobs.save_question(row, self.places.saved),
                      lambda path: self._run(jobs.save(self.xl, row, path, self._saved)))

    def action_restore(self) -> None:
        row = self._selected()
        name = row.name if row else ""
        self._ask(jobs.restore_question(name, self._saved.get(name), self.places.saved),
                  lambda path: self._run(jobs.restore(self.xl, path, name or None)))

    def action_memory(self) -> None:
        if row := self._running_row("resize"):
            self._ask(jobs.memory_question(row), lambda mib: self._run(jobs.set_memory(self.xl, row, mib)))

    def action_vcpus(self) -> None:
        if row := self._running_row("change"):
            self._ask(jobs.vcpus_question(row), lambda count: self._run(jobs.set_vcpus(self.xl, row, count)))

    def action_pin(self) -> None:
        if row := self._running_row("pin"):
            self._ask(jobs.pin_question(row), lambda choice: self._run(jobs.pin(self.xl, row, choice)))

    def action_rename(self) -> None:
        if row := self._running_row("rename"):
            self._ask(jobs.rename_question(row), lambda new: self._run(jobs.rename(self.xl, row, new)))

    def action_sysrq(self) -> None:
        if row := self._running_row("send SysRq to"):
            self._ask(jobs.sysrq_question(row), lambda key: self._run(jobs.sysrq(self.xl, row, key)))

    def action_dump_core(self) -> None:
        if row := self._running_row("dump"):
            self._ask(jobs.core_question(row, self.places.cores),
                      lambda path: self._run(jobs.dump_core(self.xl, row, path)))

    def action_checkpoint(self) -> None:
        """Take one, or go back to one: a list of both."""
        if not (row := self._chosen_row()):
            return
        try:
            question, groups = jobs.checkpoint_choices(self.xl, row)
        except jobs.NotDone as error:
            self.notify(str(error), severity="warning", markup=False, timeout=10)
            return

        def picked(value: str | None) -> None:
            if value == jobs.TAKE:
                self._run(jobs.checkpoint(self.xl, row))
            elif value:
                self._confirm(jobs.restore_checkpoint_question(row.name, value),
                              jobs.restore_checkpoint(self.xl, row.name, value))
        self.app.push_screen(Pick(question, groups), picked)

    def action_console(self) -> None:
        if not (row := self._running_row("attach to")):
            return
        self._timer.pause()             # nobody sees the table while the guest has the terminal
        try:
            problem = hand_over(self, lambda idle_limit: attach_console(
                row.name, self.xl.console_command(row.name), idle_limit=idle_limit))
        except SuspendNotSupported:
            problem = "this terminal cannot hand itself over to a guest's console"
        finally:
            self._timer.resume()
        if problem:
            self.notify(f"Could not attach to {row.name}'s console: {problem}", severity="error",
                        markup=False, timeout=10)
        self.refresh_rows()

    def action_log(self) -> None:
        if row := self._chosen_row():
            self.app.push_screen(GuestLogScreen(row.name, self.places.console_log(row.name)))
