"""Installing an appliance bundle (a folder, or a .tar of one) among the operator's appliances on the
data store: `xenbox appliance add` and answer files both come here.

Nothing changes until the bundle has proved good: its manifest is read and the room it needs is
checked first. It is then copied into a hidden work folder beside its final place, with progress
for the big files (disk images), and put in place by one rename, or by one swap of names for a replace
(staging.py): an add or replace cut short at any point leaves the old appliance or the new one, whole,
and a work folder that the next boot (or add) removes and reports.
"""
from __future__ import annotations

import errno
import os
import shutil
import tarfile
import time
import tomllib
from pathlib import Path
from typing import Callable

from hypervisor.appliances.manifest import MANIFEST_NAME, load_bundle
from hypervisor.appliances.safe_tar import unpack_bundle
from hypervisor.appliances.staging import CANNOT_EXCHANGE, Staging, sweep
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import human_size

Say = Callable[[str], None]
CHUNK = 8 * 1024 * 1024        # bytes per copy call: big enough for full speed, small enough for progress
REPORT_SECONDS = 1.0
SHOWN_FROM = 16 * 1024 * 1024  # files smaller than this are copied without progress lines


class InstallError(Exception):
    """The bundle was not installed, and nothing changed; the message names the fix."""


def install_bundle(source: Path, into: Path, say: Say = lambda line: None, replace: bool = False,
                   autostart: dict | None = None, clock: Callable[[], float] = time.monotonic) -> Path:
    """Install `source` into `into`/<name>; returns that folder. `autostart` overrides keys of the
    manifest's [autostart] table (an answer file's enabled/order)."""
    into.mkdir(parents=True, exist_ok=True)
    for line in sweep(into):                # what an earlier add, killed, left behind
        say(line)
    with Staging(into, source, replace) as staging:
        if source.is_dir():
            name = load_bundle(source).name           # a bad manifest stops here, before any copy
            _check_room(into, tree_size(source), source)
            _refuse_existing(into / name, replace)
            staging.named(name)
            copy_tree(source, staging.copy, say, clock)
            root = staging.copy
        else:
            _check_room(into, tar_size(source), source)
            say(f"unpacking {source.name}")
            root = unpack_bundle(source, staging.copy, MANIFEST_NAME)
            name = load_bundle(root).name
            _refuse_existing(into / name, replace)
            staging.named(name)
        if autostart:       # rewritten only when asked to change it (the manifest's comments are lost)
            manifest = root / MANIFEST_NAME
            document = tomllib.loads(manifest.read_text())
            document.setdefault("autostart", {}).update(autostart)
            manifest.write_text(dumps(document))
            load_bundle(root)
        target = into / name
        try:
            staging.put_in_place(root, target)
        except FileExistsError:
            _refuse_existing(target, replace=False)
            raise
        except OSError as error:
            if error.errno not in CANNOT_EXCHANGE:
                raise
            raise InstallError(f"{into} cannot swap two folders in one step ({error.strerror}), so {name} cannot "
                               f"be replaced there without a moment with neither: remove {target} first, then add "
                               "it again") from None
        return target


def _refuse_existing(target: Path, replace: bool) -> None:
    if target.exists() and not replace:
        raise InstallError(f"appliance {target.name} is already installed in {target}: remove it first, "
                           "or add it again with --replace")


def _check_room(into: Path, needed: int, source: Path) -> None:
    free = shutil.disk_usage(into).free
    if needed > free:
        raise InstallError(f"{source} needs {human_size(needed)} and {into} has {human_size(free)} free: "
                           "free some space there (or grow the data store), then add it again")


def tree_size(folder: Path) -> int:
    """Bytes the files hold (a sparse image counts what it allocates)."""
    return sum(min(p.stat().st_size, p.stat().st_blocks * 512) for p in folder.rglob("*")
               if p.is_file() and not p.is_symlink())


def tar_size(archive: Path) -> int:
    try:
        with tarfile.open(archive, "r:*") as tar:
            return sum(member.size for member in tar.getmembers() if member.isfile())
    except (tarfile.TarError, OSError, EOFError) as error:
        raise InstallError(f"{archive} cannot be read as a tar archive: {error}") from None


def copy_tree(source: Path, target: Path, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
    """Folders, links and files as they are; big files with progress, sparse ones kept sparse."""
    for folder, subfolders, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in subfolders + files:
            path = Path(folder) / name
            if path.is_symlink():
                (target / relative / name).symlink_to(os.readlink(path))
                if name in subfolders:
                    subfolders.remove(name)          # a linked folder is copied as the link, not walked
            elif name in files and path.is_file():       # no fifos or devices: a bundle holds files
                copy_file(path, target / relative / name, say, clock)


def copy_file(source: Path, target: Path, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
    """Copy the data regions only (holes stay holes), in chunks, saying how far it got once a second."""
    size = source.stat().st_size
    shown = size >= SHOWN_FROM
    started = last_said = clock()
    done = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        for start, end in data_regions(src.fileno(), size):
            offset = start
            while offset < end:
                count = copy_range(src.fileno(), dst.fileno(), offset, min(CHUNK, end - offset))
                if count == 0:
                    raise InstallError(f"{source} got shorter while it was copied: copy it again")
                offset += count
                done += count
                now = clock()
                if shown and now - last_said >= REPORT_SECONDS:
                    last_said = now
                    say(f"copying {source.name}: {human_size(offset)} of {human_size(size)} "
                        f"({offset * 100 // size}%), {_rate(done, now - started)}")
        dst.truncate(size)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copymode(source, target)
    if shown:
        elapsed = clock() - started
        say(f"copied {source.name}: {human_size(size)} in {elapsed:.1f} s ({_rate(done, elapsed)})")


def copy_range(src: int, dst: int, offset: int, count: int) -> int:
    """In the kernel where it can (copy_file_range); by read and write between filesystems it
    refuses (the boot medium's ISO 9660 or a FAT stick to the data store's ext4)."""
    try:
        return os.copy_file_range(src, dst, count, offset, offset)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    data = os.pread(src, count, offset)
    return os.pwrite(dst, data, offset) if data else 0


def data_regions(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of each region holding data; a filesystem without hole support gives one."""
    regions, offset = [], 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:          # ENXIO: only a hole is left
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        regions.append((start, min(end, size)))
        offset = end
    return regions


def _rate(done: int, seconds: float) -> str:
    return f"{human_size(int(done / seconds))}/s" if seconds > 0 else "-"
