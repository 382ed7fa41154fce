"""bench/storage.py's figures and its source disk (a real ext4 image made by mkfs.ext4 -d)."""
import subprocess

from bench import storage
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
