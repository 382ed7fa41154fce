"""Drivers that failed to load firmware, read from real kernel log lines (tests/fixtures/kernel/README.md)."""
import os
from pathlib import Path

from hypervisor.host.missing_firmware import (MissingFirmware, interfaces_by_device, missing_firmware,
                                              on_interfaces)

LOG = (Path(__file__).parent.parent / "fixtures" / "kernel" / "missing-firmware.log").read_text()


def test_each_device_and_file_is_named_once_in_the_order_logged():
    found = missing_firmware(LOG)
    assert found == [
        MissingFirmware("bnx2x", "0000:02:00.1", "bnx2x/bnx2x-e2-7.13.21.0.fw", -2),
        MissingFirmware("bnx2x", "0000:02:00.1", "bnx2x/bnx2x-e2-7.13.15.0.fw", -2),
        MissingFirmware("r8169", "0000:06:00.0", "rtl_nic/rtl8168e-3.fw", -2),
    ]


def test_lines_that_only_mention_firmware_are_not_failures():
    assert missing_firmware("\n".join(LOG.splitlines()[5:])) == []


def test_the_line_names_the_interface_driver_and_file():
    found = on_interfaces(missing_firmware(LOG), {"0000:06:00.0": "eth1"})
    assert found[2].line == "eth1 (r8169): firmware rtl_nic/rtl8168e-3.fw missing"
    assert found[0].line == "0000:02:00.1 (bnx2x): firmware bnx2x/bnx2x-e2-7.13.21.0.fw missing"


def test_a_file_there_but_refused_is_not_called_missing():
    line = "bnx2 0000:01:00.0: Direct firmware load for bnx2/bnx2-mips-09-6.2.1b.fw failed with error -22"
    assert missing_firmware(line)[0].line == "0000:01:00.0 (bnx2): firmware bnx2/bnx2-mips-09-6.2.1b.fw failed to load (error -22)"


def test_dev_kmsg_records_are_read_too():
    # /dev/kmsg's "PRI,SEQ,USEC,FLAGS;TEXT" (Documentation/ABI/testing/dev-kmsg), TEXT the bug report's line
    record = "4,812,2301871,-;bnx2x 0000:02:00.1: Direct firmware load for bnx2x/bnx2x-e2-7.13.21.0.fw failed with error -2"
    assert missing_firmware(record)[0].device == "0000:02:00.1"


def test_interfaces_are_found_from_sysfs_device_links(tmp_path):
    (tmp_path / "eth1").mkdir()
    os.symlink("../../../0000:06:00.0", tmp_path / "eth1" / "device")
    (tmp_path / "lo").mkdir()                                   # no device: not a NIC
    assert interfaces_by_device(tmp_path) == {"0000:06:00.0": "eth1"}
