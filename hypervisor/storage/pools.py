"""Storage pools that appliance disks are carved from, and the volumes an appliance's disks become.

Each is made at the appliance's first start and kept afterwards (a later start never shrinks, grows
or wipes it):
- `local`, the data store's volume group: a manifest disk `pool = "local"` becomes the LVM volume
  `<appliance>.<target>`;
- `files`, the data store's filesystem: `pool = "files"` becomes the image file
  `images/<appliance>.<target>.<raw|qcow2>` (raw ones sparse: a disk costs what the guest wrote);
- a pool the operator added by name (an NFS share or a folder, see named_pools.py): the same image
  file, in that pool's folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Protocol

from hypervisor import runner
from hypervisor.settings.atomic import sync_directory
from hypervisor.settings.names import OutsideFolder, inside
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.images import Images
from hypervisor.storage.lvm import Lvm

POOLS = ("local", "files")
MIB = 1024 * 1024
Say = Callable[[str], None]


class Pool(Protocol):
    def volume(self, appliance: str, target: str, size_mib: int, disk_format: str = "raw",
               say: Say = lambda line: None) -> Path: ...


def open_pool(name: str, run: runner.Runner = runner.run) -> Pool:
    """The pool a manifest disk names: one of POOLS, or one added by name."""
    if name == "local":
        return LocalPool(run)
    if name == "files":
        return FilePool(run)
    from hypervisor.storage.named_pools import NamedPools
    pools = NamedPools(run)
    pool = pools.find(name)
    return FilePool(run, pools.folder(pool), problem=lambda: pools.problem(pool))


def volume_name(appliance: str, target: str) -> str:
    return f"{appliance}.{target}"


class LocalPool:
    """Guest volumes in the data store's volume group."""

    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._lvm = Lvm(run)
        self._store = DataStore(run)

    def volume(self, appliance: str, target: str, size_mib: int, disk_format: str = "raw",
               say: Say = lambda line: None) -> Path:
        """The volume's device, made first if it does not exist yet. Volumes are raw."""
        status = self._store.status()
        if status.problem:
            raise StorageError(f"its disk {target} is a volume on the data store, which cannot be used now "
                               f"({status.problem})")
        if status.group is None:
            raise StorageError(f"its disk {target} is a volume on the data store, and this host has none: set one "
                               "up on the Storage screen (key t), or reattach its disks and reboot")
        group = status.group.name
        name = volume_name(appliance, target)
        found = [lv for lv in self._lvm.lvs(group) if lv.name == name]
        if not found:
            say(f"creating its {size_mib} MiB volume {group}/{name}")
            self._lvm.create_lv(group, name, size_mib * MIB)
        elif not found[0].active:
            self._lvm.activate(group, name)
        return Path(f"/dev/{group}/{name}")


class FilePool:
    """Guest disk images in a folder: the data store's filesystem, or a pool added by name. Raw
    (sparse) or qcow2."""

    def __init__(self, run: runner.Runner = runner.run, folder: Path = MOUNTPOINT / "images",
                 store: DataStore | None = None, problem: Callable[[], str | None] | None = None) -> None:
        self._images = Images(run)
        self.folder = folder
        self._problem = problem or self._data_store_problem
        self._run = run
        self._store = store         # made when first asked: a named pool has its own `problem`

    def _data_store_problem(self) -> str | None:
        if self._store is None:
            self._store = DataStore(self._run)
        if self._store.is_mounted():
            return None
        return ("it is an image file on the data store, which is not mounted: set one up on the Storage screen "
                "(key t), or reattach its disks and reboot")

    def volume(self, appliance: str, target: str, size_mib: int, disk_format: str = "raw",
               say: Say = lambda line: None) -> Path:
        """The image's path, made first if it does not exist yet."""
        try:
            path = inside(self.folder, f"{volume_name(appliance, target)}.{disk_format}")
        except OutsideFolder as error:
            raise StorageError(f"its disk {target} cannot be used: {error}") from None
        problem = self._problem()       # an NFS share not mounted leaves an empty folder: never write there
        if problem:
            raise StorageError(f"its disk {target} cannot be used: {problem}")
        if path.exists():
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        size, free = size_mib * MIB, shutil.disk_usage(self.folder).free
        if size > free:     # raw images are sparse, but a guest filling a disk it was promised must not fail
            raise StorageError(f"its disk {target} needs {human_size(size)} and {self.folder} has "
                               f"{human_size(free)} free: delete images there, or lower size_mib in appliance.toml")
        say(f"creating its {size_mib} MiB {disk_format} image {path}")
        partial = path.with_name(f".{path.name}.partial")     # a power cut mid-way leaves no half image in place
        partial.unlink(missing_ok=True)
        if disk_format == "qcow2":
            self._images.create(str(partial), size, "qcow2")
        else:
            with open(partial, "wb") as image:
                image.truncate(size)
                os.fsync(image.fileno())
        os.replace(partial, path)
        sync_directory(self.folder)
        return path
