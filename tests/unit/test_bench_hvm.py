"""make bench's HVM figures (bench/hvm.py): the screendumps and dom0 output they are read from (captured from
real runs: tests/unit/fixtures/bench_hvm/), the figures, the stick, and the dom0 probe beside hvm.py."""
import gzip
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import hvm, storage
from bench.hvm import AloneRun, HvmRun, Screen
from bench.memory import Memory, ProbeError, Process, parse

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bench_hvm"


def fixture(name: str) -> bytes:
    return gzip.decompress((FIXTURES / name).read_bytes())


def test_qemus_placeholder_is_not_text_mode_and_grubs_menu_is():
    """Captured from QEMU alone booting the rescue CD: "Guest has not initialized the display (yet)." at its
    start, then GRUB's menu; each has two colours, so only the mode tells them apart."""
    assert hvm.colours(fixture("placeholder.ppm.gz")) == (640, 480, 2)
    assert hvm.colours(fixture("grub-menu.ppm.gz")) == (*hvm.TEXT_MODE, 2)
    blank = b"P6\n720 400\n255\n" + bytes(720 * 400 * 3)
    assert hvm.colours(blank) == (720, 400, 1)


def test_something_else_than_a_ppm_is_refused():
    with pytest.raises(ValueError, match="not a binary PPM"):
        hvm.colours(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\n")


def test_the_create_and_the_first_screen_are_read_from_dom0s_shell():
    output = fixture("dom0-create.txt.gz").decode()
    start, created = hvm.created_span(output)
    assert 0 < start < created
    seen = hvm.last_json(output)
    first, text = hvm.screen_at(seen["first"], start), hvm.screen_at(seen["text"], start)
    assert first.colours > 1 and first.at_s > created - start
    assert (text.width, text.height) == hvm.TEXT_MODE and text.at_s >= first.at_s


def test_a_failed_create_or_a_missing_probe_line_fails_loudly():
    with pytest.raises(ProbeError, match="failed \\(exit 1\\)"):
        hvm.created_span("BENCH-CREATE 10.5 11.25 1\n")
    with pytest.raises(ProbeError, match="no BENCH-CREATE line"):
        hvm.created_span("xenbox: hvm-bench: no such ISO\n")
    with pytest.raises(ProbeError, match="no JSON line"):
        hvm.last_json('echo BENCH-CREATE $t0 $t1 $rc\n{"name": "hvm-bench", \n')


def test_the_device_model_and_the_processes_that_came_with_the_guest():
    found = hvm.last_json(fixture("dom0-memory.txt.gz").decode())
    rss, pss = hvm.device_model(found)
    assert rss > pss > 0
    assert hvm.device_model({"device_models": []}) == (None, None)
    before = Memory({"MemTotal": 1, "MemAvailable": 1}, [Process(1, 900, "init", "/sbin/init"),
                                                          Process(200, 30000, "python3", "python3 -m tui")])
    with_guest = Memory({"MemTotal": 1, "MemAvailable": 1}, [
        *before.processes, Process(300, 9000, "qemu-system-i38", "/usr/libexec/xen-qemu-system-i386 -xen-domid 3"),
        Process(301, 1500, "xl", "xl create /run/xenbox/hvm-bench.cfg")])
    assert [p.pid for p in hvm.guest_processes(before, with_guest)] == [300, 301]
    reused = Memory(with_guest.meminfo, [Process(1, 900, "init", "/sbin/init"), Process(200, 800, "sh", "sh")])
    assert [p.pid for p in hvm.guest_processes(before, reused)] == [200]       # a pid reused by another program


def test_the_per_guest_target_is_forty_mib_over_dom0_before_the_guest(tmp_path):
    run = HvmRun(create_s=20.0, first=Screen(24.0, 640, 480, 2, poll=3), text=Screen(30.0, 720, 400, 5, poll=9),
                 polls=9, pss_before_kib=100 * 1024, pss_with_kib=130 * 1024,
                 new_processes=[Process(300, 25 * 1024, "qemu", "/usr/libexec/xen-qemu-system-i386 -xen-domid 3 -m"),
                                Process(310, 300, "sleep", "sleep 30")],
                 device_model_rss_kib=60 * 1024, device_model_pss_kib=25 * 1024, domid=3)
    alone = AloneRun(Screen(2.0, 720, 400, 3, 1.5, 4), Screen(2.0, 720, 400, 3, 1.5, 4), 4, tmp_path)
    rows = {row.key: row for row in hvm.figures(run, alone)}
    first, memory = rows["hvm_first_screen_s"], rows["hvm_dom0_userland_pss"]
    assert (first.floor, first.xenbox, first.ratio, first.met) == (2.0, 30.0, 15.0, None)      # no target: no verdict
    assert (memory.floor, memory.xenbox, memory.delta, memory.met) == (100.0, 130.0, 30.0, True)
    assert rows["hvm_new_processes_pss"].xenbox == 25.0 and rows["hvm_device_model_rss"].xenbox == 60.0
    heavier = HvmRun(20.0, None, None, 0, 100 * 1024, 141 * 1024)
    assert {row.key: row for row in hvm.figures(heavier, None)}["hvm_dom0_userland_pss"].met is False
    assert all(row.xenbox is None and row.met is None for row in hvm.figures(None, None))


def test_the_stick_holds_the_cd_and_the_scripts_at_its_top(tmp_path):
    if not hvm.RESCUE_ISO.is_file():
        pytest.fail(f"{hvm.RESCUE_ISO} is missing: install grub-rescue-pc (ci/host-packages.txt)")
    disk = storage.source_disk(tmp_path, hvm.stick_files(), bundle=False)
    listing = subprocess.run(["debugfs", "-R", "ls -l /", str(disk)], capture_output=True, text=True).stdout
    assert f" {hvm.RESCUE_ISO.stat().st_size} " in listing and hvm.PROBE.name in listing and " hvm.py" in listing
    assert "big" not in listing


def test_the_dom0_probe_imports_hvm_py_beside_it_without_running_it(tmp_path, monkeypatch):
    for source in (hvm.SCREEN_SCRIPT, hvm.PROBE):
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.setattr(sys, "argv", ["hvm.py", "show", "nothing"])       # what hvm.py's main() would act on
    spec = importlib.util.spec_from_file_location("hvm_first_screen", tmp_path / hvm.PROBE.name)
    probe = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "hvm_first_screen", probe)
    spec.loader.exec_module(probe)
    monkeypatch.delitem(sys.modules, "hvm", raising=False)
    assert probe.hvm.__file__ == str(tmp_path / "hvm.py")
    own = probe.smaps(os.getpid())          # this process's own smaps_rollup, as the probe reads the device model's
    assert own["rss_kib"] >= own["pss_kib"] > 0


def test_the_processes_serving_the_guest_out_of_dom0s_userland_before_and_with_it():
    """Captured in dom0 (bench/memory.py's command) before `xenbox appliance create` and with the guest running:
    its device model and xl's watcher appeared, and a `sleep 30` some dom0 loop was in, which is not the guest's."""
    before, with_guest = (parse(fixture(name).decode()) for name in ("dom0-pss-before.txt.gz", "dom0-pss-with.txt.gz"))
    new = hvm.guest_processes(before, with_guest)
    assert sorted(p.name for p in new) == ["sleep", "xen-qemu-system", "xl"]
    domid = hvm.last_json(fixture("dom0-create.txt.gz").decode())["domid"]
    assert sorted(p.name for p in hvm.serving(new, hvm.NAME, domid)) == ["xen-qemu-system", "xl"]
    assert hvm.serving(new, "other-guest", domid + 1) == []
    assert with_guest.userland_pss_kib > before.userland_pss_kib
