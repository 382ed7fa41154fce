"""`xenbox appliance import`: an xl.cfg (from /etc/xen, or a stick with its images) made into a bundle.

Each host path the xl.cfg names (kernel, ramdisk, disks) is placed where the guest path gate
(guest_paths.py) lets a guest have it:
- an image on a pool, or a volume of the data store, stays where it is;
- a file in the xl.cfg's own folder (or below it) is copied into the new bundle and named there;
- a host disk, or one of its partitions, becomes `device = "<stable id>"` (and `partition`), so
  that its rules apply at each start.
Anything else refuses the import, every such path with its reason and the fix, and nothing is written.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Callable

from hypervisor.appliances import guest_paths
from hypervisor.appliances.install import copy_file
from hypervisor.appliances.manifest import MANIFEST_NAME, NAME
from hypervisor.appliances.xlcfg import ImportedAppliance
from hypervisor.storage.disks import Disk

Say = Callable[[str], None]
HostDisks = Callable[[], list[Disk]]


class ImportRefused(Exception):
    """Nothing was imported; the message names each path that cannot be given and the fix."""


def host_disks() -> list[Disk]:
    from hypervisor.storage.disks import Disks
    return Disks(given=dict).list()


def import_bundle(imported: ImportedAppliance, into: Path, say: Say = lambda line: None,
                  disks: HostDisks = host_disks) -> Path:
    """Write the bundle `into`/<name>; returns its folder."""
    name = imported.doc.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ImportRefused(f"name = {name!r} is not a usable appliance name: use 1-64 letters, digits, '_', '.' "
                            "or '-', starting with a letter or digit (edit the xl.cfg's name)")
    folder = into / name
    if folder.exists() or folder.is_symlink():      # a link left there could lead anywhere
        raise ImportRefused(f"{folder} already exists: remove it or import under another folder with --into")
    placer = _Placer(imported.source, disks)
    doc = placer.place(copy.deepcopy(imported.doc))
    if placer.problems:
        count = len(placer.problems)
        raise ImportRefused(f"{imported.source} names {count} path{'s' * (count > 1)} no guest may be given:\n"
                            + "\n".join(f"  {problem}" for problem in placer.problems))
    staging = into / f".importing-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        for source, inside in placer.copies.items():
            say(f"copying {source} into the bundle as {inside}")
            copy_file(source, staging / inside, say)
        (staging / MANIFEST_NAME).write_text(ImportedAppliance(doc, imported.warnings, imported.source).toml_text)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


class _Placer:
    def __init__(self, cfg: Path, disks: HostDisks) -> None:
        self.beside = Path(os.path.realpath(cfg.parent))
        self.cfg = cfg
        self._disks = disks
        self.copies: dict[Path, str] = {}       # a file beside the xl.cfg -> its name in the bundle
        self.problems: list[str] = []

    def place(self, doc: dict) -> dict:
        boot = doc.get("boot", {})
        for key in ("kernel", "ramdisk"):
            if isinstance(boot.get(key), str):
                boot[key] = self._file(f"boot.{key}", boot[key])
        for index, disk in enumerate(doc.get("disks", [])):
            if isinstance(disk.get("file"), str):
                disk.update(self._disk(f"disks[{index}].file", disk))
        return doc

    def _disk(self, field: str, disk: dict) -> dict:
        path = disk["file"]
        found = _stat(path)
        if found is None or not stat.S_ISBLK(found.st_mode) or guest_paths.refusal(path) is None:
            return {"file": self._file(field, path)}
        given = self._host_disk(Path(os.path.realpath(path)))
        if given is None:       # a volume, or a disk lsblk knows no stable id of
            self.problems.append(f"{field} = {path!r} {guest_paths.refusal(path)}")
            return {}
        if disk.get("format", "raw") != "raw" or disk.get("cdrom"):
            self.problems.append(f"{field} = {path!r} is a host disk, given as it is: raw, and not as a CD-ROM")
            return {}
        disk.pop("file")
        disk.pop("format", None)
        return given

    def _file(self, field: str, path: str) -> str:
        """The path itself where the gate lets it stay; else the name of its copy in the bundle."""
        refused = guest_paths.refusal(path)
        if refused is None:
            return path
        real, found = Path(os.path.realpath(path)), _stat(path)
        if found and stat.S_ISREG(found.st_mode) and real.is_relative_to(self.beside) and self.beside != Path("/"):
            return self.copies.setdefault(real, self._free_name(real.name))
        if found is None and refused != guest_paths.DATA_VOLUME:
            refused = (f"is not on this host: copy the file beside {self.cfg.name} (import copies those into the "
                       "bundle), or the image onto a pool, and import again")
        elif refused.startswith(guest_paths.OUTSIDE):
            leads = f" (it leads to {real})" if str(real) != os.path.normpath(path) else ""
            refused = (f"is not beside {self.cfg.name}{leads}, on no pool and no volume of the data store: copy it "
                       "beside the xl.cfg (import copies those into the bundle), or the image onto a pool, and "
                       "import again")
        self.problems.append(f"{field} = {path!r} {refused}")
        return path

    def _free_name(self, name: str) -> str:
        taken = set(self.copies.values()) | {MANIFEST_NAME}
        return next(candidate for candidate in (name, *(f"{n}-{name}" for n in range(2, 1000)))
                    if candidate not in taken)

    def _host_disk(self, path: Path) -> dict | None:
        """device = (and partition =) for the host disk or partition at `path`."""
        for disk in self._disks():
            if disk.stable_id and disk.path == str(path):
                return {"device": disk.stable_id}
            for part in disk.partitions:
                number = re.search(r"([0-9]+)$", part.name)
                if disk.stable_id and part.path == str(path) and number and disk.partition(int(number[1])) == part:
                    return {"device": disk.stable_id, "partition": int(number[1])}
        return None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None
