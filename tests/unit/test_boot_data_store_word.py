"""The boot's word to the consoles on the data store, and what the console's lock makes of it.

The real read_data_store, DataStore.mount and word file (a temporary folder, see conftest); LVM and mount
are the boundary, answered with captured output as in test_storage_datastore."""
import pytest

from hypervisor import boot
from hypervisor.host import data_store_word
from hypervisor.host.console_password import read_access
from hypervisor.host.data_store_word import NONE, READ, UNREADABLE, WAITING, Word, heard, tell
from hypervisor.runner import CommandError
from hypervisor.storage import StorageError
from hypervisor.storage.datastore import DataStore
from test_storage_datastore import NO_GROUPS, Tools
from test_storage_support import fixture

HASH = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"
MISSING_ONE = fixture("vm/vgs.json").replace('"vg_uuid":"zVShHw-ksrl-BhwX-SgY3-PahL-FZbj-6LYWVt"',
                                             '"vg_uuid":"u", "vg_missing_pv_count":"1"')


def store(tmp_path, answers, mounted=False):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/xenbox/data {tmp_path / 'store'} ext4 rw 0 0\n" if mounted else "")
    return DataStore(Tools(answers), mountpoint=tmp_path / "store", mounts=mounts)


def test_no_word_is_no_xenbox_boot_and_a_garbled_one_is_waiting(tmp_path):
    assert heard() is None
    data_store_word.WORD.parent.mkdir(parents=True)
    data_store_word.WORD.write_text("state = 'mounting'\n")
    assert heard() == Word(WAITING)
    tell(Word(UNREADABLE, 'said "this"\nand that', safe=True))
    assert heard() == Word(UNREADABLE, 'said "this"\nand that', safe=True)


def test_a_host_with_no_data_store_says_none(tmp_path):
    boot.read_data_store(lambda line: None, False, store(tmp_path, {("vgs",): NO_GROUPS}))
    assert heard() == Word(NONE)


def test_a_mounted_data_store_says_read(tmp_path):
    boot.read_data_store(lambda line: None, False, store(tmp_path, {("vgs",): fixture("vm/vgs.json")}, mounted=True))
    assert heard() == Word(READ)


def test_a_data_store_missing_a_disk_is_unreadable_with_the_reason_and_the_mode(tmp_path):
    boot.read_data_store(lambda line: None, True, store(tmp_path, {("vgs",): MISSING_ONE}))
    assert heard() == Word(UNREADABLE, "VG xenbox is MISSING 1 of its 2 disks: reattach them, then reboot; "
                                       "appliances with volumes on it are not started", safe=True)


def test_a_mount_that_fails_is_told_before_the_boot_stops(tmp_path):
    refused = CommandError(("mount",), 32, "mount: /var/lib/xenbox: wrong fs type, bad option, bad superblock")
    with pytest.raises(StorageError):
        boot.read_data_store(lambda line: None, False,
                             store(tmp_path, {("vgs",): fixture("vm/vgs.json"), ("mount",): refused}))
    word = heard()
    assert word.state == UNREADABLE and not word.safe
    assert word.reason.startswith("/dev/xenbox/data could not be mounted at") and "bad superblock" in word.reason


def test_what_the_console_makes_of_each_word(tmp_path):
    console_toml = tmp_path / "console.toml"
    console_toml.write_text(f'password_hash = "{HASH}"\n')
    tell(Word(WAITING))
    waiting = read_access(console_toml)
    assert waiting.locks and waiting.password_hash is None and "has not read the data store" in waiting.locked_because
    tell(Word(READ))
    assert read_access(console_toml).password_hash == HASH
    tell(Word(NONE))
    assert not read_access(tmp_path / "none.toml").locks
    tell(Word(UNREADABLE, "VG xenbox is MISSING 1 of its 2 disks"))
    assert read_access(console_toml).locked_because.startswith("The data store cannot be read: VG xenbox is MISSING")
    tell(Word(UNREADABLE, "VG xenbox is MISSING 1 of its 2 disks", safe=True))
    safe = read_access(console_toml)
    assert not safe.locks and safe.problem.endswith("This console is open because this is safe mode.")


def test_a_console_toml_the_disk_cannot_read_locks_but_not_in_safe_mode(tmp_path):
    unreadable = tmp_path / "console.toml"
    unreadable.mkdir()          # reading it fails as a disk error would: an OSError, not its content
    tell(Word(READ))
    assert "A console password may be kept in it" in read_access(unreadable).locked_because
    tell(Word(READ, safe=True))
    assert not read_access(unreadable).locks
