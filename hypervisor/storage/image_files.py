"""The files pool's disk images (`images/<appliance>.<target>.<raw|qcow2>` on the data store) as
guest volumes: listing, growing and deleting them.

An image is in use while a running guest has it: a qcow2 one is held open by the QEMU that libxl
starts for it (qdisk), a raw one backs a loop device that blkback reads. Both show in /proc and
/sys, so no toolstack call is needed to tell.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hypervisor import runner
from hypervisor.settings.atomic import sync_directory
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.images import Images

FORMATS = ("raw", "qcow2")


@dataclass(frozen=True)
class ImageFile:
    name: str               # keeper.xvdc.qcow2
    path: Path
    format: str
    size: int               # what the guest sees
    in_use: bool

    @property
    def volume(self) -> str:
        """The name without its format: <appliance>.<target>, like an LVM guest volume's."""
        return self.name.rsplit(".", 1)[0]


def held_paths(proc: Path = Path("/proc"), sys_block: Path = Path("/sys/block")) -> set[str]:
    """Files some process holds open, or that back a loop device."""
    held = set()
    for backing in sys_block.glob("loop*/loop/backing_file"):
        try:
            held.add(backing.read_text().strip())
        except OSError:
            continue            # the loop device was detached meanwhile
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            links = list(fd_dir.iterdir())
        except OSError:
            continue            # the process exited, or is not ours to read
        for link in links:
            try:
                held.add(os.readlink(link))
            except OSError:
                continue
    return held


class ImageFiles:
    def __init__(self, folder: Path, run: runner.Runner = runner.run,
                 held=held_paths) -> None:
        self.folder = folder
        self._images = Images(run)
        self._held = held

    def list(self) -> list[ImageFile]:
        if not self.folder.is_dir():
            return []
        held = self._held()
        found = []
        for path in sorted(self.folder.iterdir()):
            disk_format = path.suffix.removeprefix(".")
            if disk_format not in FORMATS or path.name.startswith(".") or not path.is_file():
                continue        # .partial files are images being made
            found.append(ImageFile(path.name, path, disk_format, self._size(path, disk_format), str(path) in held))
        return found

    def _size(self, path: Path, disk_format: str) -> int:
        if disk_format == "raw":
            return path.stat().st_size
        return self._images.info(str(path)).virtual_size

    def grow(self, image: ImageFile, size: int) -> None:
        """To `size` bytes, never smaller; only while no guest has it (a running guest would not see it)."""
        if size < image.size:
            raise StorageError(f"{image.name} is {human_size(image.size)}; shrinking it to {human_size(size)} would "
                               "destroy the end of its data: copy the data to a new, smaller image instead")
        if image.in_use:
            raise StorageError(f"{image.name} is in use by a running guest: shut the guest down, then grow it")
        if size == image.size:
            return
        if image.format == "raw":
            with open(image.path, "r+b") as opened:
                opened.truncate(size)      # the new end is a hole: it costs nothing until written
                os.fsync(opened.fileno())
        else:
            self._images.resize(str(image.path), size)

    def delete(self, image: ImageFile) -> None:
        image.path.unlink()
        sync_directory(self.folder)
