"""The boot's first-boot marker: written only when the host has no settings kept, no answer file and no data
store, removed otherwise. The real set_up_host and answer-file lookup; what cannot run here is replaced:
the kept settings (on a data store) by their answer, blkid's volume scan by none, /proc/mounts by a file."""
from pathlib import Path

import pytest

from hypervisor import boot
from hypervisor.answer import first_boot
from hypervisor.storage.datastore import DataStore


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "run" / "first-boot"
    monkeypatch.setattr(first_boot, "MARKER", path)
    monkeypatch.setattr("hypervisor.answer.fetch.labelled_volumes", lambda: [])
    monkeypatch.setattr("hypervisor.answer.fetch.boot_medium", lambda device: [])
    monkeypatch.setattr("hypervisor.answer.apply.reapply_settings", lambda say, refused: False)
    return path


def store(tmp_path: Path, mounted: bool) -> DataStore:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/xenbox/data /var/lib/xenbox ext4 rw 0 0\n" if mounted else "proc /proc proc rw 0 0\n")
    return DataStore(mounts=mounts)


def test_no_settings_no_answer_file_no_data_store_leaves_the_marker(marker, tmp_path):
    said = []
    boot.set_up_host(said.append, "quiet", store(tmp_path, mounted=False))
    assert marker.exists() and first_boot.pending()
    assert said == ["no settings kept and no answer file: the console opens the first-boot screens"]


def test_settings_kept_on_the_data_store_remove_a_marker_left_over(marker, tmp_path, monkeypatch):
    first_boot.mark()
    monkeypatch.setattr("hypervisor.answer.apply.reapply_settings", lambda say, refused: True)
    boot.set_up_host(lambda line: None, "quiet", store(tmp_path, mounted=True))
    assert not marker.exists()


def test_a_data_store_made_by_hand_is_a_host_set_up(marker, tmp_path):
    boot.set_up_host(lambda line: None, "quiet", store(tmp_path, mounted=True))
    assert not marker.exists()


def test_an_answer_file_found_leaves_no_marker_even_when_refused(marker, tmp_path):
    answer = tmp_path / "answer.toml"
    answer.write_text("[network]\nipv4 = \"sometimes\"\n")
    said = []
    boot.set_up_host(said.append, f"xenbox.answer={answer}", store(tmp_path, mounted=False))
    assert not marker.exists()
    assert said[1].startswith("answer file: REFUSED, nothing was changed")


def test_an_answer_file_named_but_unreadable_leaves_no_marker(marker, tmp_path):
    """Named on the command line, it was meant to set the host up: the boot says why it did not."""
    said = []
    boot.set_up_host(said.append, f"xenbox.answer={tmp_path}/nope.toml", store(tmp_path, mounted=False))
    assert not marker.exists()
    assert "cannot be read" in said[0]
