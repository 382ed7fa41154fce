"""A boot medium that cannot be found: the initramfs says which and why, then opens a rescue shell.

The disc here carries XenBox's own Xen, kernel, initramfs and GRUB menu, but under another label
and without the root filesystem: what the initramfs sees when the XenBox stick is gone or was
written from another build. Only the serial console is read; the same lines go to the screen
(tty1), which this test cannot see.
"""
import re
from pathlib import Path

import pytest

from bench.iso import MENU, boot_tree, make_disc
from machine import booted

WAIT_S = 5      # xenbox.rootwait: how long the initramfs looks before it gives up
LIMIT = 300     # Xen and dom0 up, the wait, the rescue shell: about a minute when idle


@pytest.fixture(scope="module")
def medium_less_iso(iso, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("medium-less")
    menu = boot_tree(iso, tree)[MENU]
    menu.write_text(re.sub(r"(module2 /boot/vmlinuz .*)", rf"\1 xenbox.rootwait={WAIT_S}", menu.read_text()))
    return make_disc(tree, tree.parent / "medium-less.iso", "NOT_XENBOX")


def test_a_missing_medium_is_named_and_a_rescue_shell_answers(medium_less_iso):
    with booted(medium_less_iso, "rescue") as console:
        console.wait_for_output(rb"waiting for the boot medium labelled XENBOX_BOOT", LIMIT)
        said = console.wait_for_output(
            rb"xenbox: the boot medium labelled XENBOX_BOOT \(build [\w-]+\) was not found after "
            + str(WAIT_S).encode() + rb" s\.\r*\n(.*?)\r*\n", LIMIT)
        assert b"Check that the XenBox CD or USB stick is attached; disks seen:" in said.group(1)
        console.wait_for_output(rb"Starting a rescue shell", 60)
        since = len(console.transcript)
        console.type_line("echo rescue-$((6 * 7))")
        console.wait_for_output(rb"rescue-42", 60, since=since)
