"""Why an appliance is not running, from what XenBox's dom0 really printed (tests/fixtures/xen/failures,
captured by booting the image and giving xl each failure: commands.txt says how)."""
import os
import time
from pathlib import Path

import pytest

from hypervisor.appliances import why_stopped
from hypervisor.appliances.why_stopped import (Run, console_tail, dm_lines, hint_for, panic_of, read_run, record,
                                               start_failure, why_not_running)

FAILURES = Path(__file__).parent.parent / "fixtures" / "xen" / "failures"


def fixture(name: str) -> str:
    return (FAILURES / name).read_text()


def test_a_missing_firmware_file_is_said_with_libxls_words_and_what_to_do():
    said = start_failure("win", fixture("xl-create-bios-file-missing.txt"), [], "xl create failed")
    first, hint = said.splitlines()
    assert first == ("Xen could not start win: failed to read BIOS file: No such file or directory; "
                     "initializing domain firmware failed")
    assert "/usr/share/ovmf/OVMF.fd" in hint and "choose the other firmware" in hint
    assert "Traceback" not in said and "libxl_dom.c" not in said


@pytest.mark.parametrize("log, path, why", [
    ("qemu-dm-not-a-regular-file.log", "/tmp/c/isodir", "'file' driver requires '/tmp/c/isodir' to be a regular file"),
    ("qemu-dm-could-not-open.log", "/dev/mapper/bad", "Could not open '/dev/mapper/bad': No such file or directory"),
])
def test_a_device_model_that_did_not_start_is_shown_with_its_logs_last_lines(log, path, why):
    qemu = dm_lines(fixture(log))
    said = start_failure("installer", fixture("xl-create-dm-spawn-failed.txt"), qemu, "xl create failed")
    lines = said.splitlines()
    assert lines[0].startswith("Xen could not start installer: domain 3 device model: spawn failed (rc=-3)")
    assert lines[1] == f"Its device model could not use {path}: {why}. Put a readable image there, or eject it."
    assert lines[2].endswith("qemu-dm-installer.log) ends:")
    assert lines[3] == "  " + fixture(log).strip()


def test_qemus_own_words_on_being_stopped_are_left_out():
    text = fixture("qemu-dm-started.log") + "xen-qemu-system-i386: terminating on signal 15 from pid 1234 (xl)\n"
    assert dm_lines(text) == ["char device redirected to /dev/pts/2 (label serial0)"]


def test_a_device_model_that_started_says_nothing_of_a_drive():
    assert hint_for("", dm_lines(fixture("qemu-dm-started.log"))) is None
    assert dm_lines(fixture("qemu-dm-started.log")) == ["char device redirected to /dev/pts/2 (label serial0)"]


def test_only_the_qemu_dm_log_this_start_wrote_is_read(tmp_path):
    logs = tmp_path / "xen"
    logs.mkdir()
    log = logs / "qemu-dm-installer.log"
    log.write_text(fixture("qemu-dm-could-not-open.log"))
    began = time.time()
    os.utime(log, (began - 60, began - 60))          # a previous run's
    assert why_stopped.qemu_dm_tail("installer", began, logs) == []
    os.utime(log, (began + 1, began + 1))
    assert why_stopped.qemu_dm_tail("installer", began, logs)[0].startswith("xen-qemu-system-i386: -drive")
    assert why_stopped.qemu_dm_tail("other", began, logs) == []


def test_a_start_record_is_read_back_and_a_damaged_one_is_none(tmp_path):
    record("web", Run(1000.0, refused="Xen could not start web: no"), tmp_path)
    assert read_run("web", tmp_path) == Run(1000.0, "Xen could not start web: no")
    (tmp_path / "db.json").write_text("{not json")
    assert read_run("db", tmp_path) is None and read_run("never", tmp_path) is None


def test_a_refused_start_is_what_is_shown(tmp_path):
    record("win", Run(time.time(), refused="Xen could not start win: failed to read BIOS file"), tmp_path)
    said = why_not_running("win", tmp_path, tmp_path / "console")
    assert said.startswith("The start at ") and "failed. Xen could not start win: failed to read BIOS file" in said


def test_an_appliance_not_started_this_boot_has_nothing_to_say(tmp_path):
    assert why_not_running("web", tmp_path, tmp_path / "console") is None


def test_a_guest_that_stopped_with_nothing_on_its_console_says_so(tmp_path):
    record("quiet", Run(time.time()), tmp_path)
    said = why_not_running("quiet", tmp_path, tmp_path / "console")
    assert "quiet stopped after it started at" in said and said.endswith("Its console printed nothing.")


def test_the_previous_runs_console_log_is_kept_aside_at_a_start(tmp_path):
    (tmp_path / "guest-web.log").write_text("the run before\n")
    why_stopped.begin_console_log("web", tmp_path)
    assert not (tmp_path / "guest-web.log").exists()
    assert (tmp_path / "guest-web.log.old").read_text() == "the run before\n"
    why_stopped.begin_console_log("web", tmp_path)            # none yet: nothing to do
    assert (tmp_path / "guest-web.log.old").read_text() == "the run before\n"


def test_console_lines_lose_escapes_timestamps_blanks_and_secrets():
    text = ("\x1b[1;31m[    1.234567] Run /init as init process\x1b[0m\r\n\r\n"
            "installer: root password=hunter2 set\n" + "x" * 100 + "\n")
    assert console_tail(text) == ["Run /init as init process", "installer: root password=*** set",
                                  "x" * 73 + "..."]


def test_a_panic_is_found_in_its_kernels_words():
    text = ("[    2.5] VFS: Cannot open root device \"(null)\" or unknown-block(0,0): error -6\n"
            "[    2.6] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
            "[    2.7] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---\n")
    assert panic_of(text) == "VFS: Unable to mount root fs on unknown-block(0,0)"
    assert panic_of("reboot: Power down\n") is None


def test_a_pv_guest_that_panicked_at_boot_is_shown_with_the_lines_before_its_panic_not_its_stack(tmp_path):
    """Debian's kernel with no ramdisk and no root= (captured: guest-pv-no-root.log); Xen destroyed it."""
    logs = tmp_path / "console"
    logs.mkdir()
    log = logs / "guest-installer.log"
    log.write_text(fixture("guest-pv-no-root.log"))
    began = time.time() - 30
    record("installer", Run(began), tmp_path)
    said = why_not_running("installer", tmp_path, logs).splitlines()
    assert said[0].startswith("installer crashed after it started at ")
    assert said[0].endswith("its kernel panicked: VFS: Unable to mount root fs on unknown-block(0,0) "
                            "(console's last output 30 s after the start). Its console's last lines:")
    assert said[1:] == ["  evm: security.capability", "  evm: HMAC attrs: 0x1", "  clk: Disabling unused clocks",
                        "  List of all partitions:", "  No filesystem could mount root, tried:",
                        "  Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block..."]


def test_a_pv_guest_given_too_little_memory_is_told_the_domain_builders_words_not_libxls_echo():
    said = start_failure("installer", fixture("xl-create-pv-too-little-memory.txt"), [], "xl create failed")
    assert said.splitlines() == [
        "Xen could not start installer: segment kernel too large (0x3a00 > 0x1800 - 0x1000 pages): Out of memory",
        "Its kernel and ramdisk do not fit in its memory: raise memory.initial_mib in its appliance.toml."]


def test_a_host_without_hardware_assisted_paging_is_said_so_with_what_to_do():
    """Captured on a XenBox booted with -cpu qemu64 (SVM, no NPT): Debian's Xen has no shadow paging either."""
    said = start_failure("win", fixture("xl-create-no-hap.txt"), [], "xl create failed").splitlines()
    assert said[0] == ("Xen could not start win: neither hap nor shadow paging available; "
                       "Unable to set domain create info defaults")
    assert said[1].startswith("This host's CPU gives Xen no hardware-assisted paging (EPT/NPT)")
