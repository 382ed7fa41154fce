"""Guests that fail to start, or stop by themselves soon after, show why on the Appliances screen and in
`xenbox appliance list`: Xen's error, not just "stopped". One boot; each failure injected for real:

- an HVM guest whose CD-ROM image is the first 30 000 bytes of a real ISO (the boot medium): a truncated
  download, refused before Xen is asked (QEMU would open it and the guest would sit at "no bootable device");
- an HVM guest whose firmware file is missing (SeaBIOS's bios-256k.bin moved away for the test, as OVMF.fd is missing
  for a UEFI guest): libxl's error and what to do;
- a PV guest, Debian's kernel from the image with no root filesystem: it panics at boot and Xen destroys it;
  its console's last lines and the panic are shown.

A device model that starts and then fails (QEMU cannot open a drive) and a host without hardware-assisted
paging are covered by unit tests on the outputs captured from XenBox (tests/fixtures/xen/failures): the first
cannot happen past the start's own checks, the second needs a second boot on another CPU.
"""
import re

import pytest

from machine import OVERVIEW, Shell, booted, leave_first_boot_for_later, wait_for_console

BUNDLES = "/var/lib/xenbox/appliances"      # in RAM here: the host has no data store
UP, DOWN = "\x1b[A", "\x1b[B"
SEABIOS = "/usr/share/seabios/bios-256k.bin"     # the one libxl loads (found in libxenlight)
GUEST_PANIC = 600       # the bzImage unpacked by Xen's domain builder, then the kernel's boot, under TCG


@pytest.fixture(scope="module")
def console(iso):
    with booted(iso, "guest-failures") as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            make_bundles(shell)
        yield console


def bundle(shell, name: str, lines: list[str]) -> None:
    """An appliance.toml written a few short lines at a time (long lines typed over serial lose characters)."""
    shell.run(f"mkdir -p {BUNDLES}/{name} && : > {BUNDLES}/{name}/appliance.toml")
    for start in range(0, len(lines), 3):
        quoted = " ".join(f"'{line}'" for line in lines[start:start + 3])
        shell.run(f"printf '%s\\n' {quoted} >> {BUNDLES}/{name}/appliance.toml")
        assert shell.status == 0


def make_bundles(shell) -> None:
    hvm = ['type = "hvm"', "[memory]", "initial_mib = 64"]
    bundle(shell, "bad-iso", ['name = "bad-iso"', *hvm, "[[disks]]", 'file = "install.iso"', "cdrom = true"])
    shell.run(f"head -c 30000 /dev/sr0 > {BUNDLES}/bad-iso/install.iso")
    assert shell.status == 0
    bundle(shell, "no-firmware", ['name = "no-firmware"', *hvm])
    bundle(shell, "pv-panic", ['name = "pv-panic"', 'type = "pv"', "[memory]", "initial_mib = 96",
                               "[boot]", 'kernel = "vmlinuz"', 'cmdline = "console=hvc0"'])
    shell.run(f"cp /run/xenbox/medium/boot/vmlinuz {BUNDLES}/pv-panic/", 300)
    assert shell.status == 0
    said = shell.run("xenbox appliance list")
    assert all(name in said for name in ("bad-iso", "no-firmware", "pv-panic")), said
    # A chatty guest's console log, as big as 600 KiB: rc.services cuts it within 30 s (checked at the end).
    shell.run("head -c 614400 /dev/zero | tr '\\0' x > /var/log/xen/console/guest-chatty.log")


def open_appliances(console) -> None:
    console.press("a")
    console.wait_for_screen(r"o Restore", 90)      # the Appliances screen's footer
    console.wait_for_screen(r"pv-panic", 90)


def select(console, row: int) -> None:
    """The table's `row` (0: bad-iso, 1: no-firmware, 2: pv-panic): up to the top, then down. The screen
    opened again is on the appliance left selected."""
    for _ in range(4):
        console.press_sequence(UP)
    for _ in range(row):
        console.press_sequence(DOWN)


def back_to_overview(console) -> None:
    """Esc, and the overview seen before the next key: an Esc followed at once by `s` reads as Alt-s."""
    console.press("\x1b")
    console.wait_for_screen(OVERVIEW, 120)


def why(console, name: str, *words: str, timeout: float = 120) -> str:
    """Until the panel under the table says why `name` is stopped, with each of `words` in that order.
    Single words: the panel wraps its lines at 80 columns."""
    pattern = rf"(?s)Why {name} is stopped" + "".join(rf".*{re.escape(word)}" for word in words)
    return console.wait_for_screen(pattern, timeout).group(0)


def test_a_truncated_cd_image_is_refused_with_what_to_do(console):
    open_appliances(console)
    select(console, 0)
    console.press("u")
    why(console, "bad-iso", "start", "failed", "install.iso", "9660", "truncated")


def test_a_missing_firmware_is_shown_in_libxls_words(console):
    back_to_overview(console)
    with Shell(console) as shell:
        shell.run(f"mv {SEABIOS} /tmp/")
        assert shell.status == 0
    try:
        open_appliances(console)
        select(console, 1)
        console.press("u")
        why(console, "no-firmware", "failed", "read", "BIOS", "file", "firmware")
    finally:
        back_to_overview(console)
        with Shell(console) as shell:
            shell.run(f"mv /tmp/bios-256k.bin {SEABIOS}")


def test_a_pv_guest_that_panics_at_boot_shows_its_panic_and_last_console_lines(console):
    open_appliances(console)
    select(console, 2)
    console.press("u")
    shown = why(console, "pv-panic", "crashed", "panicked", "VFS:", "Unable", "mount", "root", "partitions:",
                timeout=GUEST_PANIC)
    assert "Traceback" not in shown


def test_the_cli_lists_the_same_reasons_and_console_logs_stay_small_and_roots(console):
    back_to_overview(console)
    with Shell(console) as shell:
        said = shell.run("xenbox appliance list")
        assert "is not a CD or DVD image" in said, said
        assert "failed to read BIOS file: No such file or directory" in said, said
        assert "its kernel panicked: VFS: Unable to mount root fs on unknown-block(0,0)" in said, said
        assert shell.run("stat -c %a /var/log/xen /var/log/xen/console").split() == ["700", "700"]
        shell.run("sleep 35")
        kept = shell.run("ls /var/log/xen/console")
        assert "guest-chatty.log.old" in kept.split(), kept
        assert "guest-pv-panic.log" in kept.split(), kept
