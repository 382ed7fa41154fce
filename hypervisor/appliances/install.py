"""Installing an appliance bundle (a folder, or a .tar of one) among the operator's appliances on the
data store: `xenbox appliance add` and answer files both come here.

Nothing changes until the bundle has proved good: its manifest is read and the room it needs is
checked first. It is then copied into a hidden work folder beside its final place, with progress
for the big files, and put in place by one rename, or by one swap of names for a replace
(staging.py): an add or replace cut short at any point leaves the old appliance or the new one, whole,
and a work folder that the next boot (or add) removes and reports.

Given `volumes` (as `appliance add` and the console's add give it), a folder bundle's disk images go
onto guest volumes on that pool instead of into the folder (bundle_disks.py), and their room is the
pool's: the data store's volume group for `local`, not its settings filesystem.
"""
from __future__ import annotations

import errno
import fcntl
import os
import struct
import shutil
import tarfile
import time
import tomllib
from pathlib import Path
from typing import Callable

from hypervisor.appliances import bundle_disks
from hypervisor.appliances.bundle_disks import ImageDisk, Targets
from hypervisor.appliances.manifest import MANIFEST_NAME, load_bundle
from hypervisor.appliances.safe_tar import unpack_bundle
from hypervisor.appliances.staging import CANNOT_EXCHANGE, Staging, sweep
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import human_size

Say = Callable[[str], None]
CHUNK = 8 * 1024 * 1024        # bytes per copy call: big enough for full speed, small enough for progress
REPORT_SECONDS = 1.0
SHOWN_FROM = 16 * 1024 * 1024  # files smaller than this are copied without progress lines
BLKZEROOUT = 0x127F            # linux/fs.h _IO(0x12, 127): zero a block device's range (WRITE ZEROES, or written)
ZERO_ALIGN = 4096              # BLKZEROOUT takes whole logical blocks; a hole's ends are the filesystem's blocks
ZEROS = bytes(CHUNK)


class InstallError(Exception):
    """The bundle was not installed, and nothing changed; the message names the fix."""


def install_bundle(source: Path, into: Path, say: Say = lambda line: None, replace: bool = False,
                   autostart: dict | None = None, clock: Callable[[], float] = time.monotonic,
                   volumes: Targets | None = None, pool: str = "local") -> Path:
    """Install `source` into `into`/<name>; returns that folder. `autostart` overrides keys of the
    manifest's [autostart] table (an answer file's enabled/order). `volumes` opens a pool by its name
    (importing.pool_target): given it, the bundle's disk images go onto volumes on `pool` (a .tar's are
    unpacked first, beside the rest, then moved onto them)."""
    into.mkdir(parents=True, exist_ok=True)
    for line in sweep(into, volumes):       # what an earlier add, killed, left behind
        say(line)
    with Staging(into, source, replace) as staging:
        images: list[ImageDisk] = []
        if source.is_dir():
            manifest = load_bundle(source)          # a bad manifest stops here, before any copy
            name = manifest.name
            if volumes is not None:
                images = _images_of(source, manifest)
            _check_room(into, tree_size(source) - sum(image.allocated for image in images), source)
            _refuse_existing(into / name, replace)
            if images:
                _check_volumes(volumes(pool), name, images, source, replaced=replace and (into / name).exists())
            staging.named(name)
            copy_tree(source, staging.copy, say, clock, leave_out={image.file for image in images})
            root = staging.copy
        else:
            _check_room(into, tar_size(source), source)
            say(f"unpacking {source.name}")
            root = unpack_bundle(source, staging.copy, MANIFEST_NAME)
            manifest = load_bundle(root)
            name = manifest.name
            _refuse_existing(into / name, replace)
            if volumes is not None and (images := _images_of(root, manifest)):
                _check_volumes(volumes(pool), name, images, source, replaced=replace and (into / name).exists())
            staging.named(name)
        if autostart or images:     # rewritten only when asked to change it (the manifest's comments are lost)
            manifest_file = root / MANIFEST_NAME
            document = tomllib.loads(manifest_file.read_text())
            if autostart:
                document.setdefault("autostart", {}).update(autostart)
            manifest_file.write_text(dumps(bundle_disks.on_volumes(document, images, pool)))
            load_bundle(root)
        target = into / name
        try:
            _onto_volumes(staging, volumes, pool, name, images, say, clock)
            for image in images:
                if image.file.is_relative_to(staging.folder.resolve()):     # a .tar's, unpacked: on its volume now
                    image.file.unlink()
            _put_in_place(staging, root, target, name, into, replace)
        except BaseException:
            if staging.pending and not staging.in_place():
                _discard(staging, volumes, name, say)
            raise
        if staging.pending:
            try:
                bundle_disks.finish(volumes, name, staging.volumes, staging.token, say)
            except Exception as error:      # StorageError, ImportRefused, OSError: the sweep finishes it
                raise InstallError(f"appliance {name} is in place, but its volumes could not be given their names "
                                   f"({error}): the next boot (or add) does it; until then do not start it") from None
            staging.pending = False
        return target


def _put_in_place(staging: Staging, root: Path, target: Path, name: str, into: Path, replace: bool) -> None:
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


def _images_of(bundle: Path, manifest) -> list[ImageDisk]:
    from hypervisor.appliances.manifest import read_manifest
    document = tomllib.loads(read_manifest(bundle).decode("utf-8-sig"))
    return bundle_disks.image_disks(manifest.disks, document.get("disks", []), disk_size)


def disk_size(file: Path, disk_format: str) -> int:
    """A disk image's size as a guest sees it: a raw file's length, a qcow2's virtual size (qemu-img,
    with every check an imported image gets)."""
    if disk_format == "raw":
        return file.stat().st_size
    from hypervisor.appliances.disk_images import DiskImages, Source
    return DiskImages().probe(Source(file.name, file, package=file.parent), disk_format).virtual_size


def _check_volumes(target, name: str, images: list[ImageDisk], source: Path, replaced: bool) -> None:
    """Room on the pool, and no volume of that name left there by another appliance of this name."""
    needed = sum(image.size_mib for image in images) * bundle_disks.MIB
    free = target.free()
    where = "the data store's volume group" if target.name == "local" else f"pool {target.name}"
    if needed > free:
        files = ", ".join(f"{image.file.name} ({human_size(image.size_mib * bundle_disks.MIB)})" for image in images)
        raise InstallError(f"{source}'s disk images ({files}) need {human_size(needed)} on volumes and {where} "
                           f"has {human_size(free)} free: delete volumes left behind (`xenbox storage volumes`), "
                           "grow the data store, or add it onto another pool with --pool NAME, then add it again")
    if replaced:
        return          # the appliance's own volumes, kept until the new copy is in place
    for image in images:
        if (found := target.taken(name, image.target)) is not None:
            raise InstallError(f"{found} already exists (a volume left by an earlier appliance {name}?): delete it "
                               "(`xenbox storage delete`) if nothing in it is needed, then add it again")


def _onto_volumes(staging: Staging, volumes: Targets | None, pool: str, name: str, images: list[ImageDisk],
                  say: Say, clock: Callable[[], float]) -> None:
    for image in images:
        target = volumes(pool)
        size = human_size(image.size_mib * bundle_disks.MIB)
        say(f"{image.file.name} goes onto a {size} volume on pool {pool}, {name}.{image.target}")
        staging.volume(pool, image.target)
        path, fresh = target.make(name, bundle_disks.adding_name(image.target, staging.token), image.size_mib,
                                  lambda line: None)        # said above, by the name it will have
        if image.format == "raw":
            copy_onto_volume(image.file, path, fresh, say, clock)
        else:
            from hypervisor.appliances.disk_images import DiskImages, Source
            qemu_img = DiskImages()
            checked = qemu_img.probe(Source(image.file.name, image.file, package=image.file.parent), image.format)
            qemu_img.convert(checked, path, "raw", fresh, say)


def _discard(staging: Staging, volumes: Targets, name: str, say: Say) -> None:
    """The copy did not take its name: the volumes made for it go (what cannot, the next sweep retries)."""
    try:
        for path in bundle_disks.discard(volumes, name, staging.volumes, staging.token, say):
            say(f"removed {path}, made for this add")
        staging.pending = False
    except Exception as error:
        say(f"warning: the volumes made for this add could not all be removed ({error}): the next boot or add "
            "removes them")


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


def copy_tree(source: Path, target: Path, say: Say, clock: Callable[[], float] = time.monotonic,
              leave_out: set[Path] = frozenset()) -> None:
    """Folders, links and files as they are; big files with progress, sparse ones kept sparse. The
    files in `leave_out` (disk images going onto volumes) are not copied."""
    for folder, subfolders, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in subfolders + files:
            path = Path(folder) / name
            if path.is_symlink():
                (target / relative / name).symlink_to(os.readlink(path))
                if name in subfolders:
                    subfolders.remove(name)          # a linked folder is copied as the link, not walked
            elif name in files and path.is_file() and path.resolve() not in leave_out:   # no fifos or devices
                copy_file(path, target / relative / name, say, clock)


def copy_file(source: Path, target: Path, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
    """Copy the data regions only (holes stay holes), in chunks, saying how far it got once a second."""
    size = source.stat().st_size
    with open(source, "rb") as src, open(target, "wb") as dst:
        _copy_data(source, src.fileno(), dst.fileno(), size, say, clock, zero_holes=False)
        dst.truncate(size)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copymode(source, target)


def copy_onto_volume(source: Path, volume: Path, fresh: bool, say: Say,
                     clock: Callable[[], float] = time.monotonic) -> None:
    """A raw image onto a guest volume at least its size, as copy_file copies: its data regions only,
    with progress. A volume made just now as a sparse file (`fresh`) reads as zeros, so its holes stay
    holes; an LVM volume holds what an earlier volume left, so there the image's holes and the volume's
    end past it are zeroed (BLKZEROOUT: the device's own write-zeroes where it has one)."""
    size = source.stat().st_size
    with open(source, "rb") as src, open(volume, "r+b") as dst:
        end = dst.seek(0, os.SEEK_END)
        if end < size:
            raise InstallError(f"{volume} holds {human_size(end)}, less than {source.name}'s {human_size(size)}: "
                               "delete the volume and add the bundle again")
        _copy_data(source, src.fileno(), dst.fileno(), size, say, clock, zero_holes=not fresh)
        if not fresh:
            zero_range(dst.fileno(), size, end)
        os.fsync(dst.fileno())


def _copy_data(source: Path, src: int, dst: int, size: int, say: Say, clock: Callable[[], float],
               zero_holes: bool) -> None:
    shown = size >= SHOWN_FROM
    started = last_said = clock()
    done = written = 0
    for start, end in data_regions(src, size) + [(size, size)]:
        if zero_holes:
            zero_range(dst, written, start)
        offset = start
        while offset < end:
            count = copy_range(src, dst, offset, min(CHUNK, end - offset))
            if count == 0:
                raise InstallError(f"{source} got shorter while it was copied: copy it again")
            offset += count
            done += count
            now = clock()
            if shown and now - last_said >= REPORT_SECONDS:
                last_said = now
                say(f"copying {source.name}: {human_size(offset)} of {human_size(size)} "
                    f"({offset * 100 // size}%), {_rate(done, now - started)}")
        written = end
    if shown:
        elapsed = clock() - started
        say(f"copied {source.name}: {human_size(size)} in {elapsed:.1f} s ({_rate(done, elapsed)})")


def zero_range(fd: int, start: int, end: int) -> None:
    """Zeros from `start` to `end`: by BLKZEROOUT on a block device for the whole blocks, else written."""
    if end <= start:
        return
    head = min(end, -(-start // ZERO_ALIGN) * ZERO_ALIGN)
    tail = max(head, end // ZERO_ALIGN * ZERO_ALIGN)
    _write_zeros(fd, start, head)
    _write_zeros(fd, tail, end)
    if tail > head:
        try:
            fcntl.ioctl(fd, BLKZEROOUT, struct.pack("=QQ", head, tail - head))
            return
        except OSError:
            pass            # not a block device (ENOTTY), or a range it will not take
        _write_zeros(fd, head, tail)


def _write_zeros(fd: int, start: int, end: int) -> None:
    while start < end:
        start += os.pwrite(fd, memoryview(ZEROS)[:min(CHUNK, end - start)], start)


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
