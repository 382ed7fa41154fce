"""make bench's appliance figures: each beside its same-run baseline, with its target and whether it was met."""
from pathlib import Path

from bench import report
from bench.guest import DirectBoot, serial_console
from bench.measure import XENBOX, GuestAnswer, Run
from bench.memory import Memory
from bench.refresh import Refresh
from firmware.qemu import Machine


def _run(ready=100.0, http_s=108.0, started_s=95.0, refreshes=None, http_cpu=90.0) -> Run:
    refreshes = refreshes if refreshes is not None else [
        Refresh(1, 0, 10, 40.0, 20.0, 150.0, 70.0), Refresh(50, 0, 10, 120.0, 22.0, 900.0, 200.0)]
    return Run(XENBOX, {"ready": ready}, {"ready": 50.0}, None, None, Memory({"MemTotal": 2, "MemAvailable": 1}),
               Path("x.log"), GuestAnswer("10.0.2.16", "10.0.2.16", http_s, 200, started_s, http_cpu), refreshes)


ALONE = DirectBoot(26.0, 24.0, 200, 25.5, "10.0.2.15", 96, 1, Path("alone.log"))


def _by_key(rows):
    return {row.key: row for row in rows}


def test_http_after_ready_is_beside_the_guest_alone_and_its_15_s_target():
    rows = _by_key(report.appliance_figures(_run(), ALONE, (1, 50)))
    after = rows["guest_http_after_ready"]
    assert (after.floor, after.xenbox, after.met) == (26.0, 8.0, True)
    assert round(after.ratio, 3) == round(8 / 26, 3)
    assert (rows["guest_http_cpu_after_ready"].floor, rows["guest_http_cpu_after_ready"].xenbox) == (24.0, 40.0)
    assert rows["guest_started_after_ready"].xenbox == -5.0      # started before the console was ready
    assert rows["guest_http"].xenbox == 108.0 and rows["guest_http"].floor == 26.0
    late = _by_key(report.appliance_figures(_run(http_s=116.0), ALONE, (1, 50)))["guest_http_after_ready"]
    assert late.met is False


def test_refresh_with_50_is_against_1_and_100_ms():
    rows = _by_key(report.appliance_figures(_run(), ALONE, (1, 50)))
    cpu = rows["refresh_cpu_ms"]
    assert (cpu.floor, cpu.xenbox, cpu.ratio, cpu.met) == (40.0, 120.0, 3.0, False)
    assert (rows["refresh_xl_cpu_ms"].floor, rows["refresh_first_cpu_ms"].xenbox) == (20.0, 900.0)


def test_nothing_measured_is_shown_as_unknown_not_as_met():
    rows = report.appliance_figures(_run(http_s=None, refreshes=[], http_cpu=None), None, (1, 50))
    assert all(row.xenbox is None for row in rows if row.key != "guest_started_after_ready")
    assert all(row.met is None for row in rows)
    assert "not measured" in report.verdicts(rows)


def test_table_and_sentences_say_met_or_not():
    rows = report.median([report.appliance_figures(_run(), ALONE, (1, 50)),
                          report.appliance_figures(_run(http_s=130.0), ALONE, (1, 50))])
    text = report.table(rows, "heading", against="baseline")
    assert "XenBox vs baseline" in text
    assert "<= 15 s: NOT met" in text               # the median of 8 and 30 s is 19 s
    sentences = report.verdicts(rows)
    assert "console ready -> HTTP answer: 19.0 s against <= 15 s: NOT met" in sentences
    assert "refresh, catalog cached: 120.0 ms against <= 100 ms: NOT met" in sentences


def test_the_guest_alone_uses_the_serial_port_for_its_console():
    assert serial_console("console=hvc0 quiet") == "console=ttyS0 quiet"
    assert serial_console("") == "console=ttyS0"


def test_port_forwards_are_optional_and_the_default_network_is_unchanged(tmp_path):
    def netdev(machine):
        argv = machine.argv(tmp_path)
        return argv[argv.index("-netdev") + 1]
    assert netdev(Machine(iso=Path("x.iso"))) == "user,id=net0"
    assert netdev(Machine(iso=Path("x.iso"), host_forwards=["tcp:127.0.0.1:8080-10.0.2.16:80"])) == \
        "user,id=net0,hostfwd=tcp:127.0.0.1:8080-10.0.2.16:80"
