"""Where a build keeps its files: the work tree under images/, discovered as the build goes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware.board import REPO, Board


@dataclass
class Context:
    board: Board
    images: Path
    version: str

    @property
    def work(self) -> Path:
        return self.images / "build" / self.board.name

    @property
    def cache(self) -> Path:
        return self.images / "cache"

    @property
    def rootfs(self) -> Path:
        return self.work / "rootfs"

    @property
    def iso_tree(self) -> Path:
        """What goes onto the ISO: /boot (xen, kernel, initrd, grub.cfg) and /live."""
        return self.work / "iso"

    @property
    def iso(self) -> Path:
        return self.images / ("xenbox.iso" if self.board.name == "pc" else f"xenbox-{self.board.name}.iso")

    @property
    def build_id_arg(self) -> str:
        return f"xenbox.label={self.board.label} xenbox.build={self.version}"


def source_dir(name: str) -> Path:
    return REPO / name
