"""Bundles on a stick or disk someone brought: what is there, and the one they named; and the files
there that `xenbox appliance import` takes (found_on lists both, by kind).

Only the top of the device and the folders right under it are looked at: a stick may hold much else,
and a bundle folder is not looked inside (its own files are no bundles).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypervisor.appliances.manifest import MANIFEST_NAME
from hypervisor.storage.media import MediaError

ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
# What each kind is called where it is listed, in the order listed.
KINDS = {"bundle": "Bundles", "package": "OVA and OVF packages", "image": "Disk images", "xl.cfg": "xl.cfg files"}


@dataclass(frozen=True)
class Found:
    """A bundle or a file to import, at `path` relative to the device or folder it is on."""
    kind: str       # a key of KINDS
    path: str


def found_on(root: Path) -> list[Found]:
    """Bundles, and files to import (by name: .ova/.ovf, a disk image's suffix, .cfg), at the top of `root`
    or one folder down, listed by kind."""
    found = [Found("bundle", name) for name in bundles_on(root)]
    if found == [Found("bundle", "./")]:
        return found
    for entry in _listing(root, root):
        if entry.is_dir() and not entry.is_symlink() and not (entry / MANIFEST_NAME).is_file():
            found += [Found(kind, _shown(inner, root)) for inner in _listing(entry, root)
                      if (kind := import_kind(inner))]
        elif kind := import_kind(entry):
            found.append(Found(kind, _shown(entry, root)))
    order = list(KINDS)
    return sorted(found, key=lambda item: (order.index(item.kind), item.path))


def import_kind(path: Path) -> str | None:
    """What `xenbox appliance import` would make of the file at `path`; None for anything else."""
    from hypervisor.appliances.importing import kind_of
    if not path.is_file():
        return None
    kind = kind_of(path)        # the CLI's rule; of what it would read as an xl.cfg, only a .cfg is listed
    return kind if kind != "xl.cfg" or path.suffix.lower() == ".cfg" else None


def bundles_on(root: Path) -> list[str]:
    """Bundles at the top of `root` or one folder down, as paths relative to it: folders (ending in
    '/') holding appliance.toml, and tar archives."""
    if (root / MANIFEST_NAME).is_file():
        return ["./"]                   # the device is one bundle itself
    found = []
    for entry in _listing(root, root):
        if _is_bundle(entry):
            found.append(_shown(entry, root))
        elif entry.is_dir() and not entry.is_symlink():
            found += [_shown(inner, root) for inner in _listing(entry, root) if _is_bundle(inner)]
    return sorted(found)


def bundle_on(root: Path, name: str) -> Path:
    """The bundle `name` (as `bundles_on` lists it, or any path on the device) under `root`; MediaError
    when it is not there or leads off the device (a link to the host's own files)."""
    path = (root / name.strip().lstrip("/")).resolve()
    if not path.is_relative_to(root.resolve()):
        raise MediaError(f"{name} leads off the device: give a bundle on it")
    if not _is_bundle(path):
        listed = bundles_on(root)
        raise MediaError(f"{name} is no bundle on the device (a folder holding {MANIFEST_NAME} or a .tar of one)"
                         + (f"; it holds {', '.join(listed)}" if listed else ""))
    return path


def _is_bundle(path: Path) -> bool:
    return (path / MANIFEST_NAME).is_file() if path.is_dir() else path.is_file() and path.name.endswith(ARCHIVES)


def _shown(path: Path, root: Path) -> str:
    relative = str(path.relative_to(root))
    return relative + "/" if path.is_dir() else relative


def _listing(folder: Path, root: Path) -> list[Path]:
    """What is in `folder`, hidden files (a stick's .Trashes) and links off the device at `root` left out."""
    try:
        entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".")]
    except OSError:
        return []
    return [entry for entry in entries if not entry.is_symlink() or entry.resolve().is_relative_to(root.resolve())]
