"""Which appliances this host has: every bundle folder under the appliance folders, read or refused.

An operator's folder (writable; on the data store once there is one) comes before the
built-in one on the boot image, so a copy with the same name overrides the sample.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypervisor.appliances.manifest import MANIFEST_NAME, HostLimits, Manifest, load_bundle
from hypervisor.settings.problems import FileProblems

APPLIANCE_DIRS = (Path("/var/lib/xenbox/appliances"), Path("/usr/share/xenbox/appliances"))


@dataclass(frozen=True)
class Entry:
    name: str                       # the manifest's name, or the folder's when the manifest is broken
    folder: Path
    manifest: Manifest | None
    problem: str | None = None      # why it cannot start, in the manifest's own words

    @property
    def autostart(self) -> bool:
        return bool(self.manifest and self.manifest.autostart.enabled)


def discover(dirs: tuple[Path, ...] = APPLIANCE_DIRS, host: HostLimits | None = None) -> list[Entry]:
    entries: dict[str, Entry] = {}
    for root in dirs:
        for folder in bundle_folders(root):
            entry = read_entry(folder, host)
            entries.setdefault(entry.name, entry)
    return sorted(entries.values(), key=lambda e: e.name)


def bundle_folders(root: Path) -> list[Path]:
    """The folders of `root` holding a manifest, except those whose name starts with a dot: those are
    the installer's work folders (a copy still being made, or an old copy being swapped out, maybe half
    there after a power cut; install.py). An appliance's own name only ever comes from a rename of a whole
    copy already on disk. (Path.glob's `*` matches dot-folders too, and they sort first.)"""
    try:
        folders = sorted(entry for entry in root.iterdir() if not entry.name.startswith("."))
    except OSError:
        return []       # a folder that does not exist (yet) holds no appliances
    return [folder for folder in folders if (folder / MANIFEST_NAME).is_file()]


def read_entry(folder: Path, host: HostLimits | None = None) -> Entry:
    try:
        manifest = load_bundle(folder, host=host)
    except FileProblems as error:
        return Entry(folder.name, folder, None, str(error))
    return Entry(manifest.name, folder, manifest)


def find(name: str, dirs: tuple[Path, ...] = APPLIANCE_DIRS, host: HostLimits | None = None) -> Entry | None:
    return next((e for e in discover(dirs, host) if e.name == name), None)
