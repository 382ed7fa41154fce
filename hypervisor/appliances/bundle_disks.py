"""A bundle's disk images made guest volumes when it is added, as importing an image makes them.

A disk whose `file` names an image inside the bundle (not a CD-ROM, not a path on a pool) becomes a
volume sized for it on the pool the operator picks: an LVM volume on the data store (`local`, the
default) or a raw image on the `files` pool or one added by name. It never goes into the appliance's
folder, which is on the data store's small settings filesystem (a quarter of its volume group). The
manifest installed says `pool`, `size_mib` and `target` for it, the way an imported disk is said, so the
appliance's first start finds the volume `<appliance>.<target>` and uses it.

While the bundle is copied the volume has a name of its own, `<appliance>.<target>.adding-<token>` (the
token is the work folder's, staging.py): an appliance of that name, being replaced, keeps its volume
`<appliance>.<target>` until the new copy is in place, and a volume left by a cut is no appliance's
(storage/volumes.py: its owner would be `<appliance>.<target>`). Once the new copy has taken the
appliance's name (one rename), `finish` moves the old volume aside (`...replaced-<token>`), gives the new
one the name and removes the old one. Every step of `finish` can be taken again, so the boot's sweep of
work folders completes one a cut interrupted, and removes the volumes of a copy that never took its name.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from hypervisor.storage import StorageError

Say = Callable[[str], None]
MIB = 1024 * 1024
ADDING = "adding-"
REPLACED = "replaced-"


class PoolTarget(Protocol):
    """A pool guest volumes go on, for an added bundle's images and an import's disks: their room, their
    names, and making and removing them (importing.py's LocalTarget and FileTarget)."""
    name: str

    def free(self) -> int: ...
    def taken(self, appliance: str, target: str) -> str | None: ...
    def make(self, appliance: str, target: str, size_mib: int, say: Say) -> tuple[Path, bool]: ...
    def remove(self, path: Path) -> None: ...
    def rename(self, path: Path, appliance: str, target: str) -> Path: ...
    def forget(self, appliance: str, target: str) -> None: ...       # what a cut left of one being made


Targets = Callable[[str], PoolTarget]       # a pool's name -> its target (importing.pool_target)


@dataclass(frozen=True)
class ImageDisk:
    """A disk of the bundle's manifest that is an image file in the bundle."""
    index: int              # its place in the manifest's [[disks]]
    target: str             # xvda, ...
    file: Path              # the image in the bundle
    format: str             # raw | qcow2
    size_mib: int           # the volume it becomes
    allocated: int          # bytes the file takes where it is (a sparse image: what it holds)


def image_disks(disks, tables: list, size_of: Callable[[Path, str], int]) -> list[ImageDisk]:
    """The manifest's disks (Manifest.disks, with the [[disks]] tables they were read from) that name an
    image in the bundle by a relative path; `size_of(file, format)` is the disk's size in bytes."""
    found = []
    for index, (disk, table) in enumerate(zip(disks, tables)):
        name = table.get("file") if isinstance(table, dict) else None
        if disk.cdrom or disk.file is None or not isinstance(name, str) or name.startswith("/"):
            continue
        info = disk.file.stat()
        size = size_of(disk.file, disk.format)
        found.append(ImageDisk(index, disk.target, disk.file, disk.format, max(1, math.ceil(size / MIB)),
                               min(info.st_size, info.st_blocks * 512)))
    return found


def on_volumes(document: dict, disks: list[ImageDisk], pool: str) -> dict:
    """The manifest with each image disk said as a volume on `pool`, as an imported disk is."""
    document = copy.deepcopy(document)
    for disk in disks:
        table = document["disks"][disk.index]
        table.pop("file", None)
        table.pop("format", None)           # a volume is raw; a qcow2 image is converted onto it
        table.update(pool=pool, size_mib=disk.size_mib, target=disk.target)
    return document


def adding_name(target: str, token: str) -> str:
    """The target part of a volume's name while its copy is made."""
    return f"{target}.{ADDING}{token}"


def finish(pools: Targets, name: str, volumes: list[dict], token: str, say: Say) -> list[str]:
    """The new copy of appliance `name` is in place: each of its volumes takes the name
    `<name>.<target>`, the old appliance's volume of that name moved aside and removed. Returns the
    names now in place. Taken again after a cut, it goes on from where it was."""
    done = []
    for volume in volumes:
        target, disk = pools(volume["pool"]), volume["target"]
        target.free()           # refuses a pool not there now (a share not mounted reads as an empty folder)
        temporary = target.taken(name, adding_name(disk, token))
        if temporary is not None:
            old = target.taken(name, disk)
            if old is not None:
                target.rename(Path(old), name, f"{disk}.{REPLACED}{token}")
            target.rename(Path(temporary), name, disk)
        aside = target.taken(name, f"{disk}.{REPLACED}{token}")
        if aside is not None:
            try:
                target.remove(Path(aside))
            except (OSError, StorageError) as error:
                say(f"warning: the replaced appliance's volume {aside} could not be removed ({error}): it is left "
                    "behind; delete it once no guest uses it (`xenbox storage delete`)")
        done.append(target.taken(name, disk) or f"{name}.{disk}")
    return done


def discard(pools: Targets, name: str, volumes: list[dict], token: str, say: Say) -> list[str]:
    """The new copy never took its name: the volumes made for it are removed. Returns those removed."""
    removed = []
    for volume in volumes:
        target = pools(volume["pool"])
        target.free()
        made = target.taken(name, adding_name(volume["target"], token))
        if made is not None:
            target.remove(Path(made))
            removed.append(made)
        target.forget(name, adding_name(volume["target"], token))
    return removed
