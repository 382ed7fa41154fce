"""The kernel's messages printed on the consoles: which records were printed, read from the real /dev/kmsg."""
import os

import pytest

from hypervisor.host.kernel_messages import BOARD_LOGLEVEL, PrintedMessages, console_loglevel, printed_text


def test_errors_and_worse_are_printed_at_loglevel_4_and_the_rest_is_not():
    record = b"3,1234,5678901,-;EXT4-fs error (device vda): ext4_find_entry: reading directory\n SUBSYSTEM=block\n"
    assert printed_text(record, 4) == "EXT4-fs error (device vda): ext4_find_entry: reading directory"
    assert printed_text(b"6,1235,5678902,-;xenbr0: port 2(vif1.0) entered forwarding state\n", 4) is None
    assert printed_text(b"4,1236,5678903,-;a warning\n", 4) is None
    assert printed_text(b"4,1236,5678903,-;a warning\n", 7) == "a warning"
    # Written from user space (the facility is LOG_USER's: 1 * 8 + level).
    assert printed_text(b"11,1237,5678904,-;an error from a program\n", 4) == "an error from a program"
    assert printed_text(b"garbage", 4) is None


def test_the_console_loglevel_is_printks_first_field(tmp_path):
    printk = tmp_path / "printk"
    printk.write_text("7\t4\t1\t7\n")
    assert console_loglevel(printk) == 7
    assert console_loglevel(tmp_path / "missing") == BOARD_LOGLEVEL


def test_without_dev_kmsg_nothing_is_watched(tmp_path):
    watcher = PrintedMessages(kmsg=str(tmp_path / "no-kmsg"))
    assert watcher.since_last_look() == []
    watcher.close()


@pytest.mark.skipif(not os.access("/dev/kmsg", os.W_OK), reason="needs root to write to the kernel's log")
def test_a_new_error_in_the_real_kernel_log_is_seen_once_and_an_info_message_not_at_all(tmp_path):
    printk = tmp_path / "printk"
    printk.write_text("4 4 1 7\n")     # dom0's loglevel=4, whatever this machine's console level is
    watcher = PrintedMessages(printk=printk)
    before = watcher.since_last_look()
    assert "xenbox unit test: an error" not in before        # only what comes after the watch began
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write("<3>xenbox unit test: an error\n")
        kmsg.flush()
        kmsg.write("<6>xenbox unit test: information\n")
    seen = watcher.since_last_look()
    assert "xenbox unit test: an error" in seen
    assert "xenbox unit test: information" not in seen
    assert "xenbox unit test: an error" not in watcher.since_last_look()
    watcher.close()
