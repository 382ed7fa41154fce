"""Board settings: board/common/board.toml with a board's own file laid over it."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOARDS = REPO / "board"


@dataclass(frozen=True)
class Board:
    name: str
    suite: str
    label: str
    packages: tuple[str, ...]
    components: tuple[str, ...]
    modules_exclude: tuple[str, ...]
    prune: tuple[str, ...]
    xen_cmdline: str
    xen_headless_cmdline: str
    xen_efi_extra: str
    xen_ucode: str
    dom0_cmdline: str
    dom0_headless_cmdline: str
    dom0_safe_extra: str
    overlays: tuple[Path, ...]


def merge(base: dict, over: dict) -> dict:
    """Tables merge key by key, lists are appended, anything else is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


def load_board(name: str) -> Board:
    own = BOARDS / name / "board.toml"
    if not own.is_file():
        known = sorted(p.parent.name for p in BOARDS.glob("*/board.toml") if p.parent.name != "common")
        raise ValueError(f"no board named {name!r}: expected {own} (boards: {', '.join(known)})")
    settings = merge(_read(BOARDS / "common" / "board.toml"), _read(own))
    image, xen, dom0 = settings["image"], settings["xen"], settings["dom0"]
    overlays = tuple(
        d for d in (BOARDS / "common" / "rootfs_overlay", BOARDS / name / "rootfs_overlay") if d.is_dir()
    )
    return Board(
        name=name,
        suite=image["suite"],
        label=image["label"],
        packages=tuple(image["packages"]),
        components=tuple(image.get("components", ["main"])),
        modules_exclude=tuple(image["modules_exclude"]),
        prune=tuple(image["prune"]),
        xen_cmdline=xen["cmdline"],
        xen_headless_cmdline=xen["headless_cmdline"],
        xen_efi_extra=xen["efi_extra"],
        xen_ucode=xen.get("ucode", ""),
        dom0_cmdline=dom0["cmdline"],
        dom0_headless_cmdline=dom0["headless_cmdline"],
        dom0_safe_extra=dom0["safe_extra"],
        overlays=overlays,
    )


def _read(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)
