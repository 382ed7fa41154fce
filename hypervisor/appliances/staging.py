"""Where `appliance add` copies a bundle before it is an appliance, and how the copy takes its place.

The copy is made in a work folder beside the appliances, `.installing-XXXXXXXX/copy` (the catalog never
reads a folder whose name starts with a dot). Once every file and folder of it is on disk (fsync), it
takes the appliance's name by one rename, or, replacing an appliance, by swapping the two folders' names
in one step (renameat2 RENAME_EXCHANGE): at every instant that name holds a whole appliance, the old one
or the new one. The folder holding them is fsynced after the rename, so a power cut cannot undo it. The
old copy, now inside the work folder, goes with it.

A cut (power, or a kill) leaves a work folder behind; `sweep` removes it, at boot and before each add,
and says what it was. It reads the record the installer keeps there (install.toml): the source, the
appliance's name once known, and, just before the rename, the new copy's inode number. That number tells
the cases apart afterwards: if the appliance's folder has it, the new copy is in place and the leftover
is the old one (or nothing); if not, the leftover is an unfinished copy and the appliance is untouched.

A bundle's disk images go onto guest volumes (bundle_disks.py); the record lists each before it is made.
The sweep then removes the volumes of a copy that never took the appliance's name, and finishes giving
them their names for one that did. Until that is done the work folder stays, and says so.

An installer holds a lock (flock) on its work folder, so a sweep never removes a copy still being made.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import stat
import tempfile
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hypervisor.appliances import bundle_disks
from hypervisor.appliances.bundle_disks import Targets
from hypervisor.settings.atomic import sync_directory
from hypervisor.settings.tomlwrite import dumps

WORK_PREFIX = ".installing-"
RECORD = "install.toml"
CANNOT_EXCHANGE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})    # a filesystem or kernel without it


class Staging:
    """One install's work folder: made and locked on entering, removed on leaving, whatever happened."""

    def __init__(self, into: Path, source: Path, replace: bool) -> None:
        self.into, self.source, self.replace = into, source, replace
        self.name: str | None = None
        self.volumes: list[dict] = []       # {pool, target}: made under bundle_disks.adding_name
        self.pending = False                # volumes recorded that are neither finished nor removed
        self._copy_inode: int | None = None

    def __enter__(self) -> Staging:
        with _locked(self.into):        # no sweep between making the folder and locking it
            self.folder = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.into))
            self._lock = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._record()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exception) -> None:
        try:
            if not self.pending:        # else the record is what the next sweep finishes or removes them by
                remove_work_folder(self.folder)
        except OSError:
            pass            # the next sweep removes it, and says so
        finally:
            os.close(self._lock)

    @property
    def copy(self) -> Path:
        """Where the bundle is copied or unpacked."""
        return self.folder / "copy"

    @property
    def token(self) -> str:
        """What this copy's volumes are told apart by."""
        return self.folder.name.removeprefix(WORK_PREFIX)

    def named(self, name: str) -> None:
        self.name = name
        self._record()

    def volume(self, pool: str, target: str) -> None:
        """Recorded, on disk, before the volume is made."""
        self.volumes.append({"pool": pool, "target": target})
        self.pending = True
        self._record()

    def in_place(self) -> bool:
        """The copy has taken the appliance's name."""
        return self.name is not None and self._copy_inode is not None and \
            _inode(self.into / self.name) == self._copy_inode

    def put_in_place(self, root: Path, target: Path) -> None:
        """Make the finished copy at `root` (in self.copy) the appliance at `target`: raises FileExistsError
        when `target` appeared meanwhile (without replace), or OSError with CANNOT_EXCHANGE's numbers."""
        sync_tree(root)
        self._copy_inode = os.stat(root).st_ino
        self._record()
        if self.replace and target.exists():
            exchange(root, target)
        else:
            try:
                os.rename(root, target)
            except OSError as error:
                if error.errno in (errno.EEXIST, errno.ENOTEMPTY):      # installed meanwhile
                    raise FileExistsError(errno.EEXIST, "already installed", str(target)) from None
                raise
        sync_directory(target.parent)

    def _record(self) -> None:
        """Replaced whole and on disk before the step it describes (no `.prev` hard link, as
        write_atomically keeps: the bundle may be added onto a FAT stick, which has none)."""
        record = {"source": str(self.source), "replace": self.replace, **({"name": self.name} if self.name else {}),
                  **({"token": self.token, "volumes": self.volumes} if self.volumes else {}),
                  **({"copy_inode": self._copy_inode} if self._copy_inode is not None else {})}
        temporary = self.folder / f".{RECORD}.new"
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(dumps(record))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.folder / RECORD)
        sync_directory(self.folder)


def sweep(into: Path, pools: Targets | None = None) -> list[str]:
    """Remove what interrupted installs left in `into`; one sentence for each. A copy still being made
    (its installer holds the lock) is left alone. `pools` opens the pools a copy's volumes are on
    (importing.pool_target unless a test gives its own)."""
    try:
        with _locked(into):
            return [said for folder in sorted(into.iterdir()) if _is_work_folder(folder)
                    if (said := _sweep_one(into, folder, pools))]
    except FileNotFoundError:
        return []           # no appliances folder (no data store yet): nothing was installed
    except OSError as error:
        return [f"could not look for unfinished appliance copies in {into}: {error.strerror}"]


def _sweep_one(into: Path, folder: Path, pools: Targets | None) -> str | None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None         # gone meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        said = f"removed {describe(into, folder)}"
        volumes = _volumes(into, folder, pools)
        remove_work_folder(folder)
        return said + volumes
    except BlockingIOError:
        return None         # an install is still copying into it
    except OSError as error:
        return f"could not remove {folder}, left by an interrupted add or replace: {error.strerror}"
    finally:
        os.close(fd)


def _volumes(into: Path, folder: Path, pools: Targets | None) -> str:
    """The volumes a work folder's copy was given: named for its appliance once the copy is in place,
    else removed. What was done, to add to the sweep's sentence; OSError (the folder then stays)."""
    record = _read_record(folder)
    volumes, name, token = record.get("volumes"), record.get("name"), record.get("token")
    if not volumes or not isinstance(name, str) or not isinstance(token, str):
        return ""
    if pools is None:
        from hypervisor.appliances.importing import pool_target
        pools = pool_target
    said: list[str] = []
    try:
        if record.get("copy_inode") is not None and _inode(into / name) == record["copy_inode"]:
            done = bundle_disks.finish(pools, name, volumes, token, said.append)
            what = f"; its volume{'s' * (len(done) > 1)} {', '.join(done)} put in place"
        else:
            removed = bundle_disks.discard(pools, name, volumes, token, said.append)
            what = f", and the volume{'s' * (len(removed) > 1)} made for it, {', '.join(removed)}" if removed else ""
    except Exception as error:      # a pool not there now: ImportRefused, StorageError
        raise OSError(errno.EAGAIN, f"its volumes could not be seen to ({error}); the next boot or add tries "
                                    "again") from None
    return what + "".join(f"; {line}" for line in said)


def describe(into: Path, folder: Path) -> str:
    """What a leftover work folder is, from its record."""
    record = _read_record(folder)
    if not record:
        return f"the work folder {folder.name} of an interrupted add or replace"
    name, replace = record.get("name"), record.get("replace") is True
    if name and record.get("copy_inode") is not None and _inode(into / name) == record["copy_inode"]:
        if replace:
            return f"the old copy of appliance {name} (interrupted replace; the new one is in place)"
        return f"the work folder of appliance {name}'s add (interrupted once {name} was in place)"
    what = f"appliance {name}" if name else record.get("source", folder.name)
    return f"an unfinished copy of {what} ({'interrupted replace; the old one is kept' if replace else 'interrupted add'})"


def remove_work_folder(folder: Path) -> None:
    """The copy first, the record last: a cut while removing still leaves a folder that says what it was."""
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name == RECORD):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    folder.rmdir()


def sync_tree(root: Path) -> None:
    """Every file and folder of a copy on disk, so that the rename making it an appliance finds it whole."""
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if stat.S_ISREG(os.lstat(path).st_mode):     # links are entries of their folder, synced below
                _fsync(path)
        _fsync(folder)


def exchange(first: Path, second: Path) -> None:
    """Swap two names in one step (renameat2 RENAME_EXCHANGE; Python has no call for it). ext4 and tmpfs
    can; a filesystem that cannot gives EINVAL."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not in this C library", str(first))
    at_cwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number), str(first), None, str(second))


def _is_work_folder(path: Path) -> bool:
    return path.name.startswith(WORK_PREFIX) and path.is_dir() and not path.is_symlink()


def _read_record(folder: Path) -> dict:
    try:
        return tomllib.loads((folder / RECORD).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
