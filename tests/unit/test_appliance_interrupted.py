"""An add or replace cut short at any point: the catalog sees the old appliance or the new one, whole, never a
half copy and, for a replace, never none; what the cut left is removed by the sweep (at boot, and before each
add), which says what it was.

The cut is a real SIGKILL. The install runs in a forked child that kills itself just before its N-th change to
the filesystem, for every N the whole install makes: a Python audit hook sees each change (a file opened for
writing, mkdir, chmod, link, rename, unlink, the renameat2 call through ctypes) before it happens. Bytes written
into an open file are not audit events: the kill in the middle of an image's data is its own test. A kill loses
nothing the kernel's page cache holds; that a power cut loses nothing is the fsync order's job, checked in
test_a_copy_is_on_disk_before_its_rename_and_the_rename_is_synced_at_once (and cut for real by `make torture`).
"""
import errno
import io
import os
import re
import shutil
import signal
import sys
import tarfile
from pathlib import Path

import pytest

from hypervisor import boot
from hypervisor.appliances import install, staging as staging_module
from hypervisor.appliances.catalog import discover
from hypervisor.appliances.install import InstallError, install_bundle
from hypervisor.appliances.staging import Staging, sweep
from hypervisor.host.boot_messages import say_at_boot

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGES = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.chmod", "os.chown",
           "os.utime", "os.truncate", "ctypes.call_function"}


def bundle(tmp_path: Path, which: str, source_kind: str) -> Path:
    """sample-web with a disk image saying which copy it is, as a folder or a .tar of one."""
    folder = tmp_path / which / "web"
    shutil.copytree(SAMPLE, folder)
    (folder / "data.img").write_bytes(which.encode() * 4096)
    if source_kind == "folder":
        return folder
    archive = tmp_path / which / "web.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname="web")
    return archive


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def install_killed_at(change: int, source: Path, into: Path, replace: bool, count_into: Path | None = None,
                      prepare=lambda: None, **install_options) -> bool:
    """Run install_bundle (with `install_options`) in a forked child that SIGKILLs itself just before its
    `change`-th change to the filesystem (or where `prepare`, run in the child first, says); True if it was
    killed, False if the install made fewer changes and finished."""
    pid = os.fork()
    if pid == 0:                        # the child: never returns into pytest
        try:
            prepare()
            made = 0

            def cut_before_a_change(event: str, args: tuple) -> None:
                nonlocal made
                if event in CHANGES or event == "open" and isinstance(args[2], int) and args[2] & WRITING:
                    made += 1
                    if made == change:
                        os.kill(os.getpid(), signal.SIGKILL)
            sys.addaudithook(cut_before_a_change)
            install_bundle(source, into, replace=replace, **install_options)
            if count_into:
                count_into.write_text(str(made))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the install failed by itself, not by the cut"
    return False


def changes_made(tmp_path: Path, source: Path, replace: bool) -> int:
    """How many changes the whole install makes, counted by the same hook on an install that is not cut."""
    into, count = tmp_path / "counting", tmp_path / "count"
    if replace:
        install_bundle(source, into)
    assert not install_killed_at(10 ** 6, source, into, replace, count)
    shutil.rmtree(into)
    return int(count.read_text())


@pytest.fixture
def in_memory(tmp_path):
    """The test's own folder. Not /dev/shm, though fsyncs cost less there: the gate refuses every path under
    /dev (hypervisor/appliances/guest_paths.py), tmpfs or not, so a bundle there is never installed."""
    return tmp_path


@pytest.mark.parametrize("source_kind", ["folder", "tar"])
@pytest.mark.parametrize("replace", [False, True], ids=["add", "replace"])
def test_an_install_killed_before_any_of_its_changes_leaves_a_whole_appliance(in_memory, source_kind, replace):
    tmp_path = in_memory
    old, new = bundle(tmp_path, "old", source_kind), bundle(tmp_path, "new", source_kind)
    old_files = files(old if old.is_dir() else _unpacked(old, tmp_path / "old-unpacked"))
    new_files = files(new if new.is_dir() else _unpacked(new, tmp_path / "new-unpacked"))
    total = changes_made(tmp_path, new, replace)
    assert total >= 10                  # the hook saw the install's changes: the cuts below land inside it
    seen = set()
    for change in range(1, total + 1):
        into = tmp_path / f"into-{change}"
        into.mkdir()
        if replace:
            install_bundle(old, into)
        assert install_killed_at(change, new, into, replace), f"change {change} of {total} was not cut"
        entries = discover((into,))
        # What the catalog sees: the old whole or the new whole; for a replace never nothing.
        assert len(entries) == 1 if replace else len(entries) <= 1, (change, entries)
        if entries:
            assert entries[0].manifest is not None and entries[0].folder == into / "sample-web"
            installed = files(entries[0].folder)
            assert installed in (old_files, new_files), f"cut at change {change}: a mixed or half appliance"
            state = "new" if installed == new_files else "old"
        else:
            state = "none"
        leftovers = [p.name for p in into.iterdir() if p.name.startswith(".")]
        said = sweep(into)
        # The sweep removes every leftover, says what each was, and never changes what the catalog sees.
        assert [p.name for p in into.iterdir()] == (["sample-web"] if entries else [])
        assert [(e.name, files(e.folder)) for e in discover((into,))] == [(e.name, installed) for e in entries]
        assert len(said) == len(leftovers) <= 1, (change, said, leftovers)
        if said:
            kind = expected_kind(said[0], state, replace, new)
            assert kind, f"cut at change {change} ({state} in place): {said[0]}"
            seen.add(kind)
    # Every kind of leftover was met, and the cuts both kept the old and put the new in place.
    assert {"unfinished", "done"} <= seen, seen


def expected_kind(sentence: str, state: str, replace: bool, source: Path) -> str | None:
    generic = r"removed the work folder \.installing-\w+ of an interrupted add or replace"
    if re.fullmatch(generic, sentence):
        return "generic"
    if state == "new":
        done = (r"removed the old copy of appliance sample-web \(interrupted replace; the new one is in place\)"
                if replace else r"removed the work folder of appliance sample-web's add "
                                r"\(interrupted once sample-web was in place\)")
        return "done" if re.fullmatch(done, sentence) else None
    kept = "interrupted replace; the old one is kept" if replace else "interrupted add"
    unfinished = rf"removed an unfinished copy of (appliance sample-web|{re.escape(str(source))}) \({kept}\)"
    return "unfinished" if re.fullmatch(unfinished, sentence) else None


def _unpacked(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into)
    return into / "web"


def killed_in_the_middle_of_the_image() -> None:
    """In the child: copied 4 KiB at a time, killed once the image's first 4 KiB are written."""
    install.CHUNK = 4096
    real_copy_range = install.copy_range

    def copy_range(src, dst, offset, count):
        if offset == 4096:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_copy_range(src, dst, offset, count)
    install.copy_range = copy_range


def test_a_replace_killed_in_the_middle_of_an_image_keeps_the_old_one_and_the_next_add_sweeps(in_memory):
    old, new = bundle(in_memory, "old", "folder"), bundle(in_memory, "new", "folder")
    into = in_memory / "appliances"
    install_bundle(old, into)
    assert install_killed_at(10 ** 6, new, into, replace=True, prepare=killed_in_the_middle_of_the_image)
    [entry] = discover((into,))
    assert files(entry.folder) == files(old)
    said = []
    install_bundle(new, into, said.append, replace=True)
    assert said[0] == "removed an unfinished copy of appliance sample-web (interrupted replace; the old one is kept)"
    assert [p.name for p in into.iterdir()] == ["sample-web"] and files(into / "sample-web") == files(new)


def test_the_boot_removes_what_a_cut_left_and_says_so_on_the_serial_line_and_in_its_log(in_memory):
    into = in_memory / "appliances"
    into.mkdir()
    assert install_killed_at(10 ** 6, bundle(in_memory, "new", "folder"), into, replace=False,
                             prepare=killed_in_the_middle_of_the_image)
    serial, log = io.StringIO(), in_memory / "boot.log"
    boot.remove_unfinished_installs(lambda line: say_at_boot(line, serial, log), into)
    assert serial.getvalue() == "xenbox: removed an unfinished copy of appliance sample-web (interrupted add)\n"
    assert log.read_text() == serial.getvalue()
    assert list(into.iterdir()) == []
    boot.remove_unfinished_installs(lambda line: say_at_boot(line, serial, log), into)
    assert log.read_text() == serial.getvalue() and serial.getvalue().count("\n") == 1     # said once
    boot.remove_unfinished_installs(serial.write, in_memory / "no-data-store")
    assert serial.getvalue().count("\n") == 1


def test_a_sweep_leaves_a_copy_still_being_made_alone(tmp_path):
    into = tmp_path / "appliances"
    into.mkdir()
    with Staging(into, tmp_path / "web.tar", replace=False) as busy:
        busy.copy.mkdir()
        assert sweep(into) == [] and busy.copy.is_dir()
    assert list(into.iterdir()) == []


@pytest.mark.parametrize("replace", [False, True], ids=["add", "replace"])
def test_a_copy_is_on_disk_before_its_rename_and_the_rename_is_synced_at_once(tmp_path, monkeypatch, replace):
    """What a power cut loses (and a kill does not) is what was never synced: the real fsyncs are watched, each
    named by its path (/proc/self/fd), beside the rename that puts the copy in place, on the test's disk."""
    old, new = bundle(tmp_path, "old", "tar"), bundle(tmp_path, "new", "tar")
    into = tmp_path / "appliances"
    if replace:
        install_bundle(old, into)
    steps = []
    real_fsync, real_rename, real_exchange = os.fsync, os.rename, staging_module.exchange

    def fsync(fd):
        steps.append(("synced", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(first, second, **options):
        steps.append(("renamed", os.path.realpath(first), os.path.realpath(second)))
        real_rename(first, second, **options)

    def exchange(first, second):
        steps.append(("swapped", os.path.realpath(first), os.path.realpath(second)))
        real_exchange(first, second)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(staging_module, "exchange", exchange)
    install_bundle(new, into, replace=replace)
    target = os.path.realpath(into / "sample-web")
    [placed] = [number for number, step in enumerate(steps) if step[0] != "synced" and step[2] == target]
    assert steps[placed][0] == ("swapped" if replace else "renamed")
    copy = Path(steps[placed][1])
    work_folder = str(copy.parent.parent)                       # .installing-XXXX/copy/web: the tar's folder
    synced_before = {step[1] for step in steps[:placed] if step[0] == "synced"}
    assert {str(copy), str(copy.parent / "web"), *(str(copy / name) for name in files(new_unpacked(tmp_path)))} \
        <= synced_before
    assert steps[placed - 1] == ("synced", work_folder)         # the record naming the copy's inode, just before
    assert steps[placed + 1] == ("synced", os.path.realpath(into))


def new_unpacked(tmp_path: Path) -> Path:
    return _unpacked(tmp_path / "new" / "web.tar", tmp_path / "new-unpacked")


def test_where_folders_cannot_be_swapped_a_replace_is_refused_and_the_old_one_kept(tmp_path, monkeypatch):
    """FAT (a stick given as --into) has no RENAME_EXCHANGE, but this kernel cannot mount FAT: the one thing
    replaced is renameat2's answer there, EINVAL."""
    old, new = bundle(tmp_path, "old", "folder"), bundle(tmp_path, "new", "folder")
    into = tmp_path / "appliances"
    install_bundle(old, into)

    def refused(first, second):
        raise OSError(errno.EINVAL, "Invalid argument")
    monkeypatch.setattr(staging_module, "exchange", refused)
    with pytest.raises(InstallError, match=re.escape(
            f"{into} cannot swap two folders in one step (Invalid argument), so sample-web cannot be replaced there "
            f"without a moment with neither: remove {into}/sample-web first, then add it again")):
        install_bundle(new, into, replace=True)
    assert [p.name for p in into.iterdir()] == ["sample-web"] and files(into / "sample-web") == files(old)


def test_folders_really_swap_names_in_one_step(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "was-a").touch()
    (tmp_path / "b").mkdir()
    staging_module.exchange(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["was-a"] and not any((tmp_path / "a").iterdir())
    with pytest.raises(FileNotFoundError):
        staging_module.exchange(tmp_path / "a", tmp_path / "nope")
