"""Disk image files through `qemu-img`: what an image is, and creating one."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError, explain

FORMATS = ("qcow2", "raw")


@dataclass(frozen=True)
class ImageInfo:
    path: str
    format: str
    virtual_size: int              # what the guest sees
    actual_size: int               # what it takes on the host's disk now
    backing_file: str | None = None
    dirty: bool = False


def parse_info(text: str) -> ImageInfo:
    """`qemu-img info --output=json PATH`."""
    try:
        info = json.loads(text)
        return ImageInfo(info["filename"], info["format"], int(info["virtual-size"]), int(info.get("actual-size", 0)),
                         info.get("full-backing-filename") or info.get("backing-filename"), bool(info.get("dirty-flag")))
    except (ValueError, KeyError, TypeError) as error:
        raise ParseError(f"unexpected `qemu-img info --output=json` output: {text[:200]!r}") from error


class Images:
    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._run = run

    def info(self, path: str) -> ImageInfo:
        try:
            # -U: a running guest's QEMU holds the image locked; reading its header is still safe.
            return parse_info(self._run(["qemu-img", "info", "-U", "--output=json", path], timeout=30))
        except runner.CommandError as error:
            raise StorageError(explain(error, [
                ("No such file", f"{path} does not exist: check the path")])) from error

    def create(self, path: str, size: int, format: str = "qcow2") -> None:
        """A new, empty image; never overwrites one."""
        if format not in FORMATS:
            raise StorageError(f"{format} is not an image format XenBox creates: choose {' or '.join(FORMATS)}")
        if size <= 0:
            raise StorageError(f"{path} needs a size above zero")
        if Path(path).exists():
            raise StorageError(f"{path} already exists: choose another name, or remove the old image first")
        try:
            self._run(["qemu-img", "create", "-q", "-f", format, path, str(size)], timeout=120)
        except runner.CommandError as error:
            raise StorageError(explain(error, [
                ("No such file", f"the folder {Path(path).parent} does not exist: create it, or choose another place"),
                ("No space left", f"{Path(path).parent} has no room for {path}: free some space or choose another place")
            ])) from error

    def resize(self, path: str, size: int) -> None:
        """To `size` bytes; growing only (qemu-img refuses to shrink without --shrink, which is never given)."""
        try:
            self._run(["qemu-img", "resize", "-q", path, str(size)], timeout=120)
        except runner.CommandError as error:
            raise StorageError(explain(error, [
                ("lock", f"{path} is in use by a running guest: shut the guest down, then grow it"),
                ("No space left", f"{Path(path).parent} has no room to grow {path}: free some space first")
            ])) from error
