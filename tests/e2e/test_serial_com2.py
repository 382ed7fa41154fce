"""A server whose remote console is on COM2: QEMU's first serial port is connected to nothing, the test's
line is the second. GRUB's menu shows there too, key 2 chooses the COM2 entry, and Xen, dom0's hvc0 and the
console follow it: the overview is read over COM2 and a shell command run there (one boot to the console). In the slow
suite, a 1 KiB paste at 115200 baud over COM2 (one more boot).
Then a box that keeps COM2 at 57600 on its data store: the menu's default entry follows it with no key
pressed (a second boot, under UEFI, only until Xen has started)."""
import hashlib

import pytest

from kept_serial import data_store_disk
from machine import OVERVIEW, Shell, booted, leave_first_boot_for_later, wait_for_console

LIMIT = 300     # GRUB's menu, then Xen's banner: seconds when idle


def test_the_console_comes_up_on_com2_when_the_menu_is_told_so(iso):
    with booted(iso, "com2", serial_on_com2=True) as console:
        # The menu's countdown (3 s) starts once it is drawn: key 2 goes as soon as the entry shows.
        console.wait_for_output(rb"\(console on COM2\)", LIMIT)
        console.press("2")
        console.wait_for_output(rb"Command line: [^\r\n]*console=com2,vga com2=115200,8n1", LIMIT)
        wait_for_console(console)
        leave_first_boot_for_later(console)
        console.wait_for_screen(OVERVIEW, 60)
        with Shell(console) as shell:
            said = shell.run("xenbox host serial")
            assert shell.status == 0, said
            # a line, not the first: the boot's own messages (appliance started) may land in the shell's output
            assert "this boot    COM2 at 115200 baud" in said.splitlines(), said


@pytest.mark.slow
def test_a_1kib_paste_at_115200_baud_reaches_dom0_intact(iso):
    """Slow suite, on an otherwise idle host: it passed twice here, and failed in a clean `make test` run
    (Dec 2026) with another emulated machine beside it, 22 bytes lost at about byte 128 of the paste. That is
    Xen's serial input ring for dom0 (128 bytes, fixed at Xen's build) filling while dom0's vCPU, emulated on
    a host with no core to spare, did not run for the 11 ms it takes to fill. Not XenBox's to fix (docs/design.md,
    on pasted lines); real hardware gives dom0 its time."""
    with booted(iso, "com2-paste", serial_on_com2=True) as console:
        console.wait_for_output(rb"\(console on COM2\)", LIMIT)
        console.press("2")
        wait_for_console(console)
        leave_first_boot_for_later(console)
        console.wait_for_screen(OVERVIEW, 60)
        with Shell(console) as shell:
            pasted = paste_into_a_file(console, shell, "/tmp/pasted")
        assert pasted == PASTE_DIGEST, "a 1 KiB paste at 115200 baud did not reach dom0 intact"


# 1 KiB as an operator pastes it over Serial-over-LAN: 16 lines of 63 characters and a newline, each line
# different, so that a lost run shows as a wrong digest and in the file.
PASTE = b"".join(f"{n:02d} {hashlib.sha256(bytes([n])).hexdigest()[:60]}\n".encode() for n in range(16))
PASTE_DIGEST = hashlib.sha256(PASTE).hexdigest()


def paste_into_a_file(console, shell, path: str) -> str:
    """Paste PASTE into `cat > path` at 115200 baud, end it with Ctrl-D; the sha256 dom0 has of the file."""
    assert len(PASTE) == 1024
    console.type_line(f"cat > {path}")
    console.settle(1)
    console.paste(PASTE.replace(b"\n", b"\r"))     # a terminal's paste ends its lines as Enter does
    console.settle(2)
    console.press("\x04")
    said = shell.run(f"sha256sum < {path}; wc -c < {path}")
    assert shell.status == 0, said
    return said.split()[0]


def test_the_port_kept_on_the_data_store_is_the_menus_default(iso, tmp_path):
    disk = data_store_disk(tmp_path, "com2,57600")
    with booted(iso, "com2-kept", serial_on_com2=True, disks=[disk], uefi=True) as console:
        console.wait_for_output(rb"\(console on COM2\)", LIMIT)
        # to the line's end: at 57600 baud under load the line came in pieces, and its first one matched alone
        said = console.wait_for_output(rb"Command line: ([^\r\n]*)[\r\n]", LIMIT).group(1).decode()
        assert "console=com2,vga com2=57600,8n1" in said, said
