"""UEFI (OVMF) boot from the image attached as a USB stick; a CPU without VT-x/AMD-V under SeaBIOS, then
power-off. Each also reads the console on tty1, the screen, from QEMU's screendump (tests/e2e/screen_text.py):
UEFI's GOP framebuffer in one, VGA text mode in the other."""
import re

from conftest import REPO
from machine import Shell, booted, leave_first_boot_for_later, wait_for_console
from screen_text import wait_for_tty1

FONTS = REPO / "images" / "cache"       # where the Terminus console font's package is kept once fetched


def test_uefi_usb_stick_boot_reaches_the_overview(iso, tmp_path):
    monitor = tmp_path / "monitor.sock"
    with booted(iso, "uefi-usb", uefi=True, usb_stick=True, monitor=monitor) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        # Boot messages still come on the serial line: the console draws itself again after them.
        console.wait_for_screen(r"(?s)HVM: available \(AMD-V\).*Domains", 60)
        # tty1's console is one of its own: it shows the host's HVM line on the overview or, as no one answered
        # the first-boot steps there, on their first step
        screen = wait_for_tty1(monitor, tmp_path / "tty1.ppm", r"^ +HVM: available \(AMD-V\)", FONTS)
        print("tty1 under OVMF (its GOP framebuffer):\n" + "\n".join(screen))


def test_cpu_without_hvm_says_so(iso, tmp_path):
    monitor = tmp_path / "monitor.sock"
    with booted(iso, "pv-only", cpu="Haswell-noTSX", monitor=monitor) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        console.wait_for_screen(r"(?s)HVM: unavailable — this CPU has no VT-x/AMD-V.*Domains", 60)
        # the dash is no ASCII glyph: read as '?'
        screen = wait_for_tty1(monitor, tmp_path / "tty1.ppm", r"^ +HVM: unavailable \? this CPU has no VT-x/AMD-V",
                               FONTS)
        print("tty1 under SeaBIOS (VGA text mode):\n" + "\n".join(screen))
        # PV guests need no VT-x/AMD-V: the sample appliance (PV) starts here too. Wait until it
        # is up (its own start-up done), so power-off meets a guest that can answer a clean shutdown.
        console.wait_for_output(rb"xenbox: appliance sample-web started", 400)
        with Shell(console) as shell:
            shell.run("until grep -q 'serving http' /var/log/xen/console/guest-sample-web.log; do sleep 2; done", 400)
            # An Intel CPU: Xen's Intel loader looks through the image's microcode (boot/ucode.cpio, ucode=scan).
            # QEMU cannot be updated, so the line shows the revision the CPU has and why it stayed.
            info = shell.run("xenbox host info", 120)
            assert shell.status == 0, info
            assert re.search(r"(?m)^microcode    (0x[0-9a-f]+|revision unknown)", info), info
            ucode = shell.run("xl dmesg | grep -i -E 'microcode|ucode' ; grep -m1 microcode /proc/cpuinfo", 60)
            print(f"Xen and dom0 on microcode (Haswell-noTSX under TCG):\n{ucode}")
        power_off_from_the_console(console)


def power_off_from_the_console(console):
    console.press("P")
    console.wait_for_screen(r"Power off this host\?", 30)
    since = len(console.transcript)
    console.press("y")
    console.wait_for_output(rb"xenbox: shutting down guests", 120, since=since)
    console.wait_for_output(rb"xenbox: shutting down sample-web", 60, since=since)
    console.wait_for_output(rb"xenbox: all guests stopped", 120, since=since)
    assert b"destroying it" not in console.transcript[since:], "the guest should shut down cleanly, not be destroyed"
    assert console.wait_for_exit(180) == 0, "QEMU should exit by itself: Xen powered the machine off"
