"""`xenbox appliance import`: an xl.cfg (from /etc/xen, or a stick with its images) made into a bundle;
disk images and OVF/OVA packages made into HVM appliances with their disks on a pool (below).

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
import dataclasses
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.appliances import disk_images, guest_paths
from hypervisor.appliances.bundle_disks import PoolTarget
from hypervisor.appliances.disk_images import NewGuest
from hypervisor.appliances.install import copy_file, install_bundle
from hypervisor.appliances.manifest import MANIFEST_NAME, NAME, load_bundle, xvd_name
from hypervisor.appliances.xlcfg import ImportedAppliance, manifest_from_xl_cfg
from hypervisor.settings.atomic import sync_directory
from hypervisor.settings.names import NAME_VALID
from hypervisor.settings.problems import FileProblems
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import DataStore
from hypervisor.storage.disks import Disk
from hypervisor.storage.lvm import Lvm
from hypervisor.storage.pools import MIB, FilePool, LocalPool, open_pool, volume_name

Say = Callable[[str], None]
HostDisks = Callable[[], list[Disk]]


class ImportRefused(Exception):
    """Nothing was imported; the message names each path that cannot be given and the fix."""


def host_disks() -> list[Disk]:
    from hypervisor.storage.disks import Disks
    return Disks(given=dict).list()


def kind_of(path: Path | str) -> str:
    """What a file to import is, by its name: "package" (.ova, .ovf), "image" (a disk image's suffix), or
    "xl.cfg" (anything else): the CLI's `import FILE` and the console's add go by the same rule."""
    suffix = Path(path).suffix.lower()
    return "package" if suffix in PACKAGE_SUFFIXES else "image" if suffix in IMAGE_SUFFIXES else "xl.cfg"


def read_xl_cfg(cfg: Path) -> ImportedAppliance:
    """The xl.cfg at `cfg` read as an appliance; ImportRefused names the line to fix (or FileProblems)."""
    try:
        data = cfg.read_bytes()
    except OSError as error:
        raise ImportRefused(f"cannot read {cfg}: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ImportRefused(f"{cfg}, line {line}: {data[error.start:error.end]!r} is not UTF-8 text: save the file "
                            f"as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), then import it again") from None
    imported = manifest_from_xl_cfg(text, cfg)
    name = imported.doc.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):      # said here with its line; the folder's name
        line = _line_of(text, "name")
        where = f"line {line}" if line else "its file name (it has no name =)"
        raise ImportRefused(f"{cfg}, {where}: {name!r} cannot name an appliance: a name is 1-64 letters, digits, "
                            f"'_', '.' or '-', starting with a letter or digit; set name = \"my-guest\" in {cfg}, "
                            "then import it again")
    return imported


def _line_of(text: str, key: str) -> int | None:
    """The line of the last `key = ...` (xl's last setting wins), for a message pointing at it."""
    found = [number for number, line in enumerate(text.splitlines(), start=1)
             if re.match(rf"\s*{key}\s*\+?=", line)]
    return found[-1] if found else None


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


# ---- Disk images and OVF/OVA packages: `xenbox appliance import disk.qcow2 | guest.ova | guest.ovf` ----
#
# Each disk becomes a guest volume sized for it, on the pool the operator picks: an LVM volume on the
# data store (pool "local", `<appliance>.<target>`, which the appliance's first start then finds and
# reuses) or an image file on the "files" pool or one added by name. Never a file in the appliance's
# folder: that is on the data store's small settings filesystem. Every image is checked, the manifest
# read back through the strict checks and the room counted before the first volume is made; a
# conversion that fails removes the volumes made for it; the appliance is installed like a bundle
# (install.py: one rename).

IMAGE_SUFFIXES = tuple(disk_images.SUFFIXES)
PACKAGE_SUFFIXES = (".ova", ".ovf")
IMPORT_TYPES = ("hvm", "pv")        # pv: the image's own GRUB menu read by pygrub


@dataclass(frozen=True)
class ImportedDisk:
    target: str
    pool: str
    size_mib: int
    path: str
    source: str


@dataclass(frozen=True)
class ImportedGuest:
    name: str
    folder: Path
    type: str
    memory_mib: int
    vcpus: int
    firmware: str
    disks: tuple[ImportedDisk, ...]
    warnings: tuple[str, ...]


class LocalTarget:
    """Volumes on the data store's volume group (raw; never known to read as zeros)."""
    name = "local"

    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._run = run
        self._lvm = Lvm(run)
        self._group: str | None = None

    def _vg(self):
        status = DataStore(self._run).status()
        if status.problem:
            raise ImportRefused(f"the data store cannot take its disks now ({status.problem})")
        if status.group is None:
            raise ImportRefused("this host has no data store for its disks: set one up on the Storage screen (key t), "
                                "or give another pool with --pool NAME (files, or one added by name)")
        self._group = status.group.name
        return status.group

    def free(self) -> int:
        return self._vg().free

    def taken(self, appliance: str, target: str) -> str | None:
        group = self._group or self._vg().name
        name = volume_name(appliance, target)
        return f"/dev/{group}/{name}" if any(lv.name == name for lv in self._lvm.lvs(group)) else None

    def make(self, appliance: str, target: str, size_mib: int, say: Say) -> tuple[Path, bool]:
        return LocalPool(self._run).volume(appliance, target, size_mib, say=say), False

    def remove(self, path: Path) -> None:
        self._lvm.remove_lv(path.parent.name, path.name)

    def rename(self, path: Path, appliance: str, target: str) -> Path:
        name = volume_name(appliance, target)
        self._lvm.rename_lv(path.parent.name, path.name, name)
        return path.with_name(name)

    def forget(self, appliance: str, target: str) -> None:
        """A volume is made in one step (lvcreate): none is ever half made."""


class FileTarget:
    """Sparse raw image files in a pool's folder: the data store's "files" pool, or one added by name."""

    def __init__(self, name: str, pool: FilePool) -> None:
        self.name = name
        self._pool = pool

    def free(self) -> int:
        problem = self._pool._problem()
        if problem:
            raise ImportRefused(f"pool {self.name} cannot take its disks now: {problem}")
        self._pool.folder.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self._pool.folder).free

    def taken(self, appliance: str, target: str) -> str | None:
        path = self._pool.folder / f"{volume_name(appliance, target)}.raw"
        return str(path) if path.exists() or path.is_symlink() else None

    def make(self, appliance: str, target: str, size_mib: int, say: Say) -> tuple[Path, bool]:
        return self._pool.volume(appliance, target, size_mib, "raw", say), True

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def rename(self, path: Path, appliance: str, target: str) -> Path:
        new = path.with_name(f"{volume_name(appliance, target)}.raw")
        os.rename(path, new)
        sync_directory(new.parent)
        return new

    def forget(self, appliance: str, target: str) -> None:
        """The half-made image a cut in FilePool.volume leaves."""
        (self._pool.folder / f".{volume_name(appliance, target)}.raw.partial").unlink(missing_ok=True)


def pool_target(name: str, run: runner.Runner = runner.run) -> PoolTarget:
    if name == "local":
        return LocalTarget(run)
    try:
        pool = open_pool(name, run)
    except StorageError as error:
        raise ImportRefused(str(error)) from None      # it names the pool, for the CLI and the console alike
    return FileTarget(name, pool)


def guest_from_image(path: Path, name: str | None = None) -> NewGuest:
    """A bare disk image: one disk, one network card, BIOS."""
    path = Path(os.path.abspath(path))
    stem = path.name.removesuffix(path.suffix)
    return NewGuest(name or disk_images.guest_name(stem),
                    (disk_images.Source(path.name, path, package=path.parent),), origin=str(path))


def manifest_document(guest: NewGuest, kind: str, pool: str, disks: list[tuple[str, int]]) -> dict:
    """The appliance.toml of an imported guest: its disks as volumes on `pool` (target, size_mib)."""
    doc: dict = {"name": guest.name, "description": f"imported from {guest.origin or guest.disks[0].name}",
                 "type": kind, "memory": {"initial_mib": guest.memory_mib}, "vcpus": {"initial": guest.vcpus}}
    doc["boot"] = {"order": ["disk"]} if kind == "hvm" else {"bootloader": "pygrub"}
    doc["disks"] = [{"pool": pool, "size_mib": size, "target": target} for target, size in disks]
    doc["network"] = [{"bridge": "xenbr0"} for _ in range(guest.nics)]
    return doc


def import_guest(guest: NewGuest, into: Path, target: PoolTarget, say: Say = lambda line: None,
                 kind: str = "hvm", images: disk_images.DiskImages | None = None) -> ImportedGuest:
    """Check everything, then make the volumes, convert onto them and install the appliance."""
    images = images or disk_images.DiskImages()
    if kind not in IMPORT_TYPES:
        raise ImportRefused(f"--type {kind}: an imported disk boots as {' or '.join(IMPORT_TYPES)}")
    if not NAME.fullmatch(guest.name):
        raise ImportRefused(f"{guest.name!r} cannot name an appliance: use {NAME_VALID} (--name)")
    if (into / guest.name).exists() or (into / guest.name).is_symlink():
        raise ImportRefused(f"appliance {guest.name} is already installed in {into / guest.name}: import under "
                            "another --name, or remove that one first")
    if not guest.disks:
        raise ImportRefused("it has no disk to import: an appliance imported from a package boots from its disks")
    checked = []
    for source in guest.disks:
        say(f"checking {source.name}")
        checked.append(images.probe(source))
    targets = [xvd_name(index) for index in range(len(checked))]
    for number, image in zip(targets, checked):
        say(f"{image.source.name}: {disk_images.SHOWN[image.format]}, {human_size(image.virtual_size)}")
    doc = manifest_document(guest, kind, target.name, [(t, image.size_mib) for t, image in zip(targets, checked)])
    with tempfile.TemporaryDirectory(prefix=f"xenbox-import-{guest.name}-") as staging:
        bundle = Path(staging) / guest.name
        bundle.mkdir()
        (bundle / MANIFEST_NAME).write_text(dumps(doc))
        try:
            load_bundle(bundle)
        except FileProblems as error:
            raise ImportRefused(str(error)) from None
        needed = sum(image.size_mib for image in checked) * MIB
        free = target.free()
        if needed > free:
            raise ImportRefused(f"its disks need {human_size(needed)} and pool {target.name} has {human_size(free)} "
                                "free: free some space there, or import onto another pool with --pool NAME")
        for number in targets:
            if (found := target.taken(guest.name, number)) is not None:
                raise ImportRefused(f"{found} already exists (a volume of an earlier appliance {guest.name}?): "
                                    f"delete it (`xenbox storage delete`), or import under another --name")
        made: list[Path] = []
        disks = []
        try:
            for number, image in zip(targets, checked):
                path, fresh = target.make(guest.name, number, image.size_mib, say)
                made.append(path)
                images.convert(image, path, "raw", fresh, say)
                disks.append(ImportedDisk(number, target.name, image.size_mib, str(path), image.source.name))
            folder = install_bundle(bundle, into, say)
        except BaseException:
            for path in made:
                say(f"removing {path}, made for this import")
                try:
                    target.remove(path)
                except (OSError, StorageError) as error:
                    say(f"warning: {path} could not be removed ({error}): delete it by hand")
            raise
    warnings = list(guest.warnings)
    if guest.firmware == "uefi":
        warnings.append("it asks for UEFI firmware; XenBox appliances boot with BIOS (SeaBIOS) until appliance.toml "
                        "can say otherwise, so it may not boot")
    return ImportedGuest(guest.name, folder, kind, guest.memory_mib, guest.vcpus, guest.firmware, tuple(disks),
                         tuple(warnings))


@dataclass(frozen=True)
class Answers:
    """What the operator may say about an image or a package (the CLI's options, the console's questions);
    None keeps what the file says (a bare image: its file's name, 512 MiB, 1 vCPU)."""
    name: str | None = None
    pool: str = "local"
    memory_mib: int | None = None
    vcpus: int | None = None
    kind: str = "hvm"


def import_file(source: Path, into: Path, answers: Answers = Answers(), say: Say = lambda line: None,
                images: disk_images.DiskImages | None = None) -> ImportedGuest:
    """A disk image or an OVF/OVA package at `source` imported with `answers`: `xenbox appliance import`
    and the console's add both come here."""
    from hypervisor.appliances.ovf import read_package
    for value, what in ((answers.memory_mib, "--memory"), (answers.vcpus, "--vcpus")):
        if value is not None and value < 1:
            raise ImportRefused(f"{what} {value}: give a whole number above 0")
    guest = read_package(source, say) if kind_of(source) == "package" else guest_from_image(source)
    guest = dataclasses.replace(guest, name=answers.name or guest.name, memory_mib=answers.memory_mib or
                                guest.memory_mib, vcpus=answers.vcpus or guest.vcpus)
    return import_guest(guest, into, pool_target(answers.pool), say, kind=answers.kind, images=images)
