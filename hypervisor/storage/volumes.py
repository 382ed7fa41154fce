"""Guest volumes on the data store: whose each one is, growing one, deleting one.

They live in the data store's two pools: `local`, LVM volumes `<appliance>.<target>` in its volume
group, and `files`, image files `<appliance>.<target>.<raw|qcow2>` in its filesystem; and as such
image files in the pools added by name (NFS shares, folders) that can be read now. Any kind
`<appliance>.<target>` belongs to the appliance of that name while its bundle exists
(even one whose manifest is broken right now). Such a volume is never deleted: the appliance's
next start would quietly make a blank one in its place. Deleting is for volumes left behind by
appliances that are gone, and it takes the volume's name typed again. The data store's own
filesystem volume is neither listed nor touched.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from hypervisor import runner
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import DATA_LV, MOUNTPOINT, DataStore
from hypervisor.storage.image_files import ImageFile, ImageFiles
from hypervisor.storage.lvm import LogicalVolume, Lvm

MIB = 1024 * 1024


@dataclass(frozen=True)
class Volume:
    name: str
    size: int
    in_use: bool            # open: attached to a running guest
    owner: str | None       # the appliance it belongs to; None: left behind
    pool: str = "local"     # local: an LVM volume; any other: an image file (its name ends .raw or .qcow2)

    @property
    def summary(self) -> str:
        owner = f"the disk of appliance {self.owner}" if self.owner else "no appliance's (left behind)"
        return f"{self.name}, {human_size(self.size)}, {owner}{', in use' if self.in_use else ''}"


def owner_of(volume: str, appliances: Iterable[str]) -> str | None:
    """The appliance whose disk `volume` is: its name up to the last dot, when that appliance exists."""
    appliance, dot, _target = volume.rpartition(".")
    return appliance if dot and appliance in set(appliances) else None


def named_pool_folders(run: runner.Runner = runner.run) -> list[tuple[str, Path]]:
    """The pools added by name that can be read now (a share not mounted lists nothing)."""
    from hypervisor.storage.named_pools import NamedPools
    pools = NamedPools(run)
    try:
        return [(pool.name, pools.folder(pool)) for pool in pools.list() if pools.problem(pool) is None]
    except StorageError:
        return []           # pools.toml unreadable: the pool screen and the boot say so


class GuestVolumes:
    def __init__(self, run: runner.Runner = runner.run, *,
                 appliances: Callable[[], list[str]],
                 images: ImageFiles | None = None,
                 named_pools: Callable[[], list[tuple[str, Path]]] | None = None) -> None:
        self._lvm = Lvm(run)
        self._store = DataStore(run)
        self._appliances = appliances
        self._run = run
        self._files = images or ImageFiles(MOUNTPOINT / "images", run)
        self._named_pools = named_pools or (lambda: named_pool_folders(run))

    def _image_pools(self) -> list[tuple[str, ImageFiles]]:
        return [("files", self._files)] + [(name, ImageFiles(folder, self._run))
                                           for name, folder in self._named_pools()]

    def group(self) -> str:
        status = self._store.status()
        if status.problem:
            raise StorageError(f"the data store cannot be used now: {status.problem}")
        if status.group is None:
            raise StorageError("this host has no data store: make one on the Storage screen (key t) "
                               "or with `xenbox storage init DISK`")
        return status.group.name

    def list(self, group: str | None = None) -> list[Volume]:
        """The guest volumes, LVM ones first; `group` when the caller has just read the data store's status."""
        names = self._appliances()
        volumes = [_volume(lv, names) for lv in self._lvm.lvs(group or self.group()) if lv.name != DATA_LV]
        return volumes + [_image_volume(image, names, pool) for pool, images in self._image_pools()
                          for image in images.list()]

    def find(self, name: str, group: str) -> Volume:
        found = [v for v in self.list(group) if v.name == name]
        if not found:
            raise StorageError(f"there is no guest volume {name}: `xenbox storage volumes` lists them")
        if len(found) > 1:
            raise StorageError(f"{name} is on pools {', '.join(v.pool for v in found)}: give it as POOL/{name}")
        return found[0]

    def _named(self, name: str, group: str) -> Volume:
        """A volume by name, or by POOL/NAME when two pools hold the same name."""
        pool, slash, bare = name.rpartition("/")
        if not slash:
            return self.find(name, group)
        found = [v for v in self.list(group) if v.name == bare and v.pool == pool]
        if not found:
            raise StorageError(f"pool {pool} has no guest volume {bare}: `xenbox storage volumes` lists them")
        return found[0]

    def grow(self, name: str, size_mib: int) -> Volume:
        """To `size_mib`; never smaller (that would cut off the end of the guest's disk)."""
        group = self.group()
        volume = self._named(name, group)
        if volume.pool == "local":
            self._lvm.resize_lv(group, volume.name, size_mib * MIB)
        else:
            images, image = self._image(volume)
            images.grow(image, size_mib * MIB)
        return self._named(f"{volume.pool}/{volume.name}", group)

    def _image(self, volume: Volume) -> tuple[ImageFiles, ImageFile]:
        images = dict(self._image_pools())[volume.pool]
        return images, next(image for image in images.list() if image.name == volume.name)

    def delete(self, name: str, typed: str | None) -> None:
        """Only a left-behind volume no guest has open, and only with its name typed again."""
        group = self.group()
        volume = self._named(name, group)
        if volume.owner:
            raise StorageError(f"{volume.name} is the disk of appliance {volume.owner}: it is kept while the appliance "
                               f"exists (deleting it would only have a blank one made at its next start); "
                               f"remove the appliance's bundle first")
        if volume.in_use:
            raise StorageError(f"{volume.name} is in use by a running guest: shut the guest down first")
        if typed not in (name, volume.name):
            raise StorageError(f"deleting {volume.name} destroys what is on it: give its name again to confirm")
        if volume.pool == "local":
            self._lvm.remove_lv(group, volume.name)
        else:
            images, image = self._image(volume)
            images.delete(image)


def _volume(lv: LogicalVolume, appliances: list[str]) -> Volume:
    return Volume(lv.name, lv.size, lv.in_use, owner_of(lv.name, appliances))


def _image_volume(image: ImageFile, appliances: list[str], pool: str) -> Volume:
    return Volume(image.name, image.size, image.in_use, owner_of(image.volume, appliances), pool=pool)
