"""Configuration writes: the new version whole, the previous one kept beside it, nothing half-written."""
import os

import pytest

from hypervisor.settings.atomic import write_atomically


def test_first_write_then_the_previous_version_is_kept(tmp_path):
    target = tmp_path / "config" / "host.toml"
    write_atomically(target, "hostname = \"a\"\n")
    assert target.read_text() == "hostname = \"a\"\n" and not (tmp_path / "config" / "host.toml.prev").exists()
    write_atomically(target, "hostname = \"b\"\n")
    assert target.read_text() == "hostname = \"b\"\n"
    assert (tmp_path / "config" / "host.toml.prev").read_text() == "hostname = \"a\"\n"
    assert sorted(os.listdir(tmp_path / "config")) == ["host.toml", "host.toml.prev"]    # no temporary left


def test_a_failed_write_leaves_the_current_version_whole(tmp_path, monkeypatch):
    target = tmp_path / "host.toml"
    write_atomically(target, "old\n")

    def power_cut(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError):
        write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
