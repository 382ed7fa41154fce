"""Configuration writes: the new version whole, the previous one kept beside it, nothing half-written."""
import os
import threading
import time

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


# -- who may read a file written here, at each moment -------------------------------------------------
# A file written here may hold a secret (an answer file, console.toml, iscsi.toml): it is root's alone
# (600) from the moment it exists, before a byte is in it, whatever the umask, until it is renamed into
# place, and the version kept beside it as .prev too.

@pytest.fixture
def open_umask():
    """The widest umask there is: nothing the process sets keeps a file private but the code itself."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_file_is_600_from_its_first_byte_to_its_place(tmp_path, monkeypatch, open_umask):
    target = tmp_path / "config" / "iscsi.toml"
    seen = []
    real_fdopen, real_fsync = os.fdopen, os.fsync

    def fdopen(fd, *args, **kwargs):        # just made, nothing written yet
        seen.append(("made", os.fstat(fd).st_size, os.fstat(fd).st_mode & 0o777))
        return real_fdopen(fd, *args, **kwargs)

    def fsync(fd):                           # every byte written, not yet in place
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            seen.append(("written", os.fstat(fd).st_size, os.fstat(fd).st_mode & 0o777))
        real_fsync(fd)
    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(os, "fsync", fsync)
    text = 'chap_password = "s3cret"\n'
    write_atomically(target, text)
    assert seen == [("made", 0, 0o600), ("written", len(text), 0o600)]
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_version_written_public_before_is_kept_private(tmp_path, open_umask):
    target = tmp_path / "console.toml"
    target.write_text('password_hash = "old"\n')
    target.chmod(0o644)
    write_atomically(target, 'password_hash = "new"\n')
    assert target.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "console.toml.prev").stat().st_mode & 0o777 == 0o600


def test_two_writers_at_once_never_fail_and_leave_one_whole_version(tmp_path):
    target = tmp_path / "config" / "pools.toml"
    texts = [f"# writer {writer}\n" + "x = 1\n" * (500 + writer) for writer in range(2)]
    failures = []

    def writer(text: str) -> None:
        for _ in range(300):
            try:
                write_atomically(target, text)
            except Exception as error:      # a shared temporary name: renamed away by the other writer
                failures.append(error)
    threads = [threading.Thread(target=writer, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert target.read_text() in texts and (tmp_path / "config" / "pools.toml.prev").read_text() in texts
    assert sorted(os.listdir(tmp_path / "config")) == ["pools.toml", "pools.toml.prev"]


def test_a_temporary_file_left_by_a_power_cut_is_removed_once_old(tmp_path):
    target = tmp_path / "host.toml"
    old, fresh = tmp_path / ".host.toml.k2j4h1lm.new", tmp_path / ".host.toml.a8d7f6s5.new"
    old.write_text("half")
    fresh.write_text("another writer's, at work now")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    write_atomically(target, "whole\n")
    assert not old.exists() and fresh.exists()
