"""UEFI (OVMF) boot from the image attached as a USB stick, and a CPU without VT-x/AMD-V."""
from machine import BOOT_TIMEOUT, OVERVIEW, booted


def test_uefi_usb_stick_boot_reaches_the_overview(iso):
    with booted(iso, "uefi-usb", uefi=True, usb_stick=True) as console:
        console.wait_for_screen(OVERVIEW, BOOT_TIMEOUT)
        assert "HVM: available (AMD-V)" in console.display()


def test_cpu_without_hvm_says_so(iso):
    with booted(iso, "pv-only", cpu="Haswell-noTSX") as console:
        console.wait_for_screen(OVERVIEW, BOOT_TIMEOUT)
        assert "HVM: unavailable — this CPU has no VT-x/AMD-V" in console.display()
