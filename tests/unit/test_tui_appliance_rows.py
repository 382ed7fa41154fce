"""Building the appliances table's rows from the catalog, `xl list`, the CPU meter and the autostart status."""
from pathlib import Path

from hypervisor.appliances.autostart_status import Outcome
from hypervisor.appliances.catalog import Entry, read_entry
from hypervisor.xen.domains import CpuMeter, Domain
from tui.screens.appliance_rows import COLUMNS, build_rows, cells, summary
from tui.widgets.autostart_panel import failure_lines

SAMPLE_WEB = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
BROKEN = Entry("sample-broken", Path("/apps/sample-broken"), None,
               "/apps/sample-broken/appliance.toml: 2 problems\n  type = 'xen': must be pv, pvh or hvm\n"
               "  memory.initial_mib: is missing")
DOM0 = Domain("Domain-0", 0, 1024, 2, "running", 100.0)


def web() -> Entry:
    return read_entry(SAMPLE_WEB)


def test_catalog_first_then_unknown_running_guests_and_never_dom0():
    rows = build_rows([BROKEN, web()], [DOM0, Domain("other", 7, 64, 1, "running", 1.0)], {})
    assert [r.name for r in rows] == ["sample-broken", "sample-web", "other"]


def test_a_stopped_appliance_shows_its_manifest_sizes_and_no_id():
    (row,) = build_rows([web()], [DOM0], {})
    assert cells(row) == ("sample-web", "stopped", "-", "1", "128", "-", "yes")
    assert (row.max_memory_mib, row.max_vcpus, row.running) == (256, 2, False)


def test_a_running_appliance_shows_xens_figures_and_its_cpu_share():
    domain = Domain("sample-web", 4, 200, 2, "running", 12.0)
    (row,) = build_rows([web()], [DOM0, domain], {4: 37.25})
    assert cells(row) == ("sample-web", "running", "4", "2", "200", "37.2", "yes")
    assert row.reason is None


def test_pv_drivers_go_to_the_running_guest_with_that_domid_only():
    from hypervisor.xen.frontends import Count, PvDrivers
    drivers = {4: PvDrivers(Count(0, 0), Count(1, 1)), 9: PvDrivers(Count(0, 1), Count(0, 1))}
    other = Domain("other", 9, 64, 1, "running", 1.0)
    web_row, broken_row, other_row = build_rows([web(), BROKEN], [DOM0, Domain("sample-web", 4, 200, 2, "running", 1.0),
                                                                  other], {}, drivers=drivers)
    assert web_row.pv_drivers == drivers[4] and other_row.pv_drivers == drivers[9]
    assert broken_row.pv_drivers is None
    (stopped,) = build_rows([web()], [DOM0], {}, drivers=drivers)
    assert stopped.pv_drivers is None


def test_first_sample_has_no_cpu_figure_yet():
    (row,) = build_rows([], [Domain("g", 3, 64, 1, "running", 1.0)], {3: None})
    assert cells(row)[5] == "..."


def test_blocked_reads_as_running_and_paused_as_paused():
    # xl.parse_list already names "-b----" running; the table keeps Xen's word otherwise.
    rows = build_rows([], [Domain("a", 1, 64, 1, "running", 0), Domain("b", 2, 64, 1, "paused", 0)], {})
    assert [r.state for r in rows] == ["running", "paused"]


def test_a_broken_manifest_is_broken_with_every_problem_as_its_reason():
    (row,) = build_rows([BROKEN], [], {})
    assert cells(row) == ("sample-broken", "broken", "-", "-", "-", "-", "no")
    assert row.reason == BROKEN.problem


def test_autostart_failure_is_the_reason_of_a_stopped_appliance():
    outcome = Outcome("sample-web", False, "sample-web needs 128 MiB but Xen has only 100 MiB free")
    (row,) = build_rows([web()], [], {}, [outcome])
    assert row.state == "stopped"
    assert row.reason == "Autostart did not start it at boot: sample-web needs 128 MiB but Xen has only 100 MiB free"
    (running,) = build_rows([web()], [Domain("sample-web", 3, 128, 1, "running", 0)], {}, [outcome])
    assert running.reason is None          # started by hand since: the boot's failure is history


def test_three_guests_on_one_cpu_share_it():
    meter = CpuMeter(1)
    guests = [Domain(f"g{i}", i, 64, 1, "running", 0.0) for i in (1, 2, 3)]
    meter.sample(guests, 0.0)
    later = [Domain(f"g{i}", i, 64, 1, "running", 2 / 3) for i in (1, 2, 3)]
    rows = build_rows([], later, meter.sample(later, 2.0))
    assert [cells(r)[5] for r in rows] == ["33.3", "33.3", "33.3"]


def test_columns_fit_80_with_padding_border_and_scrollbar():
    assert sum(width + 2 for _, _, width in COLUMNS) + 2 + 1 <= 80


def test_summary_counts_states():
    rows = build_rows([BROKEN, web()], [Domain("x", 2, 64, 1, "paused", 0), Domain("y", 3, 64, 1, "running", 0)], {})
    assert summary(rows) == "4 appliances: 1 broken, 1 stopped, 1 paused, 1 running"
    assert summary([]) == "0 appliances"


def test_autostart_failures_are_one_line_each():
    outcomes = [Outcome("sample-web", True),
                Outcome("sample-broken", False, "its appliance.toml is not valid: " + BROKEN.problem)]
    assert failure_lines(outcomes) == [
        "sample-broken NOT started: its appliance.toml is not valid: /apps/sample-broken/appliance.toml: "
        "2 problems; type = 'xen': must be pv, pvh or hvm; memory.initial_mib: is missing"]
    assert failure_lines([Outcome("a", True)]) == []


def test_what_the_last_start_left_is_the_reason_of_a_stopped_or_crashed_appliance_only():
    asked = []

    def why(name):
        asked.append(name)
        return f"{name}'s console ended: Kernel panic"
    (stopped,) = build_rows([web()], [DOM0], {}, why=why)
    assert stopped.reason == "sample-web's console ended: Kernel panic"
    crashed = Domain("sample-web", 4, 96, 1, "crashed", 1.0)
    (row,) = build_rows([web()], [DOM0, crashed], {}, why=why)
    assert row.reason.splitlines() == ["sample-web crashed; its on_crash policy decides what Xen does next.",
                                       "sample-web's console ended: Kernel panic"]
    asked.clear()
    (running,) = build_rows([web()], [DOM0, Domain("sample-web", 4, 96, 1, "running", 1.0)], {}, why=why)
    assert running.reason is None and asked == []


def test_a_failed_start_this_boot_says_more_than_autostarts_word():
    failed = Outcome("sample-web", False, "Xen has too little memory")
    (row,) = build_rows([web()], [DOM0], {}, [failed], why=lambda name: "The start at 10:00:00 failed. Xen ...")
    assert row.reason == "The start at 10:00:00 failed. Xen ..."
    (row,) = build_rows([web()], [DOM0], {}, [failed])
    assert row.reason == "Autostart did not start it at boot: Xen has too little memory"
