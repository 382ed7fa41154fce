"""bench/storage.py's figures, its source disk (a real ext4 image made by mkfs.ext4 -d)."""
import subprocess

import pytest

from bench import storage
from bench.shell import ProbeError, seconds
from bench.storage import StorageRun, figures


def test_the_import_target_is_seventy_percent_of_dds_speed(tmp_path):
    init, imported = figures(StorageRun(mkfs_s=2.0, init_s=6.0, dd_s=14.0, add_s=19.0, log=tmp_path))
    assert (init.floor, init.xenbox, init.met) == (2.0, 6.0, True)
    assert imported.limit == 20.0 and imported.met                  # 14 s / 0.7
    slow = figures(StorageRun(2.0, 12.0, 14.0, 21.0, tmp_path))
    assert [figure.met for figure in slow] == [False, False]


def test_nothing_measured_is_no_verdict():
    assert [figure.met for figure in figures(None)] == [None, None]


def test_the_source_disk_holds_the_bundle_with_its_image_written_out(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "IMAGE_MIB", 4)
    disk = storage.source_disk(tmp_path)
    listing = subprocess.run(["debugfs", "-R", "ls -l /big", str(disk)], capture_output=True, text=True).stdout
    assert "appliance.toml" in listing and " 4194304 " in listing
    assert not (tmp_path / "tree" / "big" / "disk.img").exists()      # the host copy is not kept


def test_a_timed_command_is_read_from_its_line_and_a_failed_one_fails_loudly():
    # what dom0's shell printed: the typed line's echo (its $t0 is no number) and then the answer
    output = ("t0=$(cut -d' ' -f1 /proc/uptime); xenbox storage init vda; rc=$?; t1=$(cut -d' ' -f1 /proc/upt\r\n"
              "ime); echo BENCH-TIMED init $t0 $t1 $rc\r\ndata store ready on /dev/vda\r\n"
              "BENCH-TIMED init 101.52 107.94 0\r\n")
    assert round(seconds(output, "init"), 2) == 6.42
    with pytest.raises(ProbeError, match=r"`mkfs.ext4 -q` failed \(exit 1\)"):
        seconds("BENCH-TIMED mkfs 10.00 10.50 1\n", "mkfs", "mkfs.ext4 -q")
    with pytest.raises(ProbeError, match="init: no timing line"):
        seconds("BENCH-TIMED mkfs 10.00 10.50 0\n", "init")
